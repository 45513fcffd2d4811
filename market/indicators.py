"""Technical indicators, each in two forms that give the same numbers.

- Vectorized: a whole series (numpy float64) in, an array of the same length out, NaN until the indicator
  has enough bars (TA-Lib's lookback: SMA(p) starts at index p-1, EMA(p) at p-1, RSI(p) at p, ATR(p) at p).
- Incremental: a small object fed one bar at a time with `update(...)`, returning the value for that bar.

The numbers follow TA-Lib's definitions (EMA and Wilder averages seeded by the simple mean of the first
`period` values; population standard deviation for Bollinger bands) and are golden-tested against it.
One deliberate difference: RSI is 50 (not TA-Lib's 0) when neither gains nor losses exist yet.

`warmup_bars(name, period)` is how many bars an indicator needs before its last value no longer depends on
where the series started: for EMA, RSI and ATR, the seed's weight has decayed below 1e-12 by then.
"""

import math
from collections import deque
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

SEED_WEIGHT = 1e-12
RSI_NEUTRAL = 50.0


def _as_array(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)


def _check_period(period: int, minimum: int = 1) -> None:
    if not isinstance(period, int | np.integer) or isinstance(period, bool) or period < minimum:
        raise ValueError(f"period must be a whole number >= {minimum}, got {period!r}")


def _decay_bars(factor: float) -> int:
    """Bars after which an initial value weighted by `factor` per bar weighs less than SEED_WEIGHT."""
    if factor <= 0.0:
        return 0
    return math.ceil(math.log(SEED_WEIGHT) / math.log(factor))


def warmup_bars(name: str, period: int) -> int:
    """Closed bars an indicator needs so that its last value is independent of the series' start (to 1e-9)."""
    _check_period(period)
    if name in ("sma", "bollinger", "donchian"):
        return period
    if name == "ema":
        return period + _decay_bars(1.0 - 2.0 / (period + 1))
    if name in ("rsi", "atr"):
        return period + 1 + _decay_bars(1.0 - 1.0 / period)
    raise ValueError(f"unknown indicator {name!r}; known: sma, ema, rsi, atr, bollinger, donchian")


# --- vectorized ---------------------------------------------------------------------------------------------


def sma(values, period: int) -> np.ndarray:
    _check_period(period)
    x = _as_array(values)
    out = np.full(x.shape, np.nan)
    if len(x) >= period:
        out[period - 1 :] = sliding_window_view(x, period).sum(axis=1) / period
    return out


def _smooth(x: np.ndarray, first: int, period: int, alpha: float) -> np.ndarray:
    """out[first] = mean(x[first-period+1 : first+1]); then out[t] = out[t-1] + alpha * (x[t] - out[t-1])."""
    out = np.full(x.shape, np.nan)
    if len(x) <= first:
        return out
    value = float(np.sum(x[first - period + 1 : first + 1])) / period
    out[first] = value
    keep = 1.0 - alpha
    tail = x[first + 1 :].tolist()
    result = [0.0] * len(tail)
    for i, item in enumerate(tail):
        value = keep * value + alpha * item
        result[i] = value
    out[first + 1 :] = result
    return out


def ema(values, period: int) -> np.ndarray:
    _check_period(period)
    return _smooth(_as_array(values), period - 1, period, 2.0 / (period + 1))


def _wilder(x: np.ndarray, first: int, period: int) -> np.ndarray:
    """Wilder's average as TA-Lib computes it: seeded by the mean, then (prev * (p - 1) + x) / p."""
    out = np.full(x.shape, np.nan)
    if len(x) <= first:
        return out
    value = float(np.sum(x[first - period + 1 : first + 1])) / period
    out[first] = value
    keep = period - 1
    tail = x[first + 1 :].tolist()
    result = [0.0] * len(tail)
    for i, item in enumerate(tail):
        value = (value * keep + item) / period
        result[i] = value
    out[first + 1 :] = result
    return out


def _rsi_from(gain: np.ndarray, loss: np.ndarray) -> np.ndarray:
    total = gain + loss
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 100.0 * gain / total
    return np.where(total == 0.0, RSI_NEUTRAL, out)


def rsi(values, period: int) -> np.ndarray:
    """Wilder's RSI; the first value is at index `period`."""
    _check_period(period)
    x = _as_array(values)
    if len(x) <= period:
        return np.full(x.shape, np.nan)
    diff = np.concatenate(([np.nan], np.diff(x)))
    gain = _wilder(np.maximum(diff, 0.0), period, period)
    loss = _wilder(np.maximum(-diff, 0.0), period, period)
    return _rsi_from(gain, loss)


def true_range(high, low, close) -> np.ndarray:
    h, lo, c = _as_array(high), _as_array(low), _as_array(close)
    out = np.full(h.shape, np.nan)
    if len(h) > 1:
        prev = c[:-1]
        out[1:] = np.maximum.reduce([h[1:] - lo[1:], np.abs(h[1:] - prev), np.abs(lo[1:] - prev)])
    return out


def atr(high, low, close, period: int) -> np.ndarray:
    """Average true range (Wilder); the first value is at index `period`."""
    _check_period(period)
    return _wilder(true_range(high, low, close), period, period)


class Bands(NamedTuple):
    upper: np.ndarray
    middle: np.ndarray
    lower: np.ndarray


def bollinger(values, period: int = 20, width: float = 2.0) -> Bands:
    """SMA ± width * population standard deviation over `period` values."""
    _check_period(period)
    x = _as_array(values)
    middle = sma(x, period)
    std = np.full(x.shape, np.nan)
    if len(x) >= period:
        windows = sliding_window_view(x, period)
        mean = middle[period - 1 :]
        std[period - 1 :] = np.sqrt(np.sum((windows - mean[:, None]) ** 2, axis=1) / period)
    return Bands(middle + width * std, middle, middle - width * std)


def donchian(high, low, period: int) -> Bands:
    """Highest high and lowest low of the last `period` bars (this one included), and their midpoint."""
    _check_period(period)
    h, lo = _as_array(high), _as_array(low)
    upper = np.full(h.shape, np.nan)
    lower = np.full(h.shape, np.nan)
    if len(h) >= period:
        upper[period - 1 :] = sliding_window_view(h, period).max(axis=1)
        lower[period - 1 :] = sliding_window_view(lo, period).min(axis=1)
    return Bands(upper, (upper + lower) / 2.0, lower)


# --- incremental --------------------------------------------------------------------------------------------


class Sma:
    def __init__(self, period: int):
        _check_period(period)
        self.period = period
        self._window: deque[float] = deque(maxlen=period)

    def update(self, value: float) -> float:
        self._window.append(float(value))
        if len(self._window) < self.period:
            return math.nan
        return float(np.sum(np.fromiter(self._window, np.float64, self.period))) / self.period


class _Smoother:
    """Seeded by the mean of the first `period` inputs, then value += alpha * (x - value)."""

    def __init__(self, period: int, alpha: float, wilder: bool):
        self.period = period
        self.alpha = alpha
        self.wilder = wilder
        self._seed: list[float] = []
        self.value = math.nan

    def update(self, x: float) -> float:
        if len(self._seed) < self.period:
            self._seed.append(x)
            if len(self._seed) == self.period:
                self.value = float(np.sum(np.array(self._seed))) / self.period
            return self.value
        if self.wilder:
            self.value = (self.value * (self.period - 1) + x) / self.period
        else:
            self.value = (1.0 - self.alpha) * self.value + self.alpha * x
        return self.value


class Ema:
    def __init__(self, period: int):
        _check_period(period)
        self.period = period
        self._avg = _Smoother(period, 2.0 / (period + 1), wilder=False)

    def update(self, value: float) -> float:
        return self._avg.update(float(value))


class Rsi:
    def __init__(self, period: int):
        _check_period(period)
        self.period = period
        self._previous = math.nan
        self._gain = _Smoother(period, 1.0 / period, wilder=True)
        self._loss = _Smoother(period, 1.0 / period, wilder=True)

    def update(self, value: float) -> float:
        value = float(value)
        previous, self._previous = self._previous, value
        if math.isnan(previous):
            return math.nan
        diff = value - previous
        gain = self._gain.update(max(diff, 0.0))
        loss = self._loss.update(max(-diff, 0.0))
        if math.isnan(gain):
            return math.nan
        total = gain + loss
        return RSI_NEUTRAL if total == 0.0 else 100.0 * gain / total


class Atr:
    def __init__(self, period: int):
        _check_period(period)
        self.period = period
        self._previous_close = math.nan
        self._avg = _Smoother(period, 1.0 / period, wilder=True)

    def update(self, high: float, low: float, close: float) -> float:
        previous, self._previous_close = self._previous_close, float(close)
        if math.isnan(previous):
            return math.nan
        tr = max(high - low, abs(high - previous), abs(low - previous))
        return self._avg.update(float(tr))


class Band(NamedTuple):
    upper: float
    middle: float
    lower: float


class Bollinger:
    def __init__(self, period: int = 20, width: float = 2.0):
        _check_period(period)
        self.period = period
        self.width = width
        self._window: deque[float] = deque(maxlen=period)

    def update(self, value: float) -> Band:
        self._window.append(float(value))
        if len(self._window) < self.period:
            return Band(math.nan, math.nan, math.nan)
        window = np.fromiter(self._window, np.float64, self.period)
        middle = float(np.sum(window)) / self.period
        std = math.sqrt(float(np.sum((window - middle) ** 2)) / self.period)
        return Band(middle + self.width * std, middle, middle - self.width * std)


class Donchian:
    """Running max/min with monotonic deques: O(1) amortized per bar."""

    def __init__(self, period: int):
        _check_period(period)
        self.period = period
        self._count = 0
        self._highs: deque[tuple[int, float]] = deque()
        self._lows: deque[tuple[int, float]] = deque()

    def update(self, high: float, low: float) -> Band:
        i = self._count
        self._count += 1
        while self._highs and self._highs[-1][1] <= high:
            self._highs.pop()
        self._highs.append((i, float(high)))
        while self._lows and self._lows[-1][1] >= low:
            self._lows.pop()
        self._lows.append((i, float(low)))
        while self._highs[0][0] <= i - self.period:
            self._highs.popleft()
        while self._lows[0][0] <= i - self.period:
            self._lows.popleft()
        if self._count < self.period:
            return Band(math.nan, math.nan, math.nan)
        upper, lower = self._highs[0][1], self._lows[0][1]
        return Band(upper, (upper + lower) / 2.0, lower)
