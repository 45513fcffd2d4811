"""Strategy engine benchmark, on PostgreSQL.

    .venv/bin/python bench/strategies.py [--bars 300] [--latency-bars 20]

(b) One bar close evaluated for 200 enabled strategies (50 per symbol on 4 symbols), in the engine's own code
    path (`bar_evaluate`, once per symbol as the four `bar_closed` events would), wall time beside the 2 s
    target; and the SQL queries one bar close takes with 10 and with 50 strategies per symbol in signal mode
    (decisions only), which must be equal; the same in live mode, where the bar's orders are placed together
    (`trading.order_batch.orders_place_batch`: one transaction per symbol, the locks once, bulk writes): its
    10-per-symbol run holds the account's first orders and creates the position rows, so the 50-per-symbol
    count must not be higher.
(a) Time from the bar-closing sample being stored to the order filled in the ledger with a real Celery worker
    (subprocess, solo pool) on Redis, p95 beside the 1 s target (`--latency-bars N`, default 20; needs
    REDIS_URL, e.g. redis://127.0.0.1:6379/10).

Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/tr_engine_bench), which it drops and migrates.
"""

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tr_engine_bench")
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
        "DATABASE_URL": DB_URL,
        "SECRET_KEY": "bench-only-not-a-secret",
        "TRADING_CALENDAR": "24/7",
        "STARTING_CASH": "1000000000",
        "MAX_ORDER_NOTIONAL": "1000000000",
        "LOG_LEVEL": "WARNING",
    }
)
SYMBOLS = ["TSLA", "QQQ", "SPY", "NVDA"]
TARGET_WALL_S = 2.0
TARGET_P95_S = 1.0
START = dt.datetime(2026, 11, 2, 0, 0, tzinfo=dt.UTC)
BAR = dt.timedelta(minutes=5)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "NOT MET"


def fresh_database() -> None:
    from bench.databases import database_ensure

    database_ensure(DB_URL, fresh=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True, env=os.environ)


def seed(bars: int) -> None:
    """A random walk per symbol, one sample per 5 minutes (24/7 calendar), stored as history (no trading)."""
    import random
    from decimal import Decimal

    from market.models import PriceSample, Symbol
    from market.services import SampleIn, sample_upsert_many

    rng = random.Random(3)
    for pk in Symbol.objects.filter(ticker__in=SYMBOLS).values_list("pk", flat=True):
        price, samples = 100.0, []
        for i in range(bars + 1):
            price *= 1 + rng.gauss(0, 0.004)
            samples.append(SampleIn(pk, START + i * BAR, Decimal(f"{price:.4f}"), 1000 * (i + 1)))
        sample_upsert_many(samples=samples, source=PriceSample.Source.CSV, live=False)


def strategies(per_symbol: int, *, mode: str, prefix: str) -> dict[str, list[int]]:
    from trading.engine.services import strategy_create

    kinds = [
        ("sma_crossover", lambda i: {"fast": 2 + i % 8, "slow": 12 + i}),
        ("rsi_reversion", lambda i: {"period": 5 + i % 10}),
        ("donchian_breakout", lambda i: {"entry": 10 + i % 10, "exit": 5 + i % 5}),
        ("buy_and_hold", lambda i: {}),
    ]
    made: dict[str, list[int]] = {}
    for ticker in SYMBOLS:
        for i in range(per_symbol):
            kind, params = kinds[i % len(kinds)]
            strategy = strategy_create(
                strategy_id=f"{prefix}-{ticker}-{i}",
                ticker=ticker,
                kind=kind,
                fields={"params": params(i), "enabled": True, "mode": mode, "sizing_value": "1"},
                by="bench",
            )
            made.setdefault(ticker, []).append(strategy.pk)
    return made


def bar_close(pks: dict[str, list[int]], bar_end: dt.datetime) -> tuple[float, int, int]:
    """Wall seconds, SQL queries and decisions of one bar close on every symbol."""
    import time_machine
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from trading.engine.execution import bar_evaluate

    with time_machine.travel(bar_end + dt.timedelta(seconds=1), tick=False), CaptureQueriesContext(connection) as q:
        began = time.perf_counter()
        made = sum(bar_evaluate(ticker=t, timeframe="5Min", bar_end=bar_end, strategy_pks=p) for t, p in pks.items())
        took = time.perf_counter() - began
    return took, len(q.captured_queries), made


def last_bar_end() -> dt.datetime:
    from market.models import Bar

    newest = (
        Bar.objects.filter(timeframe="5Min", symbol__ticker="TSLA")
        .order_by("-start")
        .values_list("start", flat=True)[1]
    )  # the newest bar is still forming: the one before it is the last closed
    return newest + BAR


def latency(count: int) -> None:
    """(a) A real worker on Redis: per fresh symbol, history up to a recent bar end, one buy_and_hold strategy;
    then the sample that closes the bar is stored live and the clock runs until its order is in the ledger."""
    import signal
    import tempfile
    from decimal import Decimal

    from market.clock import now
    from market.models import PriceSample, Symbol
    from market.services import SampleIn, sample_upsert_many
    from trading.engine.services import strategy_create
    from trading.models import Fill

    queue = os.environ["CELERY_QUEUE"]
    log = Path(tempfile.mkdtemp()) / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tradingrobot", "worker", "--pool", "solo", "-Q", queue, "-l", "INFO"],
        cwd=ROOT,
        env=os.environ,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while " ready." not in log.read_text():
            if time.monotonic() > deadline:
                raise SystemExit("worker not ready:\n" + log.read_text()[-2000:])
            time.sleep(0.2)
        at = now()
        end = at.replace(second=0, microsecond=0) - dt.timedelta(minutes=at.minute % 5)
        times = []
        for i in range(count):
            symbol = Symbol.objects.create(ticker=f"LAT{chr(65 + i // 26)}{chr(65 + i % 26)}")
            history = [SampleIn(symbol.pk, end - BAR + k * dt.timedelta(minutes=1), Decimal("50"), k) for k in range(5)]
            sample_upsert_many(samples=history, source=PriceSample.Source.CSV, live=False)
            strategy_create(
                strategy_id=f"LAT-{i}", ticker=symbol.ticker, kind="buy_and_hold", fields={"enabled": True}, by="bench"
            )
            began = time.perf_counter()
            sample_upsert_many(samples=[SampleIn(symbol.pk, end, Decimal("50.5"), 9)], source="manual", live=True)
            while not Fill.objects.filter(order__strategy_id=f"LAT-{i}").exists():
                if time.perf_counter() - began > 30:
                    raise SystemExit("no order within 30 s:\n" + log.read_text()[-3000:])
                time.sleep(0.005)
            times.append(time.perf_counter() - began)
        times.sort()
        p95 = times[max(0, round(0.95 * len(times)) - 1)]
        print(
            f"bar-closing sample stored -> order filled in the ledger, real worker on Redis, {count} bars: "
            f"median {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms; "
            f"target p95 <= {TARGET_P95_S:.1f} s: {verdict(p95 <= TARGET_P95_S)}"
        )
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=300)
    parser.add_argument("--latency-bars", type=int, default=20, help="0: skip (a); it needs REDIS_URL")
    args = parser.parse_args()
    if args.latency_bars and not os.environ.get("REDIS_URL"):
        raise SystemExit("(a) needs REDIS_URL (e.g. redis://127.0.0.1:6379/10), or pass --latency-bars 0")
    os.environ.setdefault("CELERY_QUEUE", f"bench-strategies-{os.getpid()}")
    fresh_database()
    import django

    django.setup()
    from trading.models import Order, Strategy

    seed(args.bars)
    end = last_bar_end()
    print(f"PostgreSQL {DB_URL.rsplit('@', 1)[-1]}, {len(SYMBOLS)} symbols, {args.bars}+ 5Min bars each")

    small = strategies(10, mode="signal", prefix="S10")
    bar_close(small, end - 4 * BAR)  # first use: the account row, the connection's first queries
    _, queries_10, made = bar_close(small, end - 3 * BAR)
    print(f"signal mode, 10 per symbol  ({made} decisions): {queries_10} SQL queries")
    Strategy.objects.filter(strategy_id__startswith="S10").update(enabled=False)
    large = strategies(50, mode="signal", prefix="S50")
    took, queries_50, made = bar_close(large, end - 2 * BAR)
    print(
        f"signal mode, 50 per symbol  ({made} decisions): {queries_50} SQL queries, {took:.3f} s wall; "
        f"queries equal to 10 per symbol: {verdict(queries_50 == queries_10)}; "
        f"wall target <= {TARGET_WALL_S:.1f} s: {verdict(took <= TARGET_WALL_S)}"
    )

    Strategy.objects.filter(strategy_id__startswith="S").update(enabled=False)
    few = strategies(10, mode="live", prefix="L10")
    _, live_queries_10, made = bar_close(few, end - BAR)
    orders_10 = Order.objects.filter(source="strategy").count()
    print(f"live mode, 10 per symbol    ({made} decisions, {orders_10} orders): {live_queries_10} SQL queries")
    Strategy.objects.filter(strategy_id__startswith="L10").update(enabled=False)
    live = strategies(50, mode="live", prefix="L50")
    took, queries, made = bar_close(live, end)
    orders = Order.objects.filter(source="strategy").count() - orders_10
    print(
        f"live mode, 200 strategies ({made} decisions, {orders} orders): {took:.3f} s wall, {queries} SQL queries; "
        f"queries not more than with 10 per symbol: {verdict(queries <= live_queries_10)}; "
        f"target <= {TARGET_WALL_S:.1f} s: {verdict(took <= TARGET_WALL_S)}"
    )
    print(f"load average after the bar closes: {Path('/proc/loadavg').read_text().split()[:3]}")
    if args.latency_bars:
        latency(args.latency_bars)


if __name__ == "__main__":
    main()
