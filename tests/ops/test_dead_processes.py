"""Prometheus multiprocess: a process that is gone stops counting in live gauges (its counters stay), found by
/metrics itself (tradingrobot/ops/dead_processes.py: no server hook tells of an exited worker)."""

import os
import subprocess
import sys
import textwrap
import time

import prometheus_client
from prometheus_client import multiprocess

from tradingrobot.ops.dead_processes import dead_processes_mark

WRITER = textwrap.dedent(
    """
    import sys, time
    from prometheus_client import Counter, Gauge
    Gauge("t_clients", "live", multiprocess_mode="livesum").set(3)
    Gauge("t_last", "kept", multiprocess_mode="max").set(7)
    Counter("t_done", "kept").inc(2)
    print("written", flush=True)
    if sys.argv[1] == "stay":
        time.sleep(60)
    """
)


def _writer(directory, mode: str) -> subprocess.Popen:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", WRITER, mode], env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "written"
    return process


def _values(directory) -> dict[str, float]:
    registry = prometheus_client.CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    return {s.name: s.value for m in registry.collect() for s in m.samples if s.name.startswith("t_")}


def test_a_dead_process_live_gauge_stops_counting_and_its_counters_stay(tmp_path):
    gone = _writer(tmp_path, "exit")
    gone.wait(30)
    alive = _writer(tmp_path, "stay")
    try:
        assert _values(tmp_path) == {"t_clients": 6.0, "t_last": 7.0, "t_done_total": 4.0}
        assert dead_processes_mark(str(tmp_path)) == [gone.pid]
        assert _values(tmp_path) == {"t_clients": 3.0, "t_last": 7.0, "t_done_total": 4.0}
        assert dead_processes_mark(str(tmp_path)) == []  # the live one keeps its files
        assert any(str(alive.pid) in name for name in os.listdir(tmp_path))
        alive.kill()  # not reaped yet: a zombie, gone all the same
        give_up, marked = time.monotonic() + 10, []
        while not marked and time.monotonic() < give_up:
            marked = dead_processes_mark(str(tmp_path))
            time.sleep(0.05)
        assert marked == [alive.pid]
        assert _values(tmp_path) == {"t_last": 7.0, "t_done_total": 4.0}
    finally:
        alive.kill()
        alive.wait(30)


def test_a_missing_folder_is_no_error(tmp_path):
    assert dead_processes_mark(str(tmp_path / "none")) == []
