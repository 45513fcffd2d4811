"""GET /api/performance after a year of 5-minute equity snapshots and 50 strategies, beside its ceiling.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/performance_api.py [--requests 300]

Seeds (once per database) an account with a year of equity snapshots every 5 minutes (105,120 rows) and their daily
closes, and 50 strategies with 200 fills each spread over the year (10,000 fills, 5,000 closing sells). Starts the
production server (tradingrobot/ops/web.py: Granian, 2 workers, bench.settings) on a free loopback port and sends
sequential requests with an API key to GET /api/performance and to the ceiling, a minimal DRF endpoint behind the
same middleware and key check (/bench/minimal). Three runs of /api/performance: as served (memo per ledger
version); cold: the ledger version bumped in the shared Redis before every request (a price write), so every
request rebuilds the report (the fills' totals reused: the fills version stands); after a fill: one more fill of
one strategy stored before every request, and both versions bumped as its order_filled does (the new fill is read
and folded into the account's totals and that strategy's summary).
Target (issue 13 item 8): p95 <= 50 ms.
"""

import argparse
import datetime as dt
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 50.0
STRATEGIES = 50
FILLS_PER_STRATEGY = 200
SNAPSHOT_EVERY = dt.timedelta(minutes=5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def env() -> dict[str, str]:
    database = os.environ.get("DATABASE_URL", "")
    redis = os.environ.get("REDIS_URL", "")
    if not database.startswith("postgres") or not redis:
        raise SystemExit("set DATABASE_URL (PostgreSQL) and REDIS_URL: bench and server share the ledger version")
    return {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database,
        "REDIS_URL": redis,
        "SECRET_KEY": "bench-only-not-a-secret",
        "THROTTLE_RATE_IP": "100000000/min",
        "THROTTLE_RATE_KEY": "100000000/min",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def seed() -> str:
    """The account, its snapshots and closes, the strategies' orders and fills; returns an all-scopes key."""
    from django.core.management import call_command
    from django.db import connection

    from market.clock import market_clock
    from market.models import Symbol
    from portfolio.ledger import account_get_or_create
    from portfolio.models import EquityClose, EquitySnapshot
    from trading.models import Fill, Order
    from tradingrobot.security.services import api_key_create

    call_command("migrate", verbosity=0)
    account = account_get_or_create()
    end = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    start = end - dt.timedelta(days=365)
    if EquitySnapshot.objects.filter(account=account).count() < 100_000:
        print("seeding a year of 5-minute snapshots and 50 strategies ...", flush=True)
        EquitySnapshot.objects.all().delete()
        EquityClose.objects.all().delete()
        Fill.objects.all().delete()
        Order.objects.all().delete()
        rng = random.Random(13)
        equity, at, snapshots = 100_000.0, start, []
        while at <= end:
            equity *= 1 + rng.gauss(0, 0.0005)
            value = Decimal(f"{equity:.2f}")
            snapshots.append(EquitySnapshot(account=account, at=at, equity=value, cash=value))
            at += SNAPSHOT_EVERY
        EquitySnapshot.objects.bulk_create(snapshots, batch_size=5000)
        closes: dict = {}
        for snapshot in snapshots:  # what equity_snapshot_take records, one snapshot at a time
            closes[market_clock().local_date(snapshot.at)] = snapshot
        EquityClose.objects.bulk_create(
            [EquityClose(account=account, day=d, at=s.at, equity=s.equity) for d, s in closes.items()], batch_size=2000
        )
        tsla = Symbol.objects.get(ticker="TSLA")
        step = (end - start) / FILLS_PER_STRATEGY
        for i in range(STRATEGIES):
            orders, fills = [], []
            for j in range(FILLS_PER_STRATEGY):
                side = "buy" if j % 2 == 0 else "sell"
                when = start + step * j + dt.timedelta(minutes=i)
                price = Decimal(f"{rng.uniform(200, 300):.2f}")
                realized = Decimal(f"{rng.gauss(5, 40):.2f}") if side == "sell" else Decimal("-1")
                order = Order(
                    client_order_id=f"bench-{i}-{j}",
                    principal=f"strategy:BENCH-{i:02d}",
                    account=account,
                    symbol=tsla,
                    side=side,
                    qty=Decimal(10),
                    status="filled",
                    filled_qty=Decimal(10),
                    filled_avg_price=price,
                    source="strategy",
                    strategy_id=f"BENCH-{i:02d}",
                    created_at=when,
                    filled_at=when,
                )
                orders.append(order)
                fills.append((order, when, side, price, realized))
            Order.objects.bulk_create(orders)
            Fill.objects.bulk_create(
                Fill(
                    order=o,
                    account=account,
                    symbol=tsla,
                    side=side,
                    qty=Decimal(10),
                    price=price,
                    commission=Decimal(1),
                    realized_pl=realized,
                    executed_at=when,
                )
                for o, when, side, price, realized in fills
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    _, key = api_key_create(name=f"bench-{int(time.time())}", scopes="read,trade,admin", created_by="bench")
    return key


def start_server(port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "tradingrobot.ops.web", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env()})
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1).close()
            return process
        except urllib.error.HTTPError:
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def timed(url: str, key: str, count: int, before=None) -> list[float]:
    latencies = []
    for _ in range(count):
        if before:
            before()
        request = urllib.request.Request(url, headers={"X-API-Key": key})  # noqa: S310 - loopback
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            response.read()
            assert response.status == 200, response.status
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def fill_one() -> None:
    """A new sell fill of BENCH-00, as a trade would store it, then the version bumps its order_filled makes
    (tradingrobot/listeners.py: the ledger's and the fills')."""
    from trading.models import Fill, Order
    from trading.performance_state import fills_version_bump
    from tradingrobot.snapshot_cache import ledger_version_bump

    last = Order.objects.filter(strategy_id="BENCH-00").order_by("-id").first()
    assert last is not None
    at = dt.datetime.now(dt.UTC)
    order = Order.objects.create(
        client_order_id=f"bench-extra-{time.monotonic_ns()}",
        principal="strategy:BENCH-00",
        account=last.account,
        symbol=last.symbol,
        side="sell",
        qty=Decimal(1),
        status="filled",
        filled_qty=Decimal(1),
        filled_avg_price=Decimal(250),
        source="strategy",
        strategy_id="BENCH-00",
        created_at=at,
        filled_at=at,
    )
    Fill.objects.create(
        order=order,
        account=last.account,
        symbol=last.symbol,
        side="sell",
        qty=Decimal(1),
        price=Decimal(250),
        commission=Decimal(1),
        realized_pl=Decimal(3),
        executed_at=at,
    )
    ledger_version_bump()
    fills_version_bump()


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[94]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    os.environ.update(env())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from tradingrobot.snapshot_cache import ledger_version_bump

    key = seed()
    port = free_port()
    server = start_server(port)
    base = f"http://127.0.0.1:{port}"
    try:
        first = urllib.request.Request(f"{base}/api/performance", headers={"X-API-Key": key})  # noqa: S310
        body = urllib.request.urlopen(first).read()  # noqa: S310 - loopback
        listed = body.count(b'"strategy_id"') - 1
        timed(f"{base}/bench/minimal", key, 20)  # warm both workers
        timed(f"{base}/api/performance", key, 20)
        ceiling = timed(f"{base}/bench/minimal", key, args.requests)
        served = timed(f"{base}/api/performance", key, args.requests)
        cold = timed(f"{base}/api/performance", key, args.requests, before=ledger_version_bump)
        filled = timed(f"{base}/api/performance", key, args.requests, before=fill_one)
    finally:
        server.terminate()
        server.wait(timeout=10)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(
        f"GET /api/performance: {listed} strategies listed, a year of 5-minute snapshots, {args.requests} requests each"
    )
    for name, values in [
        ("ceiling /bench/minimal", ceiling),
        ("/api/performance (memo per version)", served),
        ("/api/performance cold (version bumped)", cold),
        ("/api/performance after a fill", filled),
    ]:
        verdict = (
            ""
            if values is ceiling
            else ("  target p95 <= 50 ms: " + ("MET" if p95(values) <= TARGET_MS else "NOT MET"))
        )
        p50, worst = statistics.median(values), max(values)
        print(f"{name:<42} p50 {p50:6.1f} ms  p95 {p95(values):6.1f} ms  max {worst:6.1f} ms{verdict}")
    print(f"load average {' '.join(load)}")


if __name__ == "__main__":
    main()
