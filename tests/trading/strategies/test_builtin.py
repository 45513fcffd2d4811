"""The built-in kinds: each rule checked against an independent plain-Python computation, and each
`decide_all` equal to calling `on_bar` bar by bar."""

import datetime as dt
import math
import statistics
from decimal import Decimal

import numpy as np
import pytest

from market import indicators as ind
from market.selectors import BarView
from trading.strategies import Bars, Context, StrategyParamsInvalid, Target, decisions_over, kind_get

from .series import random_bars

CASES = [
    ("sma_crossover", {"fast": 3, "slow": 8}),
    ("sma_crossover", {"fast": 10, "slow": 30}),
    ("rsi_reversion", {"period": 5, "lower": 35, "upper": 65}),
    ("rsi_reversion", {"period": 14, "lower": 40, "upper": 60}),
    ("donchian_breakout", {"entry": 20, "exit": 10}),
    ("donchian_breakout", {"entry": 3, "exit": 7}),
    ("buy_and_hold", {}),
]


@pytest.mark.parametrize(("kind", "params"), CASES)
@pytest.mark.parametrize("position", [Decimal(0), Decimal(7)])
@pytest.mark.parametrize("seed", [1, 2])
def test_decide_all_equals_on_bar_bar_by_bar(kind, params, position, seed):
    bars = random_bars(700, seed=seed, vol=0.02)
    vectorized = decisions_over(kind, params, bars, position=position)
    stepwise = decisions_over(kind, params, bars, position=position, vectorized=False)
    assert len(vectorized) == len(bars)
    assert vectorized == stepwise
    assert {d.target for d in vectorized if d} == ({Target.LONG} if kind == "buy_and_hold" else set(Target))


def targets(decisions) -> list[str | None]:
    return [None if d is None else str(d.target) for d in decisions]


def test_sma_crossover_against_plain_means():
    bars = random_bars(500, seed=5)
    close = bars.close.tolist()
    expected = [None] * 29 + [
        "long" if statistics.fmean(close[t - 9 : t + 1]) > statistics.fmean(close[t - 29 : t + 1]) else "flat"
        for t in range(29, 500)
    ]
    decisions = decisions_over("sma_crossover", {"fast": 10, "slow": 30}, bars)
    assert targets(decisions) == expected
    last = decisions[-1].indicators
    assert math.isclose(last["sma_fast"], statistics.fmean(close[-10:]), rel_tol=1e-12)
    assert math.isclose(last["sma_slow"], statistics.fmean(close[-30:]), rel_tol=1e-12)
    assert last["close"] == close[-1]


def test_rsi_reversion_against_the_incremental_rsi():
    bars = random_bars(800, seed=6, vol=0.02)
    kind = kind_get(kind="rsi_reversion")
    warmup = kind.warmup_bars(kind.Params(period=6))
    rsi, long, expected = ind.Rsi(6), False, []
    for t, close in enumerate(bars.close.tolist()):
        value = rsi.update(close)
        if t < warmup - 1:
            expected.append(None)
            continue
        long = True if value < 30 else False if value > 70 else long
        expected.append("long" if long else "flat")
    decisions = decisions_over("rsi_reversion", {"period": 6}, bars)
    assert targets(decisions) == expected
    reasons = {d.reason for d in decisions if d}
    assert reasons == {
        "RSI below lower: oversold",
        "RSI above upper: overbought",
        "RSI between lower and upper: stay long",
        "RSI between lower and upper: stay flat",
    }


def test_donchian_breakout_against_plain_max_min():
    bars = random_bars(600, seed=7)
    high, low, close = bars.high.tolist(), bars.low.tolist(), bars.close.tolist()
    long, expected = False, [None] * 20
    for t in range(20, 600):
        if close[t] > max(high[t - 20 : t]):
            long = True
        elif close[t] < min(low[t - 10 : t]):
            long = False
        expected.append("long" if long else "flat")
    decisions = decisions_over("donchian_breakout", {"entry": 20, "exit": 10}, bars)
    assert targets(decisions) == expected
    assert decisions[-1].indicators == {"upper": max(high[-21:-1]), "lower": min(low[-11:-1]), "close": close[-1]}


def test_a_held_position_is_kept_between_the_thresholds():
    kind = kind_get(kind="rsi_reversion")
    params = kind.Params(period=2, lower=10.0, upper=90.0)
    flat = np.full(5, 100.0)
    bars = Bars(
        np.arange(5) * np.timedelta64(60, "s") + np.datetime64("2025-01-02T15:00"), flat, flat, flat, flat, flat
    )
    assert kind.on_bar(Context(bars, Decimal(3), params)).target == Target.LONG
    assert kind.on_bar(Context(bars, Decimal(0), params)).target == Target.FLAT
    assert kind.on_bar(Context(bars, Decimal(0), params)).indicators == {"rsi": 50.0, "close": 100.0}


def test_buy_and_hold_is_long_from_the_first_bar():
    bars = random_bars(3, seed=1)
    assert targets(decisions_over("buy_and_hold", None, bars)) == ["long", "long", "long"]


def test_warmup_lengths_and_short_series():
    assert kind_get(kind="sma_crossover").warmup_bars(kind_get(kind="sma_crossover").Params(fast=5, slow=50)) == 50
    assert kind_get(kind="donchian_breakout").warmup_bars(kind_get(kind="donchian_breakout").Params(5, 9)) == 10
    rsi = kind_get(kind="rsi_reversion")
    assert rsi.warmup_bars(rsi.Params()) == ind.warmup_bars("rsi", 14) == 388
    assert decisions_over("sma_crossover", {}, random_bars(29, seed=1)) == [None] * 29
    assert decisions_over("sma_crossover", {}, random_bars(0, seed=1)) == []
    assert decisions_over("sma_crossover", {}, random_bars(30, seed=1))[-1] is not None


def test_decisions_over_validates_raw_params():
    with pytest.raises(StrategyParamsInvalid, match="fast: must be less than slow"):
        decisions_over("sma_crossover", {"fast": 50, "slow": 20}, random_bars(10, seed=1))


def test_bars_are_read_only_and_checked():
    bars = random_bars(10, seed=1)
    with pytest.raises(ValueError, match="read-only"):
        bars.close[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        bars.upto(5).high[0] = 1.0
    assert len(bars.upto(4)) == 4 and bars.upto(4).close.tolist() == bars.close[:4].tolist()
    stamps = bars.timestamps.copy()
    with pytest.raises(ValueError, match="equal length"):
        Bars(stamps, bars.open, bars.high, bars.low, bars.close[:-1], bars.volume)
    with pytest.raises(ValueError, match="strictly increasing"):
        Bars(stamps[::-1], bars.open, bars.high, bars.low, bars.close, bars.volume)
    source = np.arange(10.0)
    copied = Bars(stamps, source, source, source, source, source)
    source[0] = 99.0
    assert copied.close[0] == 0.0


def test_bars_from_selector_rows():
    at = dt.datetime(2025, 12, 16, 15, 30, tzinfo=dt.UTC)
    rows = [
        BarView(at, Decimal("1.5"), Decimal("2"), Decimal("1"), Decimal("1.75"), 100),
        BarView(at + dt.timedelta(minutes=5), Decimal("1.75"), Decimal("2"), Decimal("1.5"), Decimal("1.9"), None),
    ]
    bars = Bars.from_rows(rows)
    assert bars.timestamps.tolist() == [dt.datetime(2025, 12, 16, 15, 30), dt.datetime(2025, 12, 16, 15, 35)]
    assert bars.close.tolist() == [1.75, 1.9]
    assert bars.volume[0] == 100.0 and math.isnan(bars.volume[1])
