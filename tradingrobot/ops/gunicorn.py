"""Gunicorn hooks for Prometheus multiprocess mode: `gunicorn -c python:tradingrobot.ops.gunicorn ...`.
A worker that exits stops counting in live gauges (its counters stay, as they should)."""

import os


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
