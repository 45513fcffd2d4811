"""The one implementation of the performance metrics: `/api/performance`, the push-back to WordPress
`/performance` and the backtest report all call `metrics_compute`.

Inputs are plain values, so the live ledger and the backtester's in-memory book feed it the same way:
- `closing`: one (P&L, cost of the shares sold) per closing (sell) fill, the P&L being the fill's realized P&L
  as the ledger books it (proceeds - cost removed - the sell's commission; a buy's commission is realized on
  the buy and counts in `realized`, not in any trade); or those trades reduced once by `closing_stats`;
- `curve`: the mark-to-market equity at every point the caller has (every bar in a backtest; the equity
  snapshots of the account live), oldest first.

Rules: a win has P&L > 0 (break-even is neither a win nor a loss); profit factor is null without a losing
trade; max drawdown is the deepest fall from a running peak of the curve, in percent; Sharpe is the mean of the
daily returns of the curve's last value of each America/New_York day over their sample standard deviation
x sqrt(252) (`SHARPE_ANNUALISATION`); CAGR and Sharpe are null under `MIN_DAYS_FOR_ANNUALISED` days of curve.
No value is ever NaN or infinite: what cannot be computed is None.
"""

import datetime as dt
import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import cast
from zoneinfo import ZoneInfo

import numpy as np

ZERO = Decimal(0)
CENT = Decimal("0.01")
TRADING_DAYS = 252
SHARPE_ANNUALISATION = math.sqrt(TRADING_DAYS)
MIN_DAYS_FOR_ANNUALISED = 90
DAILY_CLOSE_TZ = ZoneInfo("America/New_York")
PLACES = 4


@dataclass(frozen=True)
class Metrics:
    total_pnl: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    daily_pnl: Decimal
    monthly_pnl: Decimal
    total_trades: int  # fills
    closed_trades: int  # closing (sell) fills
    winning_trades: int
    losing_trades: int
    win_rate: float | None  # percent of closing trades with P&L > 0
    avg_return: float | None  # percent, mean over closing trades of P&L / cost of the shares sold
    expectancy: float | None  # mean P&L of a closing trade, in account currency
    profit_factor: float | None  # gross profit / gross loss of closing trades
    max_drawdown: float  # percent, deepest fall from a peak of the mark-to-market curve
    sharpe_ratio: float | None
    cagr: float | None  # percent a year
    roi: float | None  # percent of the starting cash
    exposure: float | None  # percent of the bars with a position (backtests)

    def as_json(self) -> dict:
        return {k: (float(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


def _finite(value: float | None, places: int = PLACES) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), places)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SECOND = dt.timedelta(seconds=1)


def _datetime64(times: Sequence[dt.datetime] | np.ndarray) -> np.ndarray:
    """UTC seconds (fractions dropped); a naive datetime is local time, as `astimezone` takes it."""
    if isinstance(times, np.ndarray):
        return times.astype("datetime64[s]")
    seconds = [((t if t.tzinfo else t.astimezone(dt.UTC)) - _EPOCH) // _SECOND for t in times]
    return np.array(seconds, dtype=np.int64).astype("datetime64[s]")


def drawdown_series(values: np.ndarray) -> np.ndarray:
    """Percent below the running peak at each point (≤ 0): what the report plots. 0 while the peak is ≤ 0."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return values
    peak = np.maximum.accumulate(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        fall = np.where(peak > 0, (values - peak) / peak * 100, 0.0)
    return fall


def max_drawdown(values: np.ndarray) -> float:
    """The reported max drawdown: minus the minimum of `drawdown_series`, in percent, 4 places."""
    fall = drawdown_series(values)
    return round(-float(fall.min()), PLACES) + 0.0 if len(fall) else 0.0


def local_dates(times: np.ndarray, tz: ZoneInfo = DAILY_CLOSE_TZ) -> np.ndarray:
    """The `tz` calendar date of each UTC datetime64 (offsets change on whole hours only)."""
    hours = times.astype("datetime64[h]")
    unique, which = np.unique(hours, return_inverse=True)
    offsets = np.array([_utc_offset(tz, hour) for hour in unique.astype(np.int64).tolist()], dtype=np.int64)
    return (times + offsets[which].astype("timedelta64[s]")).astype("datetime64[D]")


@functools.lru_cache(maxsize=1 << 16)
def _utc_offset(tz: ZoneInfo, hour: int) -> int:
    """`tz`'s UTC offset in seconds during the `hour`-th hour since the epoch (a year of hours is 8,760)."""
    # an aware datetime (tz given) always has an offset
    return int(cast(dt.timedelta, dt.datetime.fromtimestamp(hour * 3600, tz).utcoffset()).total_seconds())


def daily_closes(times: np.ndarray, values: np.ndarray, tz: ZoneInfo = DAILY_CLOSE_TZ) -> np.ndarray:
    """The last value of each `tz` day, oldest first."""
    if not len(times):
        return np.asarray(values, dtype=np.float64)
    days = local_dates(times, tz)
    last = np.flatnonzero(np.concatenate((days[1:] != days[:-1], [True])))
    return np.asarray(values, dtype=np.float64)[last]


def sharpe(times: np.ndarray, values: np.ndarray, tz: ZoneInfo = DAILY_CLOSE_TZ) -> float | None:
    closes = daily_closes(times, values, tz)
    if len(closes) < 3 or np.any(closes[:-1] <= 0):
        return None
    returns = closes[1:] / closes[:-1] - 1
    spread = float(np.std(returns, ddof=1))
    if spread == 0 or not math.isfinite(spread):
        return None
    return _finite(float(np.mean(returns)) / spread * SHARPE_ANNUALISATION)


def span_days(times: np.ndarray) -> float:
    if len(times) < 2:
        return 0.0
    return float((times[-1] - times[0]).astype(np.int64)) / 86400


def _value_before(times: np.ndarray, values: Sequence | np.ndarray, moment: dt.datetime, default: Decimal) -> Decimal:
    index = int(np.searchsorted(times, _datetime64([moment])[0], side="left")) - 1
    if index < 0:
        return default
    value = values[index]
    return value if isinstance(value, Decimal) else Decimal(repr(float(value))).quantize(CENT)


@dataclass(frozen=True)
class ClosingStats:
    """The closing trades reduced to what the metrics read: built once, reused while the trades are the same."""

    count: int
    wins: int
    losses: int
    gross_profit: Decimal
    gross_loss: Decimal  # a sum of negative P&Ls (<= 0)
    pnl_sum: Decimal
    returns_sum: float  # of P&L / cost x 100, over trades with a cost
    returns_n: int


def closing_stats(closing: Sequence[tuple[Decimal, Decimal]]) -> ClosingStats:
    gains = [pnl for pnl, _ in closing if pnl > 0]
    losses = [pnl for pnl, _ in closing if pnl < 0]
    returns = [float(pnl / cost * 100) for pnl, cost in closing if cost]
    return ClosingStats(
        count=len(closing),
        wins=len(gains),
        losses=len(losses),
        gross_profit=sum(gains, ZERO),
        gross_loss=sum(losses, ZERO),
        pnl_sum=sum((pnl for pnl, _ in closing), ZERO),
        returns_sum=sum(returns),
        returns_n=len(returns),
    )


def metrics_compute(
    *,
    starting_cash: Decimal,
    realized: Decimal,
    unrealized: Decimal,
    fills: int,
    closing: Sequence[tuple[Decimal, Decimal]] | ClosingStats,
    curve_times: Sequence[dt.datetime] | np.ndarray,
    curve_values: Sequence | np.ndarray,
    as_of: dt.datetime,
    exposure: float | None = None,
    tz: ZoneInfo = DAILY_CLOSE_TZ,
) -> Metrics:
    times = _datetime64(curve_times)
    floats = np.asarray([float(v) for v in curve_values] if not isinstance(curve_values, np.ndarray) else curve_values)
    floats = floats.astype(np.float64)
    stats = closing if isinstance(closing, ClosingStats) else closing_stats(closing)
    total = realized + unrealized
    current = starting_cash + total
    days = span_days(times)
    annualised = days >= MIN_DAYS_FOR_ANNUALISED
    cagr = None
    if annualised and starting_cash > 0 and current > 0:
        cagr = _finite((float(current / starting_cash) ** (365.25 / days) - 1) * 100)
    local = as_of.astimezone(tz)
    day_start = dt.datetime.combine(local.date(), dt.time(), tzinfo=tz)
    month_start = day_start.replace(day=1)
    return Metrics(
        total_pnl=total,
        realized_pnl=realized,
        unrealized_pnl=unrealized,
        daily_pnl=current - _value_before(times, curve_values, day_start, starting_cash),
        monthly_pnl=current - _value_before(times, curve_values, month_start, starting_cash),
        total_trades=fills,
        closed_trades=stats.count,
        winning_trades=stats.wins,
        losing_trades=stats.losses,
        win_rate=_finite(stats.wins / stats.count * 100) if stats.count else None,
        avg_return=_finite(stats.returns_sum / stats.returns_n) if stats.returns_n else None,
        expectancy=_finite(float(stats.pnl_sum / stats.count)) if stats.count else None,
        profit_factor=_finite(float(stats.gross_profit / -stats.gross_loss)) if stats.losses else None,
        max_drawdown=max_drawdown(floats),
        sharpe_ratio=sharpe(times, floats, tz) if annualised else None,
        cagr=cagr,
        roi=_finite(float(total / starting_cash * 100)) if starting_cash else 0.0,
        exposure=_finite(exposure),
    )
