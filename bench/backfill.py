"""Ingestion benchmark: backfill from the development feed into PostgreSQL, and the robot's cost of one poll.

    .venv/bin/python bench/backfill.py [--days 730] [--window-days 14] [--polls 50]

1. Backfill: the devfeed runs as its own process (as the site would) on 127.0.0.1:8250; the robot backfills
   `--days` of 5-minute samples around the clock for the 4 primary symbols (730 days: ~840,000 rows) through
   /stock-data/{symbol} with explicit site-local dates, into a fresh PostgreSQL database (BENCH_DATABASE_URL,
   default postgres://postgres@127.0.0.1:5432/ingest_bench, dropped and made anew). Reports rows/s end to end
   and the process's resident memory after 10 %, 50 % and 100 % of the windows (flat = streamed) and its peak.
   Then the ceiling: the same stored samples written into the same table, emptied, by one COPY; the ratio.
   For reference only (not the target): the samples and the bars the backfill derived from them, both by COPY.
2. Poll: `--polls` polls of /stock-data (4 symbols) against an in-process feed, the clock moved 5 minutes
   per poll so each stores 4 new samples, fills resting orders and merges bars. Reports the robot's time per
   poll beyond the site's answer (total minus the time spent in the HTTP call), median and p95.
Targets: >= 0.5x the COPY ceiling in the same run, memory flat; <= 50 ms of robot time per poll.
"""

import argparse
import datetime as dt
import io
import os
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.ports import free_port  # noqa: E402 - after the path

FEED_PORT = free_port()
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ingest_bench")

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
        "DATABASE_URL": DATABASE_URL,
        "SECRET_KEY": "bench-only-not-a-secret",
        "WP_BASE_URL": f"http://127.0.0.1:{FEED_PORT}",
        "WP_TIMEZONE": "",
        "WP_CACHE_PREFIX": f"wp-bench-{os.getpid()}",
        "LOG_LEVEL": "WARNING",
    }
)
os.environ.pop("REDIS_URL", None)  # the client's cache in process memory: measure the robot, not Redis


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def database_create() -> None:
    from bench.databases import database_ensure

    database_ensure(DATABASE_URL, fresh=True)


def feed_start() -> subprocess.Popen:
    feed = subprocess.Popen(
        [sys.executable, "manage.py", "wordpress_devfeed", "--port", str(FEED_PORT)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": "sqlite:///:memory:"},
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    feed.stdout.readline()  # "WordPress development feed on ..."
    return feed


def backfill_bench(days: float, window_days: float, workers: int) -> dict:
    from integration.services import backfill_run

    marks: dict[str, float] = {}
    rates: dict[str, int] = {}  # rows/s so far
    progress = {"total": 0}

    def on_plan(todo: int, done: int) -> None:
        progress["total"] = todo

    def on_window(window, report) -> None:
        share = report.windows / max(progress["total"], 1)
        for label, at in (("10%", 0.1), ("50%", 0.5), ("100%", 1.0)):
            if share >= at and label not in marks:
                marks[label] = round(rss_mib(), 1)
                rates[label] = round(report.rows / (time.perf_counter() - started))

    from market.clock import market_clock

    market_clock()  # built once per process (exchange calendar); a running worker has it already
    before = rss_mib()
    started = time.perf_counter()
    report = backfill_run(days=days, window_days=window_days, workers=workers, on_plan=on_plan, on_window=on_window)
    seconds = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"backfill failed: {report.summary()}")
    return {
        "rows": report.rows,
        "stored": report.stored,
        "windows": report.windows,
        "workers": workers,
        "seconds": round(seconds, 2),
        "rows_per_s": round(report.rows / seconds),
        "rss_before_mib": round(before, 1),
        "rows_per_s_so_far": rates,
        "rss_at_mib": marks,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _copy_out(raw, query: str) -> bytes:
    buffer = io.BytesIO()
    with raw.cursor() as cursor, cursor.copy(query) as out:
        for chunk in out:
            buffer.write(chunk)
    return buffer.getvalue()


def copy_ceiling() -> dict:
    """The same samples the backfill stored, written into the same table (emptied first, as the backfill found
    it, with its constraints and indexes) by one PostgreSQL COPY: the ceiling of any ingestion into it. Then, for
    reference only, the samples and the bars the backfill derived from them (~2.4 bar rows per sample), both by
    COPY in one transaction: what the bars alone cost the database."""
    from django.db import connection, transaction

    from market.models import Bar, PriceSample

    table, bars = PriceSample._meta.db_table, Bar._meta.db_table
    columns = "symbol_id, timestamp, price, volume, source, created_at, updated_at"
    bar_columns = "symbol_id, timeframe, start, day, open, high, low, close, open_at, close_at, close_volume"
    connection.ensure_connection()
    raw = connection.connection
    samples = _copy_out(raw, f"COPY (SELECT {columns} FROM {table} ORDER BY id) TO STDOUT")  # noqa: S608 - model names
    bar_rows = _copy_out(raw, f"COPY (SELECT {bar_columns} FROM {bars} ORDER BY id) TO STDOUT")  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - the model's own table
        rows = cursor.fetchone()[0]
        cursor.execute(f"TRUNCATE {table}")
    started = time.perf_counter()
    with transaction.atomic(), raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(samples)
    seconds = time.perf_counter() - started
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}, {bars}")
    started = time.perf_counter()
    with transaction.atomic(), raw.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            copy.write(samples)
        with cursor.copy(f"COPY {bars} ({bar_columns}) FROM STDIN") as copy:
            copy.write(bar_rows)
    with_bars = time.perf_counter() - started
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "bar_rows": bar_rows.count(b"\n"),
        "with_bars_seconds": round(with_bars, 2),
        "with_bars_rows_per_s": round(rows / with_bars),  # samples per second, their bars written too
    }


def verdict(backfill: dict, ceiling: dict) -> str:
    ratio = backfill["rows_per_s"] / ceiling["rows_per_s"]
    marks = backfill["rss_at_mib"]
    growth = marks.get("100%", 0) - marks.get("10%", 0)
    flat = growth <= max(20.0, 0.1 * marks.get("10%", 0))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"backfill {backfill['rows_per_s']:,} rows/s vs COPY {ceiling['rows_per_s']:,} rows/s of the same "
        f"{ceiling['rows']:,} samples: ratio {ratio:.2f} (target >= 0.5: {'PASS' if ratio >= 0.5 else 'NOT MET'}); "
        f"RSS at 10/50/100 %: {marks.get('10%')} / {marks.get('50%')} / {marks.get('100%')} MiB, "
        f"{'flat' if flat else 'NOT flat'} (+{growth:.1f} MiB); load average {load}. For reference: COPY of the "
        f"samples and their {ceiling['bar_rows']:,} bar rows, {ceiling['with_bars_rows_per_s']:,} samples/s "
        f"(backfill {backfill['rows_per_s'] / ceiling['with_bars_rows_per_s']:.2f}x that)"
    )


def poll_bench(polls: int) -> dict:
    import time_machine

    from integration import client as client_module
    from integration.devfeed import server_build
    from integration.services import stock_data_poll

    server = server_build(port=0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    from django.test import override_settings

    http_seconds = [0.0]
    original = client_module.WordPressClient._request

    def timed_request(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            http_seconds[0] += time.perf_counter() - started

    client_module.WordPressClient._request = timed_request
    robot_ms, total_ms = [], []
    start = dt.datetime(2027, 3, 2, 15, 0, tzinfo=dt.UTC)  # a Tuesday, the market open, after the backfill
    try:
        site = f"http://127.0.0.1:{server.server_address[1]}"
        with override_settings(WP_BASE_URL=site), time_machine.travel(start, tick=False) as traveller:
            stock_data_poll()  # warm: the zone from /wp-json/, connections, caches
            for _ in range(polls):
                traveller.shift(dt.timedelta(minutes=5))
                http_seconds[0] = 0.0
                started = time.perf_counter()
                report = stock_data_poll()
                total = time.perf_counter() - started
                assert report.ok and report.stored == 4, report.summary()
                total_ms.append(total * 1000)
                robot_ms.append((total - http_seconds[0]) * 1000)
    finally:
        client_module.WordPressClient._request = original
        server.stop()
    robot_ms.sort()
    return {
        "polls": polls,
        "robot_ms_median": round(statistics.median(robot_ms), 2),
        "robot_ms_p95": round(robot_ms[int(len(robot_ms) * 0.95) - 1], 2),
        "total_ms_median": round(statistics.median(total_ms), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=730)
    parser.add_argument("--window-days", type=float, default=14)
    parser.add_argument("--polls", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", choices=["backfill", "poll"], help="Run one of the two parts.")
    args = parser.parse_args()

    if args.only != "poll":
        database_create()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.only != "poll":
        feed = feed_start()
        try:
            backfill = backfill_bench(args.days, args.window_days, args.workers)
            print("backfill:", backfill, flush=True)
        finally:
            os.killpg(feed.pid, signal.SIGTERM)
            feed.wait(timeout=10)
        ceiling = copy_ceiling()
        print("copy ceiling:", ceiling, flush=True)
        print(verdict(backfill, ceiling), flush=True)
    if args.only != "backfill":
        print("poll:", poll_bench(args.polls), flush=True)


if __name__ == "__main__":
    main()
