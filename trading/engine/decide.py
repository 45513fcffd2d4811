"""One strategy's verdict on one closed bar: the guards, the kind's decision, the sizing. No writes."""

import datetime as dt
import logging
import math
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from ..models import Strategy
from ..strategies import Bars, Context, Target, kind_get, params_parse

logger = logging.getLogger(__name__)

TIMEFRAME_SPAN = {
    "5Min": dt.timedelta(minutes=5),
    "15Min": dt.timedelta(minutes=15),
    "1Hour": dt.timedelta(hours=1),
    "1Day": dt.timedelta(days=1),
}
STALE_SLACK = dt.timedelta(minutes=5)
SHARE = Decimal(1)


@dataclass(frozen=True)
class Book:
    """What the strategy's own book and the account allow, read once per bar."""

    qty: Decimal = Decimal(0)
    cost_basis: Decimal = Decimal(0)
    realized_today: Decimal = Decimal(0)
    equity: Decimal = Decimal(0)
    cash_available: Decimal = Decimal(0)
    loss_exit_at: dt.datetime | None = None  # the last sell fill of its own that realized a loss


@dataclass(frozen=True)
class Verdict:
    outcome: str  # buy, sell, hold, skip, error
    reason: str
    message: str = ""
    target: str = ""
    qty: Decimal = Decimal(0)  # shares to order (buy/sell)
    indicators: dict[str, float] = field(default_factory=dict)

    @property
    def orders(self) -> bool:
        return self.outcome in ("buy", "sell")


def _skip(reason: str, message: str, **extra) -> Verdict:
    return Verdict("skip", reason, message, **extra)


def is_stale(*, timeframe: str, bar_end: dt.datetime, at: dt.datetime) -> bool:
    return at - bar_end > 2 * TIMEFRAME_SPAN[timeframe] + STALE_SLACK


def warmup_of(strategy: Strategy) -> int:
    try:
        kind = kind_get(kind=strategy.kind)
        return max(1, kind.warmup_bars(params_parse(kind.Params, strategy.params)))
    except Exception:  # an unknown kind or bad stored params: decided (as error) in verdict_for
        return 1


def _size(strategy: Strategy, price: Decimal, book: Book) -> Decimal:
    value = strategy.sizing_value
    if strategy.sizing == Strategy.Sizing.FIXED_QTY:
        return value
    notional = value if strategy.sizing == Strategy.Sizing.FIXED_NOTIONAL else book.equity * value / 100
    return (notional / price).to_integral_value(rounding=ROUND_FLOOR)


def _indicators(values) -> dict[str, float]:
    return {str(k): float(v) for k, v in dict(values).items() if isinstance(v, int | float) and math.isfinite(v)}


def verdict_for(
    strategy: Strategy,
    bars: Bars,
    book: Book,
    *,
    bar_end: dt.datetime,
    at: dt.datetime,
    halted: bool,
    market_open: bool,
) -> Verdict:
    """The guards in order: disabled, halted, stale, warming_up; then the kind (an exception: error);
    then cooldown, no_change, market_closed (live), risk_limit; else buy or sell."""
    if not strategy.enabled:
        return _skip("disabled", "The strategy is disabled.")
    if halted:
        return _skip("halted", "Trading is halted: no engine orders until it resumes.")
    if is_stale(timeframe=strategy.timeframe, bar_end=bar_end, at=at):
        return _skip("stale", f"The last closed bar ended at {bar_end:%Y-%m-%d %H:%M} UTC, too long ago.")
    try:
        kind = kind_get(kind=strategy.kind)
        params = params_parse(kind.Params, strategy.params)
        warmup = max(1, kind.warmup_bars(params))
        if len(bars) < warmup:
            return _skip("warming_up", f"{len(bars)} closed bars of the {warmup} this strategy needs.")
        decision = kind.on_bar(Context(bars, book.qty, params))
        target = Target(decision.target)
        indicators = _indicators(decision.indicators)
    except Exception as exc:  # the strategy's own code: recorded, the others still run
        logger.warning("strategy %s raised on %s", strategy.strategy_id, bar_end, exc_info=True)
        return Verdict("error", "error", f"{type(exc).__name__}: {exc}"[:500])
    return _sized(strategy, book, target, decision.reason, indicators, bars, market_open)


def _sized(strategy, book, target, reason, indicators, bars, market_open) -> Verdict:
    common = {"target": target.value, "indicators": indicators}
    live = strategy.mode == Strategy.Mode.LIVE
    if target == Target.FLAT:
        if book.qty <= 0:
            return Verdict("hold", "no_change", reason, **common)
        if live and not market_open:
            return _skip("market_closed", "The market is closed.", **common)
        return Verdict("sell", "exit", reason, qty=book.qty, **common)
    if book.qty > 0:
        return Verdict("hold", "no_change", reason, **common)
    if _cooling(strategy, bars, book):
        return _skip("cooldown", f"Sitting out {strategy.cooldown_bars} bars after a losing exit.", **common)
    if live and not market_open:
        return _skip("market_closed", "The market is closed.", **common)
    price = Decimal(str(bars.close[-1])).quantize(Decimal("0.0001"))
    problem = _risk_problem(strategy, book, price)
    if problem:
        return _skip("risk_limit", problem, **common)
    return Verdict("buy", "entry", reason, qty=_size(strategy, price, book), **common)


def _cooling(strategy: Strategy, bars: Bars, book: Book) -> bool:
    """Any losing exit counts: one the engine filled on its bar, or a resting sell that filled later."""
    exits = [at for at in (strategy.loss_exit_at, book.loss_exit_at) if at is not None]
    if not strategy.cooldown_bars or not exits:
        return False
    exit_start = _np_stamp(max(exits) - TIMEFRAME_SPAN[strategy.timeframe])
    since = int((bars.timestamps > exit_start).sum())
    return since <= strategy.cooldown_bars


def _np_stamp(at: dt.datetime):
    import numpy as np

    return np.datetime64(at.astimezone(dt.UTC).replace(tzinfo=None), "s")


def _risk_problem(strategy: Strategy, book: Book, price: Decimal) -> str:
    if strategy.max_daily_loss is not None and -book.realized_today >= strategy.max_daily_loss:
        return f"Today's realized loss {-book.realized_today:.2f} reached max_daily_loss {strategy.max_daily_loss}."
    qty = _size(strategy, price, book)
    if qty <= 0:
        return f"Sizing {strategy.sizing} {strategy.sizing_value} buys no whole share at {price}."
    if strategy.max_position_qty is not None and qty > strategy.max_position_qty:
        return f"{qty} shares exceed max_position_qty {strategy.max_position_qty}."
    if strategy.max_position_notional is not None and qty * price > strategy.max_position_notional:
        return f"{qty} x {price} exceeds max_position_notional {strategy.max_position_notional}."
    if qty * price > book.cash_available:
        return f"{qty} x {price} = {qty * price:.2f} needs more than the {book.cash_available:.2f} cash available."
    return ""
