"""Indicators: vectorized = incremental, both = TA-Lib to 1e-9 after warm-up, warm-up long enough."""

import math

import numpy as np
import pytest
import talib

from market import indicators as ind

TOL = 1e-9


def walk(n: int, seed: int, start: float = 250.0, vol: float = 0.01):
    rng = np.random.default_rng(seed)
    close = start * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    spread = close * np.abs(rng.normal(0.0, vol / 2, n))
    high = close + spread * rng.uniform(0.0, 1.0, n)
    low = close - spread * rng.uniform(0.0, 1.0, n)
    return high, low, close


def close_enough(actual, expected, *, start: int) -> None:
    """Same NaN positions; equal to TOL (relative above 1) from `start` on."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    assert np.array_equal(np.isnan(actual), np.isnan(expected))
    a, e = actual[start:], expected[start:]
    assert np.all(np.abs(a - e) <= TOL * np.maximum(1.0, np.abs(e))), float(np.max(np.abs(a - e)))


def incremental(cls_args, feed):
    obj = cls_args[0](*cls_args[1:])
    return np.array([obj.update(*bar) for bar in feed], dtype=object)


PERIODS = [1, 2, 3, 5, 14, 20, 50]
SERIES = [walk(3000, seed) for seed in (1, 2)]


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("series", SERIES, ids=["walk1", "walk2"])
def test_against_talib(period, series):
    high, low, close = series
    warm = {name: ind.warmup_bars(name, period) for name in ("sma", "ema", "rsi", "atr", "bollinger", "donchian")}
    close_enough(ind.sma(close, period), talib.SMA(close, period), start=warm["sma"] - 1)
    close_enough(ind.ema(close, period), talib.EMA(close, period), start=warm["ema"] - 1)
    donchian = ind.donchian(high, low, period)
    if period == 1:  # TA-Lib refuses period 1 for BBANDS, MAX, MIN, RSI and ATR
        assert np.array_equal(donchian.upper, high) and np.array_equal(donchian.lower, low)
        return
    close_enough(donchian.upper, talib.MAX(high, period), start=period - 1)
    close_enough(donchian.lower, talib.MIN(low, period), start=period - 1)
    for got, want in zip(ind.bollinger(close, period, 2.0), talib.BBANDS(close, period, 2.0, 2.0, 0), strict=True):
        close_enough(got, want, start=warm["bollinger"] - 1)
    close_enough(ind.rsi(close, period), talib.RSI(close, period), start=warm["rsi"] - 1)
    close_enough(ind.atr(high, low, close, period), talib.ATR(high, low, close, period), start=warm["atr"] - 1)


@pytest.mark.parametrize("period", PERIODS)
def test_vectorized_equals_incremental(period):
    high, low, close = SERIES[0]
    closes = [(c,) for c in close]
    bars = list(zip(high, low, close, strict=True))
    pairs = [
        (ind.sma(close, period), incremental((ind.Sma, period), closes)),
        (ind.ema(close, period), incremental((ind.Ema, period), closes)),
        (ind.rsi(close, period), incremental((ind.Rsi, period), closes)),
        (ind.atr(high, low, close, period), incremental((ind.Atr, period), bars)),
    ]
    bands = incremental((ind.Bollinger, period, 2.0), closes)
    pairs += [(v, np.array([b[k] for b in bands])) for k, v in enumerate(ind.bollinger(close, period, 2.0))]
    channels = incremental((ind.Donchian, period), list(zip(high, low, strict=True)))
    pairs += [(v, np.array([c[k] for c in channels])) for k, v in enumerate(ind.donchian(high, low, period))]
    for vectorized, stepwise in pairs:
        stepwise = stepwise.astype(np.float64)
        assert np.array_equal(np.isnan(vectorized), np.isnan(stepwise))
        ok = ~np.isnan(vectorized)
        assert np.allclose(vectorized[ok], stepwise[ok], rtol=1e-12, atol=0.0)


@pytest.mark.parametrize("period", [2, 5, 14, 20, 50, 200, 500])
@pytest.mark.parametrize("name", ["sma", "ema", "rsi", "atr", "bollinger", "donchian"])
def test_warmup_makes_the_seed_irrelevant(name, period):
    n = ind.warmup_bars(name, period)
    high, low, close = walk(2 * n, seed=period, vol=0.02)

    def last(sl):
        if name == "atr":
            return ind.atr(high[sl], low[sl], close[sl], period)[-1]
        if name == "bollinger":
            return ind.bollinger(close[sl], period).upper[-1]
        if name == "donchian":
            return ind.donchian(high[sl], low[sl], period).lower[-1]
        return getattr(ind, name)(close[sl], period)[-1]

    with_n, with_2n = last(slice(n, None)), last(slice(None))
    assert not math.isnan(with_n)
    assert abs(with_n - with_2n) <= TOL
    if name in ("ema", "rsi", "atr"):  # and a shorter warm-up would not have been enough
        short = max(period + 1, n // 4)
        assert abs(last(slice(2 * n - short, None)) - with_2n) > TOL


def test_rsi_flat_series_is_neutral_and_short_series_are_nan():
    flat = np.full(30, 100.0)
    assert ind.rsi(flat, 14)[-1] == 50.0
    stepwise = ind.Rsi(14)
    assert [stepwise.update(100.0) for _ in range(30)][-1] == 50.0
    assert np.isnan(ind.rsi(np.arange(14.0), 14)).all()
    assert np.isnan(ind.sma([1.0, 2.0], 3)).all()
    assert ind.ema([], 3).shape == (0,)
    rising = ind.rsi(np.arange(1.0, 40.0), 14)
    assert rising[-1] == 100.0


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_bad_period_is_refused(bad):
    with pytest.raises(ValueError, match="period must be a whole number"):
        ind.sma([1.0, 2.0, 3.0], bad)
    with pytest.raises(ValueError, match="period must be a whole number"):
        ind.Ema(bad)


def test_numpy_whole_numbers_are_periods():
    assert ind.sma(np.arange(4.0), np.int64(2))[-1] == 2.5


def test_unknown_indicator_warmup():
    with pytest.raises(ValueError, match="unknown indicator 'macd'"):
        ind.warmup_bars("macd", 12)
