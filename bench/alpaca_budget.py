"""Alpaca request budget: orders sent through the Alpaca broker's client (alpaca-py's TradingClient on the budgeted
session) to the fake Alpaca on loopback, as fast as the caller can.

    .venv/bin/python bench/alpaca_budget.py [--orders 240] [--per-minute 200] [--ceiling-seconds 5]

Prints the most requests the fake received in any 60 s (the figure; Alpaca's limit is 200 per minute per account)
beside the ceiling measured in the same run: the same client without the budget, in requests per minute.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingrobot.test_settings")

import django  # noqa: E402

django.setup()

from alpaca.trading.enums import OrderSide, TimeInForce  # noqa: E402
from alpaca.trading.requests import MarketOrderRequest  # noqa: E402
from django.conf import settings  # noqa: E402

from integration.alpaca_broker import _BudgetSession, trading_client_build  # noqa: E402
from tests import scratch  # noqa: E402
from tests.alpaca.fake_alpaca import KEY_ID, SECRET, FakeAlpaca  # noqa: E402


def most_in_window(arrivals: list[float], window: float = 60.0) -> int:
    best, start = 0, 0
    for end, at in enumerate(arrivals):
        while at - arrivals[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def order(n: int) -> MarketOrderRequest:
    return MarketOrderRequest(
        symbol="TSLA", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, client_order_id=f"bench-{n}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=240)
    parser.add_argument("--per-minute", type=int, default=200)
    parser.add_argument("--ceiling-seconds", type=float, default=5.0)
    args = parser.parse_args()
    ports = range(9300, 9400)
    http_port = scratch.free_port(ports)
    fake = FakeAlpaca(http_port, scratch.free_port(ports, {http_port}))
    fake.auto_fill = False
    settings.ALPACA_API_KEY_ID, settings.ALPACA_API_SECRET_KEY = KEY_ID, SECRET
    settings.ALPACA_TRADING_URL = fake.url
    settings.ALPACA_REQUESTS_PER_MINUTE = args.per_minute
    client = trading_client_build()

    unbudgeted = trading_client_build()
    unbudgeted._session = _BudgetSession(per_minute=10**9)
    started, sent = time.monotonic(), 0
    while time.monotonic() - started < args.ceiling_seconds:
        unbudgeted.submit_order(order(10**6 + sent))
        sent += 1
    ceiling = sent / (time.monotonic() - started) * 60

    fake.arrivals.clear()
    started = time.monotonic()
    for n in range(args.orders):
        client.submit_order(order(n))
    elapsed = time.monotonic() - started
    worst = most_in_window(fake.arrivals)
    fake.close()
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")
    print(f"ceiling (no budget): {ceiling:.0f} order requests/min")
    print(
        f"budget {args.per_minute}/min: {args.orders} orders in {elapsed:.1f} s; most in any 60 s: {worst} "
        f"(limit {args.per_minute}) -> {'PASS' if worst <= args.per_minute else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
