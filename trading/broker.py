"""The paper broker's prices: slippage, commission, and when a resting order is crossed."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from .models import Order

TICK = Decimal("0.0001")
CENT = Decimal("0.01")
BPS = Decimal("10000")


@dataclass(frozen=True, slots=True)
class Costs:
    """What a fill costs beyond the price: slippage in basis points, commission per share with a minimum."""

    slippage_bps: Decimal
    commission_per_share: Decimal
    commission_min: Decimal


def paper_costs() -> Costs:
    """The paper broker's costs, from settings (PAPER_SLIPPAGE_BPS, PAPER_COMMISSION_PER_SHARE, _MIN)."""
    return Costs(settings.PAPER_SLIPPAGE_BPS, settings.PAPER_COMMISSION_PER_SHARE, settings.PAPER_COMMISSION_MIN)


def fill_price(*, price: Decimal, side: str, costs: Costs) -> Decimal:
    """The price a market order fills at: `price` moved against the trader by the slippage, to 4 decimals.
    The one fill function of the paper broker and the backtester."""
    bps = costs.slippage_bps / BPS
    factor = Decimal(1) + bps if side == Order.Side.BUY else Decimal(1) - bps
    return (price * factor).quantize(TICK, rounding=ROUND_HALF_UP)


def fill_commission(*, qty: Decimal, costs: Costs) -> Decimal:
    per_share = (qty * costs.commission_per_share).quantize(CENT, rounding=ROUND_HALF_UP)
    return max(per_share, costs.commission_min)


def slipped_price(price: Decimal, side: str) -> Decimal:
    """The fill price of a market order at the paper broker's costs."""
    return fill_price(price=price, side=side, costs=paper_costs())


def commission_for(qty: Decimal) -> Decimal:
    return fill_commission(qty=qty, costs=paper_costs())


def execution_price(order: Order, sample_price: Decimal) -> Decimal | None:
    """The price `order` fills at against a sample, or None when a limit is not crossed."""
    price = slipped_price(sample_price, order.side)
    if order.type == Order.Type.MARKET:
        return price
    limit = order.limit_price
    assert limit is not None  # a limit order carries its limit (a database constraint)
    if order.side == Order.Side.BUY:
        return min(limit, price) if sample_price <= limit else None
    return max(limit, price) if sample_price >= limit else None


def cap_price(order: Order, last_price: Decimal | None) -> Decimal:
    """The price per share the notional cap is checked at when the order is placed: the most it can fill at
    as far as the last price tells. A buy limit never fills above its limit; a sell limit far below the market
    fills at the market, so max(limit, last); a market order at the last price slipped."""
    if order.type == Order.Type.MARKET:
        assert last_price is not None  # a market order without a price is refused before this
        return slipped_price(last_price, order.side)
    limit = order.limit_price
    assert limit is not None  # a limit order carries its limit (a database constraint)
    if order.side == Order.Side.SELL and last_price is not None:
        return max(limit, last_price)
    return limit


def crossing_filter(order: Order) -> dict:
    """ORM filter on samples that cross `order`'s limit."""
    if order.type == Order.Type.MARKET:
        return {}
    if order.side == Order.Side.BUY:
        return {"price__lte": order.limit_price}
    return {"price__gte": order.limit_price}
