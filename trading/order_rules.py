"""The rules an order must pass, as plain functions of what was read under the locks: `order_place` (one
order) and `orders_place_batch` (a bar's strategy orders) both call these, so a rule lives in one place."""

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings

from market.clock import Session, market_clock
from market.models import PriceSample, Symbol
from portfolio.books import book_of
from portfolio.ledger import Booking
from portfolio.models import Account
from tradingrobot.error_codes import ErrorCode, error_code

from . import broker, events
from .models import Fill, Order
from .order_request import OrderRequest
from .outbox import strategy_id_default


class Rejection(Exception):
    """A rule refused the order; it is stored as `rejected` with this code and reason."""

    def __init__(self, code: ErrorCode, reason: str):
        super().__init__(reason)
        self.code = error_code(code)
        self.reason = reason


def order_new(
    *,
    request: OrderRequest,
    account: Account,
    symbol: Symbol,
    source: str,
    placed_by: str,
    at: dt.datetime,
    principal: str,
) -> Order:
    return Order(
        client_order_id=request.client_order_id or uuid.uuid4().hex,
        principal=principal[:160],
        request_fingerprint=request.fingerprint(),
        account=account,
        symbol=symbol,
        side=request.side,
        qty=request.qty,
        type=request.type,
        limit_price=request.limit_price,
        time_in_force=request.time_in_force,
        status=Order.Status.ACCEPTED,
        source=source,
        placed_by=placed_by[:150],
        strategy_id=request.strategy_id or strategy_id_default(symbol.ticker),
        created_at=at,
    )


def key_reused(order: Order) -> str:
    return (
        f"client_order_id {order.client_order_id!r} was already used by this credential for a different order "
        f"(#{order.pk}); use a new key for a new order."
    )


def expiry_set(order: Order, session: Session | None, at: dt.datetime) -> None:
    if order.time_in_force == Order.TimeInForce.DAY:
        upcoming = session or market_clock().current_or_next_session(at)
        order.expires_at = upcoming.close if upcoming else None


def estimate_of(order: Order, latest: PriceSample | None) -> Decimal:
    """The price the checks assume: the limit, or the latest price slipped against the order."""
    if latest is None and order.type == Order.Type.MARKET:
        raise Rejection(
            ErrorCode.NO_PRICE, f"No price is stored for {order.symbol.ticker} yet; a market order needs one."
        )
    if order.type == Order.Type.LIMIT:
        assert order.limit_price is not None  # a limit order carries its limit (a database constraint)
        return order.limit_price
    assert latest is not None  # a market order without a price was refused above
    return broker.slipped_price(latest.price, order.side)


def cap_check(order: Order, price: Decimal, *, when: str = "") -> None:
    """The per-order cap (MAX_ORDER_NOTIONAL) on what is left to fill, at `price`. Never for liquidations:
    the cap must never keep the stop from selling."""
    notional = (order.qty - order.filled_qty) * price
    if notional > settings.MAX_ORDER_NOTIONAL:
        raise Rejection(
            ErrorCode.RISK_LIMIT,
            f"Order value{when} ~{notional:.2f} (at {price}) exceeds the limit of {settings.MAX_ORDER_NOTIONAL} "
            "per order; trade fewer shares.",
        )


def limits_check(order: Order, *, estimate: Decimal, cash_free: Decimal, qty_free: Decimal) -> None:
    """`cash_free`: cash not held back by open buys; `qty_free`: shares held and not being sold."""
    notional = order.qty * estimate
    if order.side == Order.Side.BUY:
        needed = notional + broker.commission_for(order.qty)
        if needed > cash_free:
            raise Rejection(
                ErrorCode.INSUFFICIENT_CASH,
                f"Buying {order.qty} {order.symbol.ticker} at ~{estimate} needs {needed:.2f}, "
                f"but only {max(cash_free, 0):.2f} cash is available.",
            )
    elif order.qty > qty_free:
        raise Rejection(
            ErrorCode.INSUFFICIENT_POSITION,
            f"Cannot sell {order.qty} {order.symbol.ticker}: {max(qty_free, 0)} held and not already "
            "being sold (short selling is not allowed).",
        )


def book_check(order: Order, *, held: Decimal, selling: Decimal) -> None:
    """A strategy sells only what its own book holds and is not already selling."""
    if order.qty > held - selling:
        raise Rejection(
            ErrorCode.INSUFFICIENT_POSITION,
            f"Strategy {order.strategy_id} cannot sell {order.qty} {order.symbol.ticker}: its own position is "
            f"{held}, {selling} of it already being sold.",
        )


def fill_price_of(order: Order, latest: PriceSample | None, session: Session | None, at: dt.datetime) -> Decimal | None:
    """The price it fills at now, or None to rest (market closed, or a stale price for a limit order)."""
    if session is None or latest is None:
        return None
    age = (at - latest.timestamp).total_seconds()
    fresh = age <= settings.MAX_PRICE_AGE_SECONDS
    if order.type == Order.Type.MARKET and not fresh and order.source != Order.Source.LIQUIDATION:
        raise Rejection(
            ErrorCode.STALE_PRICE,
            f"The latest {order.symbol.ticker} price is {int(age)} s old (more than "
            f"{settings.MAX_PRICE_AGE_SECONDS} s allowed); wait for fresh data or use a limit order.",
        )
    return broker.execution_price(order, latest.price) if fresh else None


def rejected_mark(order: Order, rejection: Rejection) -> None:
    order.status = Order.Status.REJECTED
    order.reject_code = rejection.code
    order.reject_reason = rejection.reason[:500]
    order.reserve_price = None


def filled_mark(order: Order, *, qty: Decimal, price: Decimal, at: dt.datetime) -> None:
    order.filled_qty += qty
    order.filled_avg_price = price
    order.status = Order.Status.FILLED
    order.filled_at = at
    order.reserve_price = None


def fill_new(order: Order, *, qty: Decimal, price: Decimal, commission: Decimal, realized: Decimal, at) -> Fill:
    return Fill(
        order=order,
        account=order.account,
        symbol_id=order.symbol_id,
        side=order.side,
        qty=qty,
        price=price,
        commission=commission,
        realized_pl=realized,
        executed_at=at,
    )


def booking_of(order: Order, price: Decimal) -> Booking:
    """The ledger booking of the order's whole remaining quantity at `price`."""
    qty = order.qty - order.filled_qty
    return Booking(
        side=order.side,
        ticker=order.symbol.ticker,
        qty=qty,
        price=price,
        commission=broker.commission_for(qty),
        book=book_of(source=order.source, strategy_id=order.strategy_id),
    )


def filled_event(order: Order, fill: Fill) -> events.OrderFilled:
    return events.OrderFilled(
        type="order_filled",
        order_id=order.pk,
        fill_id=fill.pk,
        symbol=order.symbol.ticker,
        side=order.side,
        qty=str(fill.qty),
        price=str(fill.price),
    )


def rejected_event(order: Order) -> events.OrderRejected:
    return events.OrderRejected(
        type="order_rejected", order_id=order.pk, symbol=order.symbol.ticker, reason=order.reject_reason
    )


def accepted_event(order: Order) -> events.OrderAccepted:
    return events.OrderAccepted(type="order_accepted", order_id=order.pk, symbol=order.symbol.ticker)
