"""Seeded synthetic prices on an exchange calendar (XNYS: regular hours, holidays, early closes).

Each symbol follows a geometric random walk sampled every `step_minutes` inside each session, from the open up
to (not including) the close, with an overnight gap between sessions. Prices have 4 decimals, as the price
store keeps them; `volume` is the cumulative volume of the session, as WordPress reports it. The same seed,
symbols, range and step give the same numbers; each symbol's stream depends only on the seed and its ticker.

`synthetic_bars` rolls samples into OHLCV bars the way the price store does (intraday buckets aligned on the
epoch, days on the exchange-local date; volume is the rise of the cumulative volume, the whole day's so far
for a day's first bar), so a backtest on generated bars sees what the store would serve after loading them.
"""

import datetime as dt
import functools
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from .bars import Bars

TRADING_MINUTES_PER_YEAR = 252 * 390
STEPS = (1, 5)
START_PRICES = {"TSLA": 250.0, "QQQ": 500.0, "SPY": 600.0, "NVDA": 140.0}
DEFAULT_START_PRICE = 100.0
INTRADAY_SECONDS = {"1Min": 60, "5Min": 300, "15Min": 900, "1Hour": 3600}


@dataclass(frozen=True)
class Sessions:
    opens: np.ndarray  # datetime64[s], UTC
    closes: np.ndarray
    days: np.ndarray  # datetime64[D], the exchange-local session dates
    tz: ZoneInfo


@dataclass(frozen=True, eq=False)
class Samples:
    symbol: str
    timestamps: np.ndarray  # datetime64[s], UTC
    price: np.ndarray  # float64, 4 decimals
    volume: np.ndarray  # int64, cumulative within the session
    day: np.ndarray  # datetime64[D], the session each sample belongs to

    def __len__(self) -> int:
        return len(self.timestamps)


@functools.cache
def _calendar(name: str, start: dt.date, end: dt.date):
    import exchange_calendars as xcals

    return xcals.get_calendar(name, start=start.isoformat(), end=end.isoformat())


def synthetic_sessions(*, start: dt.date, end: dt.date, calendar: str = "XNYS") -> Sessions:
    """The sessions whose date is in [start, end], both included."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    cal = _calendar(calendar, start - dt.timedelta(days=7), end + dt.timedelta(days=7))
    # a label slice of a pandas index; mypy checks slices as integer ranges
    schedule = cal.schedule.loc[start.isoformat() : end.isoformat()]  # type: ignore[misc]
    return Sessions(
        opens=schedule["open"].dt.tz_convert(None).to_numpy().astype("datetime64[s]"),
        closes=schedule["close"].dt.tz_convert(None).to_numpy().astype("datetime64[s]"),
        days=schedule.index.to_numpy().astype("datetime64[D]"),
        tz=ZoneInfo(str(cal.tz)),
    )


def _rng(seed: int, symbol: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(symbol.encode())])


def synthetic_samples(
    *,
    symbols: Sequence[str],
    start: dt.date,
    end: dt.date,
    seed: int,
    step_minutes: int = 5,
    annual_volatility: float = 0.35,
    annual_drift: float = 0.08,
    start_prices: Mapping[str, float] | None = None,
    calendar: str = "XNYS",
) -> dict[str, Samples]:
    if step_minutes not in STEPS:
        raise ValueError(f"step_minutes must be one of {STEPS}, got {step_minutes!r}")
    if not (0.0 < annual_volatility <= 5.0) or not math.isfinite(annual_drift) or abs(annual_drift) > 5.0:
        raise ValueError("annual_volatility must be in (0, 5] and annual_drift in [-5, 5]")
    sessions = synthetic_sessions(start=start, end=end, calendar=calendar)
    step = np.timedelta64(step_minutes * 60, "s")
    per_session = ((sessions.closes - sessions.opens) // step).astype(np.int64)
    session_of = np.repeat(np.arange(len(per_session)), per_session)
    first = np.concatenate(([0], np.cumsum(per_session)[:-1])) if len(per_session) else per_session
    index_in_session = np.arange(len(session_of)) - np.repeat(first, per_session)
    timestamps = sessions.opens[session_of] + index_in_session * step
    opens_day = index_in_session == 0

    dt_step = step_minutes / TRADING_MINUTES_PER_YEAR
    sigma = annual_volatility * math.sqrt(dt_step)
    overnight_sigma = annual_volatility * math.sqrt(1 / 252) / 2
    out = {}
    for symbol in symbols:
        rng = _rng(seed, symbol)
        shocks = rng.standard_normal(len(timestamps))
        log_returns = (annual_drift - annual_volatility**2 / 2) * dt_step + sigma * shocks
        log_returns[opens_day] = overnight_sigma * shocks[opens_day]
        if len(log_returns):
            log_returns[0] = 0.0
        start_price = (start_prices or {}).get(symbol, START_PRICES.get(symbol, DEFAULT_START_PRICE))
        price = np.round(start_price * np.exp(np.cumsum(log_returns)), 4)
        price = np.maximum(price, 0.0001)
        traded = rng.integers(1_000, 50_000, len(timestamps)) * step_minutes
        cumulative = np.cumsum(traded)
        day_base = np.concatenate(([0], cumulative))[first][session_of]
        out[symbol] = Samples(symbol, timestamps, price, cumulative - day_base, sessions.days[session_of])
    return out


def synthetic_bars(samples: Samples, *, timeframe: str = "5Min", tz: ZoneInfo | None = None) -> Bars:
    """OHLCV bars of `samples`, bucketed as the price store buckets them."""
    seconds = samples.timestamps.astype(np.int64)
    if timeframe in INTRADAY_SECONDS:
        size = INTRADAY_SECONDS[timeframe]
        keys = seconds // size * size
    elif timeframe == "1Day":
        tz = tz or ZoneInfo("America/New_York")
        days, which = np.unique(samples.day, return_inverse=True)
        midnights = [int(dt.datetime.combine(day.item(), dt.time(), tzinfo=tz).timestamp()) for day in days]
        keys = np.array(midnights, dtype=np.int64)[which]
    else:
        raise ValueError(f"timeframe must be one of {[*INTRADAY_SECONDS, '1Day']}, got {timeframe!r}")
    if len(keys) == 0:
        empty = np.array([], dtype=np.float64)
        return Bars(np.array([], dtype="datetime64[s]"), empty, empty, empty, empty, empty)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    ends = np.concatenate((starts[1:], [len(keys)])) - 1
    price = samples.price
    close_volume = samples.volume[ends]
    bar_day = samples.day[starts]
    previous = np.concatenate(([0], close_volume[:-1]))
    first_of_day = np.concatenate(([True], bar_day[1:] != bar_day[:-1]))
    volume = np.where(first_of_day, close_volume, close_volume - previous)
    return Bars(
        keys[starts].astype("datetime64[s]"),
        price[starts],
        np.maximum.reduceat(price, starts),
        np.minimum.reduceat(price, starts),
        price[ends],
        volume.astype(np.float64),
    )
