"""The backtest itself, pure: no database, no clock, no settings.

A decision on bar t (made with the bars up to and including t, by the kind's own code) that changes the
position becomes a market order filled at the open of bar t+1 — the first price after t, as live — through the
paper broker's `fill_price` and `fill_commission`. The book does the ledger's arithmetic (`trading.services._fill`):
a buy costs notional + commission and books -commission as realized; a sell removes the average cost and books
proceeds - cost - commission. A buy the cash cannot pay is refused and counted.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from market.bars import Bars
from trading.broker import Costs, fill_commission, fill_price
from trading.engine.decide import STALE_SLACK, TIMEFRAME_SPAN
from trading.strategies.base import Target
from trading.strategies.evaluate import decisions_over

ZERO = Decimal(0)
MONEY_PLACES = Decimal("0.00000001")
PRICE_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class SimFill:
    at: np.datetime64  # the fill bar's start (its open)
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    commission: Decimal
    realized: Decimal
    cost_removed: Decimal  # sells: the cost basis of the shares sold


@dataclass
class Result:
    fills: list[SimFill]
    refused: int
    times: np.ndarray  # the union of bar starts, datetime64[s]
    equity: np.ndarray  # mark-to-market at each bar's close, float
    benchmark: np.ndarray  # buy-and-hold of the same symbols, equal weights, same starting cash
    exposure: float  # percent of bars with a position, averaged over the symbols
    cash: Decimal
    realized: Decimal
    unrealized: Decimal
    positions: dict[str, Decimal] = field(default_factory=dict)
    bars: int = 0


def _price(value: float) -> Decimal:
    return Decimal(f"{value:.4f}")


def _orders(bars: Bars, kind: str, params: Any, timeframe: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Bar indexes where an order is placed (decided on that bar's close) and whether it buys.
    With `timeframe`, the live engine's stale guard applies: a bar whose next price comes later than
    2 x timeframe + 5 minutes after its end (the day's last bar, closed by the next session's first price) is
    skipped, and the next bar acted on compares its target with the position actually held, as live."""
    decisions = decisions_over(kind, params, bars)
    long = np.fromiter((d is not None and d.target == Target.LONG for d in decisions), bool, len(decisions))
    acted = np.fromiter((d is not None for d in decisions), bool, len(decisions))
    acted[-1:] = False  # the last bar's decision has no next price
    if timeframe is not None and len(bars) > 1:
        span = np.timedelta64(int(TIMEFRAME_SPAN[timeframe].total_seconds()), "s")
        limit = 2 * span + np.timedelta64(int(STALE_SLACK.total_seconds()), "s")
        late = bars.timestamps[1:] - (bars.timestamps[:-1] + span) > limit
        acted[:-1] &= ~late
    index = np.flatnonzero(acted)
    wanted = long[index]
    before = np.concatenate(([False], wanted[:-1]))
    changes = wanted != before
    return index[changes], wanted[changes]


def simulate(
    *,
    bars: Mapping[str, Bars],
    kind: str,
    params: Any,
    costs: Costs,
    qty: Decimal,
    starting_cash: Decimal,
    timeframe: str | None = None,
) -> Result:
    """`timeframe`: apply the live engine's stale guard (see `_orders`); None replays every decision."""
    events = []
    for order, (symbol, series) in enumerate(bars.items()):
        changes, long = _orders(series, kind, params, timeframe)
        for index, buy in zip(changes.tolist(), long.tolist(), strict=True):
            events.append((series.timestamps[index + 1], order, symbol, buy, float(series.open[index + 1])))
    events.sort(key=lambda e: (e[0], e[1]))

    cash, realized = starting_cash, ZERO
    held = {symbol: ZERO for symbol in bars}
    basis = {symbol: ZERO for symbol in bars}
    fills: list[SimFill] = []
    refused = 0
    for at, _, symbol, buy, open_price in events:
        side = "buy" if buy else "sell"
        if buy == (held[symbol] > 0):
            continue
        price = fill_price(price=_price(open_price), side=side, costs=costs)
        if buy:
            commission = fill_commission(qty=qty, costs=costs)
            notional = qty * price
            if notional + commission > cash:
                refused += 1
                continue
            cash -= notional + commission
            held[symbol] += qty
            basis[symbol] += notional
            fills.append(SimFill(at, symbol, side, qty, price, commission, -commission, ZERO))
            realized -= commission
        else:
            amount = held[symbol]
            commission = fill_commission(qty=amount, costs=costs)
            notional = amount * price
            removed = basis[symbol]
            gain = notional - removed - commission
            cash += notional - commission
            held[symbol], basis[symbol] = ZERO, ZERO
            fills.append(SimFill(at, symbol, side, amount, price, commission, gain, removed))
            realized += gain
    return _curve(bars, fills, refused, starting_cash, cash, realized, held, basis)


def _curve(bars, fills, refused, starting_cash, cash, realized, held, basis) -> Result:
    times = np.unique(np.concatenate([series.timestamps for series in bars.values()]))
    fill_times = np.array([f.at for f in fills], dtype="datetime64[s]")
    cash_after = np.cumsum(
        [float(-(f.qty * f.price + f.commission) if f.side == "buy" else f.qty * f.price - f.commission) for f in fills]
    )
    step = np.searchsorted(fill_times, times, side="right") - 1
    equity = float(starting_cash) + np.where(step >= 0, cash_after[np.maximum(step, 0)] if len(fills) else 0.0, 0.0)
    benchmark = np.zeros(len(times))
    in_market = []
    unrealized = ZERO
    for symbol, series in bars.items():
        at = np.searchsorted(series.timestamps, times, side="right") - 1
        close = np.where(at >= 0, series.close[np.maximum(at, 0)], 0.0)
        mine = [f for f in fills if f.symbol == symbol]
        mine_times = np.array([f.at for f in mine], dtype="datetime64[s]")
        qty_after = np.array([float(f.qty) if f.side == "buy" else 0.0 for f in mine])
        which = np.searchsorted(mine_times, times, side="right") - 1
        qty_now = np.where(which >= 0, qty_after[np.maximum(which, 0)] if len(mine) else 0.0, 0.0)
        equity = equity + qty_now * close
        in_market.append(float((qty_now > 0).mean()) if len(times) else 0.0)
        first_open = float(series.open[0]) if len(series) else 0.0
        if first_open > 0:
            benchmark += np.where(at >= 0, close / first_open, 1.0)
        else:
            benchmark += 1.0
        if held[symbol] > 0:
            unrealized += held[symbol] * _price(float(series.close[-1])) - basis[symbol]
    benchmark = benchmark / max(len(bars), 1) * float(starting_cash)
    return Result(
        fills=fills,
        refused=refused,
        times=times,
        equity=equity,
        benchmark=benchmark,
        exposure=sum(in_market) / max(len(in_market), 1) * 100,
        cash=cash,
        realized=realized,
        unrealized=unrealized,
        positions=dict(held),
        bars=sum(len(series) for series in bars.values()),
    )
