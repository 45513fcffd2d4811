"""The paper broker's prices: slippage, commission, and when a resting order is crossed."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from .models import Order

TICK = Decimal("0.0001")
CENT = Decimal("0.01")


def slipped_price(price: Decimal, side: str) -> Decimal:
    """The fill price of a market order: the sample price moved against the trader by the slippage."""
    bps = settings.PAPER_SLIPPAGE_BPS / Decimal("10000")
    factor = Decimal("1") + bps if side == Order.Side.BUY else Decimal("1") - bps
    return (price * factor).quantize(TICK, rounding=ROUND_HALF_UP)


def commission_for(qty: Decimal) -> Decimal:
    per_share = (qty * settings.PAPER_COMMISSION_PER_SHARE).quantize(CENT, rounding=ROUND_HALF_UP)
    return max(per_share, settings.PAPER_COMMISSION_MIN)


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


def crossing_filter(order: Order) -> dict:
    """ORM filter on samples that cross `order`'s limit."""
    if order.type == Order.Type.MARKET:
        return {}
    if order.side == Order.Side.BUY:
        return {"price__lte": order.limit_price}
    return {"price__gte": order.limit_price}
