"""Gunicorn's production settings and hooks: `gunicorn -c python:tradingrobot.ops.gunicorn --workers 2 ...`.

Threaded workers with keep-alive: a sync worker closes the connection after every answer, so every request pays
a TCP setup (the client and the worker alike), and on this 2-core machine a sync worker's own cost per request
was more than FastAPI's whole answer (README "Benchmarks"). The keep-alive outlasts nginx's idle upstream
connections (60 s): the proxy closes an idle connection first, never a worker under a request on its way.
With PROMETHEUS_MULTIPROC_DIR, a worker that exits stops counting in live gauges (its counters stay, as they should).
"""

import os

worker_class = "gthread"
threads = 4
keepalive = 65


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
