"""Load benchmark of the trading API in its production arrangement (gunicorn, 2 sync workers, PostgreSQL).

    make bench            # or: .venv/bin/python bench/api_load.py [--duration 10] [--samples 1000000]

Seeds TSLA with --samples price samples at one per second (once; reused on later runs), starts gunicorn,
and drives each endpoint with wrk next to its ceiling (a minimal endpoint served the same way):
GET /api/status (64 connections), GET /api/market_data/TSLA?timeframe=5Min&limit=100 (32),
POST /api/trade (16, alternating buy and sell of 1 share). After the trade run it reconciles cash and
position with the fills (lost updates). Needs wrk (`apt-get install wrk`) and PostgreSQL.
"""

import argparse
import datetime as dt
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.ports import free_port  # noqa: E402 - after the path

PORT = free_port()
BASE = f"http://127.0.0.1:{PORT}"
STARTING_CASH = "1000000000"

ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trbench"),
    "SECRET_KEY": "bench-only-not-a-secret",
    "TRADING_CALENDAR": "24/7",
    "STARTING_CASH": STARTING_CASH,
    "MAX_PRICE_AGE_SECONDS": str(10**8),
    "MAX_ORDER_NOTIONAL": "1000000000",
    # Rate limits off for a load test from one address with one key.
    "THROTTLE_RATE_IP": "100000000/min",
    "THROTTLE_RATE_KEY": "100000000/min",
    "THROTTLE_RATE_TRADE": "100000000/min",
    "LOG_LEVEL": "WARNING",
    "PYTHONPATH": str(ROOT),
}


def django_setup() -> None:
    os.environ.update(ENV)
    from bench.databases import database_ensure

    if database_ensure(ENV["DATABASE_URL"]):
        print(f"created database {ENV['DATABASE_URL']}", flush=True)
    import django

    django.setup()


def prepare_database(samples: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from market.models import PriceSample, Symbol
    from market.services import SampleIn, sample_upsert_many
    from portfolio.models import Account, BookPosition, Position
    from trading.models import Fill, Order

    call_command("migrate", verbosity=0)
    tsla = Symbol.objects.get(ticker="TSLA")
    stored = PriceSample.objects.filter(symbol=tsla).count()
    if stored < samples:
        print(f"seeding {samples:,} TSLA samples at 1/s (stored now: {stored:,}) ...", flush=True)
        PriceSample.objects.filter(symbol=tsla).delete()
        tsla.bars.all().delete()
        end = dt.datetime.now(dt.UTC).replace(microsecond=0)
        rng = random.Random(7)
        price, volume, started, batch = 250.0, 0, time.perf_counter(), []
        for i in range(samples):
            price = max(1.0, price * (1 + rng.gauss(0, 0.0002)))
            volume += rng.randint(0, 500)
            batch.append(SampleIn(tsla.pk, end - dt.timedelta(seconds=samples - i), Decimal(f"{price:.4f}"), volume))
            if len(batch) == 10_000:
                sample_upsert_many(samples=batch, source=PriceSample.Source.MANUAL)
                batch = []
        if batch:
            sample_upsert_many(samples=batch, source=PriceSample.Source.MANUAL)
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    Fill.objects.all().delete()
    Order.objects.all().delete()
    Position.objects.all().delete()
    BookPosition.objects.all().delete()  # the strategy books of the last run's trades
    Account.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    # Hold shares first, so the alternating sells of the trade run never outrun the buys.
    from trading.order_request import order_request_parse
    from trading.services import order_place

    order_place(request=order_request_parse(ticker="TSLA", side="buy", qty="10000"), placed_by="bench")


def api_key_header() -> list[str]:
    """An all-scopes key when the API requires one (the security layer), else nothing."""
    from django.core.management import call_command, get_commands

    if "create_api_key" not in get_commands():
        return []
    from io import StringIO

    out = StringIO()
    call_command("create_api_key", name=f"bench-{int(time.time())}", scopes="read,trade,admin", stdout=out)
    key = out.getvalue().strip().splitlines()[-1].strip()
    return ["-H", f"Authorization: Api-Key {key}"]


def start_server(workers: int, threads: int) -> subprocess.Popen:
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    worker_class = ["-k", "sync"] if threads <= 1 else ["-k", "gthread", "--threads", str(threads)]
    process = subprocess.Popen(
        [
            gunicorn,
            "-w",
            str(workers),
            *worker_class,
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
            "tradingrobot.wsgi",
        ],
        cwd=ROOT,
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{BASE}/bench/minimal", timeout=1)  # noqa: S310 - loopback
            return process
        except urllib.error.HTTPError:
            return process  # answering, even if it wants a key
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


TRADE_LUA = """
local n = 0
request = function()
  n = n + 1
  local side = (n %% 2 == 1) and "buy" or "sell"
  return wrk.format("POST", "/api/trade/TSLA/" .. side, {["Content-Type"] = "application/json"%s}, '{"quantity": 1}')
end
"""
LOCKED_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
"""


def wrk(path: str, connections: int, duration: int, headers: list[str], lua: str | None = None) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", *headers]
    script = None
    if lua:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
        script.write(lua)
        script.close()
        command += ["-s", script.name]
    output = subprocess.run([*command, BASE + path], capture_output=True, text=True, check=True).stdout
    if script:
        os.unlink(script.name)
    return parse_wrk(output)


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(output: str) -> dict:
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _ms(latency["50"]),
        "p99": _ms(latency["99"]),
        "errors": (int(errors.group(1)) if errors else 0) + (sum(map(int, socket.groups())) if socket else 0),
    }


def reconcile() -> tuple[int, Decimal]:
    """(filled orders, cash discrepancy): cash must equal the start minus buys plus sells."""
    from django.db.models import F, Sum

    from portfolio.models import Account, Position
    from trading.models import Fill

    def total(side: str) -> Decimal:
        return Fill.objects.filter(side=side).aggregate(v=Sum(F("qty") * F("price")))["v"] or Decimal("0")

    def qty(side: str) -> Decimal:
        return Fill.objects.filter(side=side).aggregate(v=Sum("qty"))["v"] or Decimal("0")

    account = Account.objects.get(name="paper")
    expected_cash = Decimal(STARTING_CASH) - total("buy") + total("sell")
    position = Position.objects.filter(symbol__ticker="TSLA").first()
    qty_gap = (position.qty if position else 0) - (qty("buy") - qty("sell"))
    return Fill.objects.count(), (account.cash - expected_cash) + qty_gap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread when > 1)")
    parser.add_argument("--only", choices=["status", "market_data", "trade"], help="run one endpoint")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    django_setup()
    prepare_database(args.samples)
    headers = api_key_header()
    server = start_server(args.workers, args.threads)
    print(f"gunicorn: {args.workers} workers x {args.threads} thread(s)", flush=True)
    rows = []
    try:
        runs = [
            ("GET /api/status", "/api/status", 64, None, "/bench/minimal", None, (1500, 100, 0.75)),
            (
                "GET /api/market_data 5Min x100",
                "/api/market_data/TSLA?timeframe=5Min&limit=100",
                32,
                None,
                "/bench/minimal",
                None,
                (800, 100, None),
            ),
            (
                "POST /api/trade",
                "/api/trade/TSLA/buy",
                16,
                TRADE_LUA % ("" if not headers else ', ["Authorization"] = "' + headers[1].split(": ", 1)[1] + '"'),
                "/bench/locked_trade",
                LOCKED_LUA,
                (250, 150, None),
            ),
        ]
        if args.only:
            runs = [run for run in runs if args.only in run[1]]
        for name, path, conns, lua, ceiling_path, ceiling_lua, target in runs:
            wrk(path, conns, 2, headers, lua)  # warm-up
            measured = wrk(path, conns, args.duration, headers, lua)
            ceiling = wrk(ceiling_path, conns, args.duration, headers, ceiling_lua)
            rows.append((name, conns, measured, ceiling, target))
            print(f"  {name}: {measured['rps']:.0f} req/s (ceiling {ceiling['rps']:.0f})", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    fills, gap = reconcile()

    print()
    print(
        f"{'endpoint':34} {'conns':>5} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
        f"{'ceiling':>8} {'ratio':>6}  target"
    )
    for name, conns, m, c, (min_rps, max_p99, min_ratio) in rows:
        ratio = m["rps"] / c["rps"] if c["rps"] else 0
        ok = m["rps"] >= min_rps and m["p99"] <= max_p99 and m["errors"] == 0
        if min_ratio:
            ok = ok and ratio >= min_ratio
        goal = f">= {min_rps}/s, p99 <= {max_p99} ms" + (f", >= {min_ratio}x ceiling" if min_ratio else "")
        print(
            f"{name:34} {conns:>5} {m['rps']:>8.0f} {m['p50']:>7.1f} {m['p99']:>7.1f} {m['errors']:>6} "
            f"{c['rps']:>8.0f} {ratio:>6.2f}  {goal}: {'MET' if ok else 'NOT MET'}"
        )
    print(f"trade fills: {fills}; lost updates (cash/position discrepancy): {gap}")


if __name__ == "__main__":
    main()
