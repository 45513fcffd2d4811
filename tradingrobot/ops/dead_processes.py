"""Live gauges of processes that are gone stop counting (Prometheus multiprocess mode, PROMETHEUS_MULTIPROC_DIR).

A process of the folder writes its own files (`<kind>_<pid>.db`). When one exits, the files of its live gauges
(`multiprocess_mode="live..."`) must go, or `/metrics` keeps adding its last value; its counters, histograms and
plain gauges stay, as they should. No server hook says a worker exited (Granian respawns its workers by itself),
so `/metrics` looks before it collects: every pid with live-gauge files whose process is gone has them removed,
through prometheus_client's own `mark_process_dead`. A pid reused by a newer process counts as alive until
that one is gone too.
"""

import contextlib
import os
import re

from prometheus_client import multiprocess

LIVE_GAUGE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    try:  # exited but not yet reaped by its parent: gone all the same
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def dead_processes_mark(directory: str) -> list[int]:
    """Remove the live-gauge files of every process that is gone; the pids whose files were removed."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    pids = {int(match.group(1)) for name in names if (match := LIVE_GAUGE_FILE.match(name))}
    dead = sorted(pid for pid in pids if not _alive(pid))
    for pid in dead:
        with contextlib.suppress(FileNotFoundError):  # another worker's /metrics removed them first
            multiprocess.mark_process_dead(pid, directory)
    return dead
