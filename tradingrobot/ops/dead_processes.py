"""Live gauges of processes that are gone stop counting (Prometheus multiprocess mode, PROMETHEUS_MULTIPROC_DIR).

A process of the folder writes its own files (`<kind>_<pid>.db`). When one exits, the files of its live gauges
(`multiprocess_mode="live..."`) must go, or `/metrics` keeps adding its last value; its counters, histograms and
plain gauges stay, as they should. No server hook says a worker exited (Granian respawns its workers by itself),
so `/metrics` looks before it collects: every pid with live-gauge files whose process is gone has them removed,
which is what prometheus_client's `mark_process_dead` does. A pid reused by a newer process counts as alive until
that one is gone too.
"""

import contextlib
import os
import re

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
    files: dict[int, list[str]] = {}
    for name in names:
        if match := LIVE_GAUGE_FILE.match(name):
            files.setdefault(int(match.group(1)), []).append(name)
    dead = sorted(pid for pid in files if not _alive(pid))
    for pid in dead:
        for name in files[pid]:
            with contextlib.suppress(FileNotFoundError):  # another worker's /metrics removed it first
                os.remove(os.path.join(directory, name))
    return dead
