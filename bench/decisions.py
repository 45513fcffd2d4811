"""Strategy evaluation benchmark: `decisions_over` for each built-in kind on 2 years x 4 symbols of synthetic
5-minute bars (about 155,000 bars), what a backtest asks of it.

    .venv/bin/python bench/decisions.py [--years 2] [--seed 7] [--stepwise-bars 3000]

Prints per kind the wall (and CPU) time of `decisions_over` over all symbols (vectorized `decide_all`) beside the target
(a few seconds: 3 s), and, in the same run and on the same data, the bar-by-bar `on_bar` path timed on the first
`--stepwise-bars` bars of each symbol and extrapolated linearly (a floor for it: its cost per bar grows with
the history for recursive indicators), plus TA-Lib computing the kind's indicators alone (the cost of the
arithmetic without the per-bar decisions).
"""

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingrobot.test_settings")

TARGET_S = 3.0
SYMBOLS = ["TSLA", "QQQ", "SPY", "NVDA"]
KINDS = [
    ("sma_crossover", {"fast": 10, "slow": 30}),
    ("rsi_reversion", {"period": 14, "lower": 30, "upper": 70}),
    ("donchian_breakout", {"entry": 20, "exit": 10}),
    ("buy_and_hold", {}),
]


def talib_only(kind: str, params: dict, bars) -> None:
    import talib

    if kind == "sma_crossover":
        talib.SMA(bars.close, params["fast"])
        talib.SMA(bars.close, params["slow"])
    elif kind == "rsi_reversion":
        talib.RSI(bars.close, params["period"])
    elif kind == "donchian_breakout":
        talib.MAX(bars.high, params["entry"])
        talib.MIN(bars.low, params["exit"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stepwise-bars", type=int, default=3000)
    args = parser.parse_args()

    import django

    django.setup()
    from market.synthetic import synthetic_bars, synthetic_samples
    from trading.strategies import decisions_over

    end = dt.date(2026, 11, 30)
    start = end - dt.timedelta(days=round(365.25 * args.years))
    began = time.perf_counter()
    samples = synthetic_samples(symbols=SYMBOLS, start=start, end=end, seed=args.seed, step_minutes=5)
    series = {symbol: synthetic_bars(s, timeframe="5Min") for symbol, s in samples.items()}
    generated = time.perf_counter() - began
    total = sum(len(b) for b in series.values())
    print(f"synthetic 5Min bars: {total:,} ({len(SYMBOLS)} symbols, {start} to {end}) generated in {generated:.2f} s")
    print(
        f"{'kind':<18} {'decisions_over':>15} {'(cpu)':>8} {'target':>7} {'bars/s':>10} "
        f"{'on_bar (extrap.)':>17} {'TA-Lib':>11}"
    )
    worst = 0.0
    for kind, params in KINDS:
        began, cpu = time.perf_counter(), time.process_time()
        made = sum(sum(d is not None for d in decisions_over(kind, params, b)) for b in series.values())
        took, cpu = time.perf_counter() - began, time.process_time() - cpu
        worst = max(worst, took)
        began = time.perf_counter()
        for b in series.values():
            decisions_over(kind, params, b.upto(args.stepwise_bars), vectorized=False)
        stepwise = (time.perf_counter() - began) * total / (args.stepwise_bars * len(series))
        began = time.perf_counter()
        for b in series.values():
            talib_only(kind, params, b)
        arithmetic = time.perf_counter() - began
        print(
            f"{kind:<18} {took:>13.3f} s {cpu:>6.2f} s {TARGET_S:>5.1f} s {total / took:>10,.0f} {stepwise:>15.2f} s "
            f"{arithmetic:>10.4f} s   ({made:,} decisions)"
        )
    verdict = "OK" if worst <= TARGET_S else "MISSED"
    print(f"slowest kind: {worst:.3f} s for {total:,} bars (target <= {TARGET_S:.1f} s): {verdict}")


if __name__ == "__main__":
    main()
