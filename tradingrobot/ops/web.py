"""The HTTP API's production server: Granian (a Rust HTTP server) over the WSGI application, with the settings
every arrangement uses (deploy/staging.py, deploy/systemd, the benches, the end-to-end tests):

    python -m tradingrobot.ops.web --bind 127.0.0.1:8001 --workers 2

One Python thread per worker process: the per-process memos (status, market data, performance) are built for
one thread, and Granian's Rust side keeps the connections (HTTP/1.1 keep-alive) and queues their requests.
Gunicorn's sync workers were measured beside it (README "Benchmarks"): on this 2-core machine they serve a
fixed 1 KB WSGI answer at ~5,600 req/s against Granian's ~74,000, so the server alone cost more per request than
the original backend's whole FastAPI answer. A worker that dies is started again (respawn); SIGTERM stops
accepting, lets the requests in flight finish (up to --graceful-timeout seconds) and exits.
"""

import argparse
import logging
import os

from tradingrobot.ops.request_environ import shadowing_variables

logger = logging.getLogger(__name__)

WSGI_TARGET = "tradingrobot.wsgi:application"


def server(
    *, host: str, port: int, workers: int, graceful_timeout: int, access_log: bool = False, target: str = WSGI_TARGET
):
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    return Server(
        target,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=1,
        websockets=False,  # /ws/ is daphne's (nginx routes it there)
        respawn_failed_workers=True,
        respawn_interval=1.0,
        workers_kill_timeout=graceful_timeout,
        log_access=access_log,
        log_level=LogLevels(os.environ.get("WEB_LOG_LEVEL", "warning")),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (production: 2 per instance)")
    parser.add_argument("--graceful-timeout", type=int, default=20, help="seconds a stop waits for requests")
    parser.add_argument("--access-log", action="store_true", help="one line per request on stdout")
    parser.add_argument("--app", default=WSGI_TARGET, help="module:application (another app: benches only)")
    args = parser.parse_args(argv)
    host, _, port = args.bind.rpartition(":")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingrobot.settings")
    shadowing = shadowing_variables(os.environ)
    if shadowing:  # dropped from every request that does not send them (tradingrobot/ops/request_environ.py)
        logger.warning("process variables named like request keys, not read as the request's: %s", shadowing)
    server(
        host=host or "127.0.0.1",
        port=int(port),
        workers=args.workers,
        graceful_timeout=args.graceful_timeout,
        access_log=args.access_log,
        target=args.app,
    ).serve()


if __name__ == "__main__":
    main()
