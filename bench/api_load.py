"""Load benchmark of the trading API in its production arrangement (tradingrobot/ops/web.py: Granian, 2 workers
of one thread, PostgreSQL; `--server gunicorn` runs gunicorn's sync workers instead, for comparison).

    make bench            # or: .venv/bin/python bench/api_load.py [--duration 10] [--samples 1000000]

Creates its database when missing (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/trbench),
uses Redis as production does (BENCH_REDIS_URL, default redis://127.0.0.1:6379/15),
seeds TSLA with --samples price samples at one per second (once; reused on later runs), starts the server on a
free port, and drives each endpoint with wrk, in --rounds alternating with its references in the same run:
GET /api/status (64 connections) beside the minimal DRF endpoint (full middleware, and on the lean path) and
a minimal FastAPI /api/status with the same payload under uvicorn, 1 worker (bench/fastapi_status.py);
GET /api/market_data/TSLA?timeframe=5Min&limit=100 (32) beside the minimal endpoint; POST /api/trade (16,
alternating buy and sell of 1 share) beside a minimal locked transaction. Prints each ratio per round and
PASS / NOT MET of its target on the median ratio, with the load average; after the trade run it reconciles
cash and position with the fills (lost updates). Needs wrk (`apt-get install wrk`) and PostgreSQL.
"""

import argparse
import datetime as dt
import os
import random
import re
import shutil
import signal
import statistics
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
    # Production has Redis: the shared cache the key memo needs (without it every request checks the key in the
    # database, tradingrobot/security/keys.py) and where every worker's rate-limit counts meet.
    # Its own db: its rate-limit counts for 127.0.0.1 must not meet a test suite's.
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
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
    # The status path and the bench's second minimal endpoint skip the middleware an API GET does not use.
    "API_LEAN_PATHS": "/api/status,/bench/minimal_lean",
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


def server_command(server: str, workers: int) -> list[str]:
    """Production's server (tradingrobot/ops/web.py: Granian, one thread per worker, keep-alive), or gunicorn's
    sync workers for comparison (what production ran before)."""
    if server == "gunicorn":
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        bind = f"127.0.0.1:{PORT}"
        return [gunicorn, "-w", str(workers), "-k", "sync", "-b", bind, "--log-level", "warning", "tradingrobot.wsgi"]
    return [sys.executable, "-m", "tradingrobot.ops.web", "--bind", f"127.0.0.1:{PORT}", "--workers", str(workers)]


def start_server(server: str, workers: int) -> subprocess.Popen:
    process = subprocess.Popen(
        server_command(server, workers), cwd=ROOT, env={**os.environ, **ENV}, stdout=subprocess.DEVNULL
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
    raise SystemExit(f"{server} did not start")


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


def wrk(
    path: str, connections: int, duration: int, headers: list[str], lua: str | None = None, base: str = BASE
) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", *headers]
    script = None
    if lua:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
        script.write(lua)
        script.close()
        command += ["-s", script.name]
    cpu_before = server_cpu(base)
    output = subprocess.run([*command, base + path], capture_output=True, text=True, check=True).stdout
    cpu = server_cpu(base) - cpu_before
    if script:
        os.unlink(script.name)
    result = parse_wrk(output)
    result["cpu_us"] = cpu * 1e6 / max(result["requests"], 1)  # the server's CPU per request, whatever the load
    return result


SERVERS: dict[str, int] = {}  # base URL -> pid of the server (its workers are its children)


def server_cpu(base: str) -> float:
    """CPU seconds (user + system) the server at `base` and its worker processes have used so far."""
    import psutil

    if base not in SERVERS:
        return 0.0
    root = psutil.Process(SERVERS[base])
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(output: str) -> dict:
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
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


def start_fastapi(payload: bytes) -> tuple[subprocess.Popen, str]:
    """The FastAPI reference (bench/fastapi_status.py) under uvicorn, 1 worker, on its own port."""
    port = free_port()
    path = Path(tempfile.gettempdir()) / f"fastapi_status_{os.getpid()}.json"
    path.write_bytes(payload)
    uvicorn = str(Path(sys.executable).parent / "uvicorn")
    command = [uvicorn, "bench.fastapi_status:app", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(
        [*command, "--log-level", "warning", "--no-access-log"],
        cwd=ROOT,
        env={**os.environ, "FASTAPI_STATUS_PAYLOAD": str(path), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    SERVERS[base] = process.pid
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/api/status", timeout=1)  # noqa: S310 - loopback
            return process, base
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("uvicorn did not start")


def status_payload(headers: list[str]) -> bytes:
    request = urllib.request.Request(f"{BASE}/api/status")  # noqa: S310 - loopback
    if headers:
        name, value = headers[1].split(": ", 1)
        request.add_header(name, value)
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        return answer.read()


# (name, path, connections, lua, [(reference name, path, lua, base or None)], targets)
# targets: [(reference name, minimal ratio)], p99 ceiling in ms or None.
def runs_planned(headers: list[str]) -> list[tuple]:
    key = "" if not headers else ', ["Authorization"] = "' + headers[1].split(": ", 1)[1] + '"'
    return [
        (
            "GET /api/status",
            "/api/status",
            64,
            None,
            [
                ("minimal", "/bench/minimal", None, None),
                ("minimal lean", "/bench/minimal_lean", None, None),
                ("FastAPI 1w", "/api/status", None, "fastapi"),
            ],
            ([("minimal", 0.85), ("FastAPI 1w", 1.0)], None),
        ),
        (
            "GET /api/market_data 5Min x100",
            "/api/market_data/TSLA?timeframe=5Min&limit=100",
            32,
            None,
            [("minimal", "/bench/minimal", None, None)],
            ([("minimal", 0.75)], None),
        ),
        (
            "POST /api/trade",
            "/api/trade/TSLA/buy",
            16,
            TRADE_LUA % key,
            [("locked txn", "/bench/locked_trade", LOCKED_LUA, None)],
            ([("locked txn", 0.75)], 150.0),
        ),
    ]


def rates(runs: list[dict]) -> str:
    return " / ".join(f"{run['rps']:.0f}" for run in runs)


def cpus(runs: list[dict]) -> str:
    return " / ".join(f"{run['cpu_us']:.0f}" for run in runs)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of endpoint and references")
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--server", choices=["production", "gunicorn"], default="production",
        help="production: tradingrobot/ops/web.py (Granian); gunicorn: sync workers, for comparison",
    )  # fmt: skip
    parser.add_argument("--only", choices=["status", "market_data", "trade"], help="run one endpoint")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    django_setup()
    prepare_database(args.samples)
    headers = api_key_header()
    server = start_server(args.server, args.workers)
    SERVERS[BASE] = server.pid
    fastapi = None
    name = "Granian (tradingrobot/ops/web.py)" if args.server == "production" else "gunicorn sync"
    print(f"{name}: {args.workers} workers x 1 thread; load average {loadavg()}", flush=True)
    rows = []
    try:
        runs = runs_planned(headers)
        if args.only:
            runs = [run for run in runs if args.only in run[1]]
        for name, path, conns, lua, references, targets in runs:
            bases = {None: BASE}
            if any(ref[3] == "fastapi" for ref in references):
                fastapi, bases["fastapi"] = start_fastapi(status_payload(headers))
            wrk(path, conns, 2, headers, lua)  # warm-up
            for _, ref_path, ref_lua, ref_base in references:
                wrk(ref_path, conns, 2, headers, ref_lua, base=bases[ref_base])
            measured, refs = [], {ref[0]: [] for ref in references}
            loads = [loadavg()]
            for _ in range(args.rounds):  # alternating, so a change of the machine's load hits both sides
                measured.append(wrk(path, conns, args.duration, headers, lua))
                for ref_name, ref_path, ref_lua, ref_base in references:
                    refs[ref_name].append(wrk(ref_path, conns, args.duration, headers, ref_lua, base=bases[ref_base]))
                loads.append(loadavg())
            rows.append((name, conns, measured, refs, targets, loads))
            summary = ", ".join(f"{ref} {rates(rs)}" for ref, rs in refs.items())
            print(f"  {name}: {rates(measured)} req/s ({summary})", flush=True)
            if fastapi is not None:
                fastapi.send_signal(signal.SIGTERM)
                fastapi.wait(timeout=30)
                fastapi = None
    finally:
        for process in (server, fastapi):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
    fills, gap = reconcile()
    report(rows, fills, gap)


def report(rows: list, fills: int, gap: Decimal) -> None:
    print()
    print(f"{'endpoint':32} {'conns':>5} {'req/s':>12} {'p99 ms':>7} {'err':>4}  {'reference':12} {'req/s':>12}  ratio")
    for name, conns, measured, refs, (ratio_targets, max_p99), loads in rows:
        rps = rates(measured)
        p99 = max(m["p99"] for m in measured)
        errors = sum(m["errors"] for m in measured)
        first = True
        for ref_name, ref_runs in refs.items():
            ratios = [m["rps"] / r["rps"] if r["rps"] else 0.0 for m, r in zip(measured, ref_runs, strict=True)]
            ratio_text = " / ".join(f"{x:.2f}" for x in ratios)
            target = dict(ratio_targets).get(ref_name)
            verdict = ""
            if target is not None:
                ok = statistics.median(ratios) >= target and errors == 0
                if max_p99 is not None:
                    ok = ok and p99 <= max_p99
                extra = f", p99 <= {max_p99:.0f} ms" if max_p99 is not None else ""
                verdict = f"  target >= {target}x (median){extra}, 0 errors: {'PASS' if ok else 'NOT MET'}"
            lead = f"{name:32} {conns:>5} {rps:>12} {p99:>7.1f} {errors:>4}" if first else " " * 65
            ref_rps = rates(ref_runs)
            print(f"{lead}  {ref_name:12} {ref_rps:>12}  {ratio_text}{verdict}")
            first = False
        cpu_refs = ", ".join(f"{ref} {cpus(runs)}" for ref, runs in refs.items())
        print(f"{'':32} server CPU us per request (contention inflates it too): {cpus(measured)} ({cpu_refs})")
        print(f"{'':32} load average before / after each round: {' | '.join(loads)}")
    if any(row[0] == "POST /api/trade" for row in rows):
        print(f"trade fills: {fills}; lost updates (cash/position discrepancy): {gap}")


if __name__ == "__main__":
    main()
