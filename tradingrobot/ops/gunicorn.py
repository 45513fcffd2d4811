"""Gunicorn's production settings and hooks: `gunicorn -c python:tradingrobot.ops.gunicorn --workers 2 ...`.

Sync workers, one request at a time per process: the per-process memos (status, market data, performance) are
built for one thread. Threaded workers with keep-alive were measured beside them (`bench/api_load.py --threads 4
--keepalive 65`) and served GET /api/status at the same rate here (README "Benchmarks").
With PROMETHEUS_MULTIPROC_DIR, a worker that exits stops counting in live gauges (its counters stay, as they should).
"""

import os

worker_class = "sync"
threads = 1
keepalive = 2  # gunicorn's default; a sync worker closes the connection after each answer anyway


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
