"""Random OHLC bars for strategy tests: a geometric walk with a little noise inside each bar."""

import numpy as np

from trading.strategies import Bars


def random_bars(n: int, *, seed: int, vol: float = 0.01, start: float = 100.0) -> Bars:
    rng = np.random.default_rng(seed)
    close = start * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    open_ = np.concatenate(([start], close[:-1]))[:n]
    wiggle = close * np.abs(rng.normal(0.0, vol / 2, n))
    high = np.maximum(open_, close) + wiggle
    low = np.minimum(open_, close) - wiggle
    stamps = np.datetime64("2025-01-02T14:30:00", "s") + np.arange(n) * np.timedelta64(300, "s")
    volume = rng.integers(100, 10_000, n).astype(float)
    return Bars(stamps, open_, high, low, close, volume)
