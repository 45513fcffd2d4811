"""Where one POST /api/trade's time goes, in process (no HTTP server, no load generator).

    .venv/bin/python bench/trade_profile.py [--trades 400] [--profile 30]

Uses bench/api_load.py's database (created and seeded when missing), settings and key, and production's WSGI
application (tradingrobot/wsgi.py). Alternates buys and sells of 1 TSLA share, as the load bench does, and prints
per trade: this process's CPU time (waiting for PostgreSQL or Redis left out) and wall time (medians of 5 slices),
the CPU time of its PostgreSQL backend (read from /proc: a local server only), the SQL executes (round trips) and
the Redis commands sent; then the same for POST /bench/locked_trade (the ceiling
api_load.py compares the trade with). `--profile N`: cProfile's top N functions (cumulative) of the trades.
"""

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis.connection import Connection  # noqa: E402

from bench import api_load, middleware_cost  # noqa: E402 - after the path

SENT = {"redis": 0, "sql": 0}


class CountingConnection(Connection):
    """A Redis connection that counts what it sends (one count per packed command or pipeline)."""

    def send_packed_command(self, command, check_health=True):
        SENT["redis"] += 1
        return super().send_packed_command(command, check_health)


def environ(path: str, headers: list[str], body: bytes) -> dict:
    return middleware_cost.environ(headers, method="POST", path=path, body=body)


def post(application, path: str, headers: list[str]) -> None:
    body = b'{"quantity": 1}'

    def start_response(status, response_headers, exc_info=None):
        assert status[:3] in ("200", "201"), status

    chunks = application({**environ(path, headers, body), "wsgi.input": io.BytesIO(body)}, start_response)
    for _chunk in chunks:
        pass
    getattr(chunks, "close", lambda: None)()  # a list (the prepared reply) has none


def backend_cpu() -> float | None:
    """Seconds of CPU this process's PostgreSQL backend has used, or None when the server is not on this machine."""
    import psutil
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        times = psutil.Process(pid).cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return times.user + times.system


def measure(application, paths: list[str], headers: list[str], count: int) -> dict[str, float]:
    cpu, wall = [], []
    sent_before = dict(SENT)
    slice_size = max(1, count // 5)
    backend_before = backend_cpu()
    for _ in range(5):
        started_cpu, started = time.process_time(), time.perf_counter()
        for i in range(slice_size):
            post(application, paths[i % len(paths)], headers)
        cpu.append((time.process_time() - started_cpu) / slice_size * 1e3)
        wall.append((time.perf_counter() - started) / slice_size * 1e3)
    done = slice_size * 5
    backend_after = backend_cpu()
    return {
        "cpu ms": statistics.median(cpu),
        "wall ms": statistics.median(wall),
        "pg ms": (
            (backend_after - backend_before) / done * 1e3
            if backend_after is not None and backend_before is not None
            else float("nan")
        ),
        "sql": (SENT["sql"] - sent_before["sql"]) / done,
        "redis": (SENT["redis"] - sent_before["redis"]) / done,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trades", type=int, default=400)
    parser.add_argument("--profile", type=int, default=0, help="print cProfile's top N functions of the trades")
    parser.add_argument("--samples", type=int, default=1_000_000, help="as bench/api_load.py seeds")
    args = parser.parse_args()
    api_load.django_setup()
    from django.conf import settings
    from django.db import connection

    for cache in settings.CACHES.values():
        if cache["BACKEND"].endswith("RedisCache"):
            cache.setdefault("OPTIONS", {})["connection_class"] = CountingConnection
    api_load.prepare_database(args.samples)
    headers = api_load.api_key_header()
    from tradingrobot.wsgi import application

    def counted(execute, sql, params, many, context):
        SENT["sql"] += 1
        return execute(sql, params, many, context)

    trade = ["/api/trade/TSLA/buy", "/api/trade/TSLA/sell"]
    locked = ["/bench/locked_trade"]
    with connection.execute_wrapper(counted):
        for _ in range(20):  # warm: imports, memos, compiled SQL
            post(application, trade[0], headers)
            post(application, trade[1], headers)
            post(application, locked[0], headers)
        loads = [os.getloadavg()]
        results = {"POST /api/trade": measure(application, trade, headers, args.trades)}
        results["POST /bench/locked_trade"] = measure(application, locked, headers, args.trades)
        loads.append(os.getloadavg())
        print(f"in process, {args.trades} requests each; load average before/after: {loads[0]} / {loads[1]}")
        print(f"{'request':28} {'cpu ms':>8} {'wall ms':>8} {'PG ms':>8} {'SQL':>6} {'Redis':>6}")
        for name, figures in results.items():
            print(
                f"{name:28} {figures['cpu ms']:>8.2f} {figures['wall ms']:>8.2f} {figures['pg ms']:>8.2f} "
                f"{figures['sql']:>6.1f} {figures['redis']:>6.1f}"
            )
        if args.profile:
            profiler = cProfile.Profile(time.process_time)  # CPU: waiting left out
            profiler.enable()
            for i in range(200):
                post(application, trade[i % 2], headers)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.profile)
            print(out.getvalue())
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
            print(out.getvalue())


if __name__ == "__main__":
    main()
