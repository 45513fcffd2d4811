"""Alpaca's trade_updates stream (alpaca-py's TradingStream), applied to the ledger by trading/executions.py.

The stream does not replay what was sent while the connection was down, so every (re)connection first
reconciles with `GET /v2/orders?status=all&after=...`: each order's cumulative fill is applied, and the
executions service books only what is missing. `manage.py alpaca_stream` runs it.
"""

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from decimal import Decimal

from alpaca.common.enums import Sort
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.models import TradeUpdate
from alpaca.trading.requests import GetOrdersRequest
from alpaca.trading.stream import TradingStream
from django.conf import settings
from django.db.models import Min

from market.clock import now
from trading.executions import BrokerReport, order_broker_report_apply
from trading.models import Order

from .alpaca_broker import alpaca_live, decimal_or_none

log = logging.getLogger(__name__)

ZERO = Decimal("0")
RECONCILE_LOOKBACK = dt.timedelta(days=7)  # orders submitted this long before the oldest open one are asked for
PAGE = 500  # Alpaca's largest page of orders


def _value(field) -> str:
    return str(getattr(field, "value", field))


def report_of_update(update: TradeUpdate) -> BrokerReport:
    order = update.order
    return BrokerReport(
        event=_value(update.event),
        client_order_id=order.client_order_id,
        broker_order_id=str(order.id),
        filled_qty=decimal_or_none(order.filled_qty) or ZERO,
        filled_avg_price=decimal_or_none(order.filled_avg_price),
        broker_status=_value(order.status),
        at=update.timestamp,
        execution_id=str(update.execution_id) if update.execution_id else "",
        price=decimal_or_none(update.price),
        qty=decimal_or_none(update.qty),
    )


def report_of_order(order: AlpacaOrder) -> BrokerReport:
    return BrokerReport(
        event="snapshot",
        client_order_id=order.client_order_id,
        broker_order_id=str(order.id),
        filled_qty=decimal_or_none(order.filled_qty) or ZERO,
        filled_avg_price=decimal_or_none(order.filled_avg_price),
        broker_status=_value(order.status),
        at=order.filled_at or order.updated_at,
    )


def trade_update_apply(update: TradeUpdate) -> None:
    order_broker_report_apply(report=report_of_update(update))


def orders_reconcile(*, client: TradingClient) -> int:
    """Apply Alpaca's state of every order submitted since shortly before our oldest open one; returns how many
    of ours were looked at."""
    oldest = Order.objects.filter(status__in=Order.OPEN_STATUSES).aggregate(at=Min("created_at"))["at"] or now()
    after = oldest - RECONCILE_LOOKBACK
    applied = 0
    while True:
        request = GetOrdersRequest(status=QueryOrderStatus.ALL, after=after, limit=PAGE, direction=Sort.ASC)
        page = client.get_orders(request)
        assert isinstance(page, list)
        for order in page:
            if order_broker_report_apply(report=report_of_order(order)) is not None:
                applied += 1
        if len(page) < PAGE:
            return applied
        after = page[-1].submitted_at


class ReconcilingStream(TradingStream):
    """TradingStream that calls `on_connect` each time it has (re)connected and subscribed."""

    def __init__(self, *args, on_connect: Callable[[], object], **kwargs):
        super().__init__(*args, **kwargs)
        self.on_connect = on_connect
        self.connections = 0

    async def _start_ws(self) -> None:
        await super()._start_ws()
        self.connections += 1
        await asyncio.to_thread(self.on_connect)


def trading_stream_build(
    *, on_update: Callable[[TradeUpdate], None], on_connect: Callable[[], object]
) -> ReconcilingStream:
    """The stream; `on_update` runs in a worker thread for each trade update (the ORM is synchronous)."""
    stream = ReconcilingStream(
        settings.ALPACA_API_KEY_ID,
        settings.ALPACA_API_SECRET_KEY,
        paper=not alpaca_live(),
        url_override=settings.ALPACA_STREAM_URL or None,
        on_connect=on_connect,
    )
    stream._reconnect_min_backoff = 0.2

    async def handler(update: TradeUpdate) -> None:
        try:
            await asyncio.to_thread(on_update, update)
        except Exception:  # one bad update must not stop the stream; the next reconciliation repairs it
            log.exception("trade update %s of order %s not applied", update.event, update.order.client_order_id)

    stream.subscribe_trade_updates(handler)
    return stream
