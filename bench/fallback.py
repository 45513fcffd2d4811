"""Fallback market data over a simulated trading session: WordPress (the devfeed) goes down and comes back.

    .venv/bin/python bench/fallback.py [--outages 3:4,25:2,45:8] [--rate-limit-at 48]

One regular session (XNYS, 2025-12-16 14:30-21:00 UTC, 78 polls five minutes apart, the clock frozen between
polls): the devfeed and the Yahoo/Alpaca stand-ins (tests/integration/market_data_fake.py, the fixtures' answer
shapes) are real HTTP servers on loopback; MARKET_DATA_FALLBACK=alpaca,yahoo; each outage (first poll:length)
puts the devfeed in fault mode `http500`; at `--rate-limit-at` Alpaca answers 429 (Yahoo takes over). PostgreSQL
(BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/tr_fallback_bench, made afresh), cache in process.
Prints each figure beside its ceiling (the issue's, or the poll target of bench/backfill.py):
  - poll cycles from WordPress down to fallback samples stored (<= 2), and back to WordPress (<= 1);
  - the largest gap between two 5-minute bars of a symbol (<= 10 min; 5 min = no bar missing);
  - duplicate (symbol, timestamp) rows (0);
  - requests per symbol per source in one poll (<= 1);
  - time of a fallback round (asking, parsing, storing; loopback HTTP included), median and max (<= 50 ms);
  - requests a whole-session outage would spend per source, from the measured rate (<= MARKET_DATA_DAILY_CAP).
"""

import argparse
import datetime as dt
import itertools
import os
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tr_fallback_bench")
OPEN = dt.datetime(2025, 12, 16, 14, 30, tzinfo=dt.UTC)
POLLS = 78
STEP = dt.timedelta(minutes=5)

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
        "DATABASE_URL": DATABASE_URL,
        "SECRET_KEY": "bench-only-not-a-secret",
        "WP_TIMEZONE": "",
        "WP_CACHE_PREFIX": f"wp-fallback-bench-{os.getpid()}",
        "TRADING_CALENDAR": "XNYS",
        "LOG_LEVEL": "ERROR",
    }
)
os.environ.pop("REDIS_URL", None)


def database_create() -> None:
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def outages_parse(text: str) -> list[tuple[int, int]]:
    spans = [tuple(int(n) for n in part.split(":")) for part in text.split(",")]
    return [(first, length) for first, length in spans]


def _request_key(path: str) -> str:
    """A request's source and symbol(s): Yahoo names its symbol in the path, Alpaca in `symbols=`."""
    parts = urlsplit(path)
    symbols = parse_qs(parts.query).get("symbols", [""])[0]
    return f"{parts.path} {symbols}".strip()


def session_run(outages: list[tuple[int, int]], rate_limit_at: int) -> dict:
    import requests
    import time_machine
    from django.db.models import Count
    from django.test import override_settings

    from integration.devfeed import server_build
    from integration.services import stock_data_poll
    from integration.sources.fallback import active_source_get
    from market.models import Bar, PriceSample
    from tests.integration.market_data_fake import FakeMarketData, server_start

    feed = server_build(host="127.0.0.1", port=0, zone="America/New_York")
    threading.Thread(target=feed.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    fake = FakeMarketData(follow_clock=True)
    fake_server = server_start(fake)
    fake.answer("/v8/finance/chart/", 200, "yahoo/chart_ok.json")
    fake.answer("/v2/stocks/bars/latest", 200, "alpaca/bars_latest_ok.json")
    fake.answer("/v2/stocks/bars", 200, "alpaca/bars_ok.json")
    down = {first + i for first, length in outages for i in range(length)}
    overrides = {
        "WP_BASE_URL": f"http://127.0.0.1:{feed.server_address[1]}",
        "WP_RETRIES": 1,
        "WP_BACKOFF_SECONDS": 0.05,
        "WP_BACKOFF_JITTER_SECONDS": 0.05,
        "WP_BACKOFF_MAX_SECONDS": 0.2,
        "WP_READ_TIMEOUT": 5.0,
        "YAHOO_BASE_URL": fake.url,
        "ALPACA_DATA_URL": fake.url,
        "ALPACA_API_KEY_ID": "bench-key",
        "ALPACA_API_SECRET_KEY": "bench-secret",
        "MARKET_DATA_FALLBACK": ["alpaca", "yahoo"],
    }
    per_poll: list[dict] = []
    round_ms: list[float] = []
    robot_ms: list[float] = []
    http_ms = [0.0]  # time inside HTTP calls to the fallbacks' stand-in during the current poll
    send = requests.Session.send

    def timed_send(self, request, **kwargs):
        started = time.perf_counter()
        try:
            return send(self, request, **kwargs)
        finally:
            if request.url.startswith(fake.url):
                http_ms[0] += (time.perf_counter() - started) * 1000

    requests.Session.send = timed_send  # bench-only instrument: the robot's time is the round minus this
    try:
        with override_settings(**overrides), time_machine.travel(OPEN, tick=False) as clock:
            from django.conf import settings

            cap, stale = settings.MARKET_DATA_DAILY_CAP, settings.MARKET_DATA_STALE_SECONDS
            for index in range(POLLS):
                feed.feed.state.fault = "http500" if index in down else "ok"
                if index == rate_limit_at:
                    fake.answer("/v2/stocks/bars/latest", 429, "alpaca/error_429.json")
                seen_before = len(fake.seen)
                http_ms[0] = 0.0
                report = stock_data_poll()
                sources = Counter(_request_key(p) for p in fake.seen[seen_before:])
                fallback = report.fallback or {}
                if "seconds" in fallback:
                    round_ms.append(fallback["seconds"] * 1000)
                    robot_ms.append(fallback["seconds"] * 1000 - http_ms[0])
                per_poll.append(
                    {
                        "index": index,
                        "down": index in down,
                        "fed_by": fallback.get("source") or ("wordpress" if report.ok else None),
                        "active": active_source_get()["source"],
                        "paths": sources,
                    }
                )
                clock.shift(STEP)
        gaps = {}
        for ticker in ("NVDA", "QQQ", "SPY", "TSLA"):
            starts = list(
                Bar.objects.filter(symbol__ticker=ticker, timeframe="5Min")
                .order_by("start")
                .values_list("start", flat=True)
            )
            gaps[ticker] = max((b - a for a, b in itertools.pairwise(starts)), default=dt.timedelta(0))
        duplicates = (
            PriceSample.objects.values("symbol_id", "timestamp").annotate(n=Count("id")).filter(n__gt=1).count()
        )
        by_source = Counter(PriceSample.objects.values_list("source", flat=True))
    finally:
        requests.Session.send = send
        feed.stop()
        fake_server.shutdown()
        fake_server.server_close()

    switch_cycles, back_cycles = [], []
    for first, length in outages:
        fed = [p for p in per_poll[first : first + length] if p["fed_by"] not in (None, "wordpress")]
        switch_cycles.append(fed[0]["index"] - first + 1 if fed else None)
        after = [p for p in per_poll[first + length :] if p["active"] == "wordpress"]
        back_cycles.append(after[0]["index"] - (first + length) + 1 if after else None)
    # A path names its symbol (Yahoo: /v8/finance/chart/TSLA) or covers them all (Alpaca's bars/latest): the
    # most requests one path got in one poll is the most one symbol got from one source.
    per_symbol = max((count for poll in per_poll for count in poll["paths"].values()), default=0)
    down_polls = [p for p in per_poll if p["down"]]
    spent = Counter()
    for poll in down_polls:
        for path, count in poll["paths"].items():
            spent["alpaca" if path.startswith("/v2/") else "yahoo"] += count
    full_day = {name: round(n / max(len(down_polls), 1) * POLLS) for name, n in spent.items()}
    return {
        "switch_cycles": switch_cycles,
        "back_cycles": back_cycles,
        "largest_gap_min": max(g.total_seconds() / 60 for g in gaps.values()),
        "gaps_min": {t: g.total_seconds() / 60 for t, g in gaps.items()},
        "duplicates": duplicates,
        "requests_per_symbol_per_source_per_poll": per_symbol,
        "round_ms": round_ms,
        "robot_ms": robot_ms,
        "full_day_requests": full_day,
        "daily_cap": cap,
        "stale_seconds": stale,
        "samples_by_source": dict(by_source),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outages", default="3:4,25:2,45:8", help="first poll:length, comma-separated")
    parser.add_argument("--rate-limit-at", type=int, default=48, help="the poll at which Alpaca starts to answer 429")
    args = parser.parse_args()
    database_create()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with open("/proc/loadavg") as load:
        before = load.read().split()[:3]
    result = session_run(outages_parse(args.outages), args.rate_limit_at)
    with open("/proc/loadavg") as load:
        after = load.read().split()[:3]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT MET"

    switch = [c for c in result["switch_cycles"] if c is not None]
    back = [c for c in result["back_cycles"] if c is not None]
    switch_ok = len(switch) == len(result["switch_cycles"]) and max(switch) <= 2
    back_ok = len(back) == len(result["back_cycles"]) and max(back) <= 1
    rounds, robot = sorted(result["round_ms"]), sorted(result["robot_ms"])
    print(f"session: {POLLS} polls, outages {args.outages}, Alpaca 429 from poll {args.rate_limit_at}")
    print(f"load average before {' '.join(before)}, after {' '.join(after)}")
    print(f"switch to a fallback: {result['switch_cycles']} poll cycles   ceiling 2   {verdict(switch_ok)}")
    print(f"back to WordPress:    {result['back_cycles']} poll cycles   ceiling 1   {verdict(back_ok)}")
    gap = result["largest_gap_min"]
    print(f"largest 5-min bar gap: {gap:g} min {result['gaps_min']}   ceiling 10 min   {verdict(gap <= 10)}")
    print(f"duplicate rows: {result['duplicates']}   ceiling 0   {verdict(result['duplicates'] == 0)}")
    per = result["requests_per_symbol_per_source_per_poll"]
    print(f"requests per symbol per source per poll: {per:g}   ceiling 1   {verdict(per <= 1)}")
    print(
        f"fallback round, robot time (round minus its loopback HTTP): median {statistics.median(robot):.1f} ms, "
        f"max {robot[-1]:.1f} ms over {len(robot)} rounds   ceiling 50 ms   {verdict(robot[-1] <= 50)}"
    )
    wall = f"median {statistics.median(rounds):.1f} ms, max {rounds[-1]:.1f} ms"
    print(f"fallback round, wall time with loopback HTTP: {wall}")
    cap = result["daily_cap"]
    full = result["full_day_requests"]
    print(
        f"a whole-session outage spends {full} requests   ceiling {cap} a day per source   "
        f"{verdict(all(n <= cap for n in full.values()))}"
    )
    print(f"samples by source: {result['samples_by_source']}")


if __name__ == "__main__":
    main()
