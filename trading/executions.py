"""What a remote broker reports, applied to our orders and ledger: the one idempotent service of the fill path.

A report carries the order's cumulative filled quantity and average price (Alpaca's trade_updates and its order
list both do), so whatever arrives twice, late, or only through the reconciliation after a reconnect, the ledger
books exactly the difference between the broker's cumulative fill and ours, once. An execution id seen before
books nothing.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from market.clock import now
from portfolio.lock_objects import account_lock, position_lock
from tradingrobot.error_codes import ErrorCode
from tradingrobot.events import announce

from . import broker, events
from .models import Fill, Order
from .order_rules import Rejection, rejected_mark
from .services import _close, _fill

log = logging.getLogger(__name__)

FILL_EVENTS = ("partial_fill", "fill")
CLOSING_EVENTS = {"canceled": Order.Status.CANCELED, "expired": Order.Status.EXPIRED}
ZERO = Decimal("0")


@dataclass(frozen=True)
class BrokerReport:
    """One state of one order at the broker: from a trade update, or from its order list."""

    event: str  # new, accepted, partial_fill, fill, canceled, expired, rejected, or "snapshot" (order list)
    client_order_id: str  # the broker's client_order_id: Order.broker_client_order_id
    broker_order_id: str
    filled_qty: Decimal  # cumulative
    filled_avg_price: Decimal | None
    broker_status: str
    at: dt.datetime
    execution_id: str = ""  # of this execution (fill events)
    price: Decimal | None = None  # of this execution
    qty: Decimal | None = None  # of this execution
    reason: str = ""


def order_broker_report_apply(*, report: BrokerReport) -> Order | None:
    """Apply `report`; None when it names no order of ours (an order placed at the broker by someone else)."""
    with transaction.atomic():
        account = account_lock()
        order = (
            Order.objects.select_for_update()
            .select_related("symbol")
            .filter(broker_client_order_id=report.client_order_id)
            .first()
        )
        if order is None:
            log.warning("broker report for unknown client_order_id %s", report.client_order_id)
            return None
        if report.broker_order_id and order.broker_order_id != report.broker_order_id:
            order.broker_order_id = report.broker_order_id
            order.save(update_fields=["broker_order_id", "updated_at"])
        missing = report.filled_qty - order.filled_qty
        if missing > 0 and not _seen(report.execution_id):
            position = position_lock(account=account, symbol_id=order.symbol_id)
            _fill(
                order,
                account,
                position,
                _price_of(order, report, missing),
                report.at,
                qty=missing,
                commission=ZERO,  # Alpaca charges no commission on stock trades
                execution_id=report.execution_id or f"{report.broker_order_id}:{report.filled_qty}",
            )
        if order.is_open:
            _status_apply(order, report)
    return order


def _seen(execution_id: str) -> bool:
    return bool(execution_id) and Fill.objects.filter(execution_id=execution_id).exists()


def _price_of(order: Order, report: BrokerReport, missing: Decimal) -> Decimal:
    """This execution's price; for several missed at once, the one that makes our average the broker's."""
    if report.price is not None and report.qty == missing:
        return report.price
    assert report.filled_avg_price is not None  # a broker reporting a fill reports its average price
    booked = (order.filled_avg_price or ZERO) * order.filled_qty
    return ((report.filled_avg_price * report.filled_qty - booked) / missing).quantize(broker.TICK)


def _status_apply(order: Order, report: BrokerReport) -> None:
    status = report.broker_status if report.event == "snapshot" else report.event
    if status in CLOSING_EVENTS:
        _close(order, CLOSING_EVENTS[status])
    elif status == "rejected":
        _reject(order, report.reason or "Rejected by the broker.")
    elif status in ("new", "accepted") and order.status == Order.Status.NEW:
        order.status = Order.Status.ACCEPTED
        order.save(update_fields=["status", "updated_at"])
        announce(events.OrderAccepted(type="order_accepted", order_id=order.pk, symbol=order.symbol.ticker))


def _reject(order: Order, reason: str) -> None:
    rejected_mark(order, Rejection(ErrorCode.BROKER_REJECTED, reason))
    order.save(update_fields=["status", "reject_code", "reject_reason", "reserve_price", "updated_at"])
    announce(events.OrderRejected(type="order_rejected", order_id=order.pk, symbol=order.symbol.ticker, reason=reason))


def order_broker_accepted(*, order_id: int, broker_order_id: str) -> None:
    """The broker has the order (its answer to the submit, or found by client_order_id)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("symbol").get(pk=order_id)
        order.broker_order_id = broker_order_id
        order.save(update_fields=["broker_order_id", "updated_at"])
        if order.status == Order.Status.NEW:
            _status_apply(order, BrokerReport("accepted", "", broker_order_id, ZERO, None, "accepted", now()))


def order_broker_rejected(*, order_id: int, reason: str) -> None:
    """The broker refused the order, or never got it: it is rejected and holds nothing back."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("symbol").get(pk=order_id)
        if order.is_open and order.filled_qty == 0:
            _reject(order, reason[:500])


def order_broker_sending(*, order_id: int) -> Order:
    """The order about to be sent, with the deterministic client_order_id the broker will know it by (at most
    48 characters, from our order id and the caller's key), saved before anything goes on the wire."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("symbol").get(pk=order_id)
        if not order.broker_client_order_id:
            order.broker_client_order_id = f"tr-{order.pk}-{order.client_order_id}"[:48]
            order.save(update_fields=["broker_client_order_id", "updated_at"])
    return order
