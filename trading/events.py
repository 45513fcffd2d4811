"""Trading's event catalogue: the facts `trading/services.py` announces after commit (bus: tradingrobot/events.py).

Their payloads are also the /ws/updates event frames (`trading/realtime/frames.py` adds `server_time`), so a
key renamed here is a wire change.
"""

from typing import Literal, TypedDict

from tradingrobot.events import catalogue

from .models import Order


class OrderAccepted(TypedDict):
    type: Literal["order_accepted"]
    order_id: int
    symbol: str


class OrderRejected(TypedDict):
    type: Literal["order_rejected"]
    order_id: int
    symbol: str
    reason: str


class OrderFilled(TypedDict):
    type: Literal["order_filled"]
    order_id: int
    fill_id: int
    symbol: str
    side: str
    qty: str
    price: str


OrderClosedType = Literal["order_canceled", "order_expired"]


class OrderClosed(TypedDict):
    type: OrderClosedType
    order_id: int
    symbol: str


class TradingHalted(TypedDict):
    type: Literal["trading_halted"]
    reason: str
    by: str


class TradingResumed(TypedDict):
    type: Literal["trading_resumed"]
    by: str


TRADING_EVENTS = catalogue(OrderAccepted, OrderRejected, OrderFilled, OrderClosed, TradingHalted, TradingResumed)

# The event that says an order was closed with this status.
ORDER_CLOSED_EVENTS: dict[str, OrderClosedType] = {
    Order.Status.CANCELED: "order_canceled",
    Order.Status.EXPIRED: "order_expired",
}


class StrategyDecisionMade(TypedDict):
    """One per decision row the engine records (trading/engine/execution.py), after its commit."""

    type: Literal["strategy_decision"]
    strategy_id: str
    symbol: str
    timeframe: str
    bar_end: str  # ISO 8601, UTC
    outcome: str  # buy, sell, hold, skip, error
    # entry, exit, no_change, disabled, halted, stale, warming_up, market_closed, risk_limit, cooldown, error
    reason: str
    message: str
    order_id: int | None
    indicators: dict[str, float]


STRATEGY_EVENTS = catalogue(StrategyDecisionMade)
