"""Trading rules: placing, filling, canceling and expiring orders; halting and resuming trading.

Every function here is the one way to do its thing: the API, the admin, Celery tasks and commands call it.
"""

import datetime as dt
import functools
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Sum

from market.clock import market_clock, now
from market.models import PriceSample
from market.selectors import price_first_between
from portfolio.books import book_of
from portfolio.ledger import Booking, LedgerRefusal, trade_book
from portfolio.lock_objects import account_lock, position_lock
from portfolio.models import Account, BookPosition, Position
from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import Conflict, DomainError, InvalidInput, NotFound, TradingHalted, Unprocessable
from tradingrobot.events import announce
from tradingrobot.ops import metrics
from tradingrobot.write_batch import ids_ahead, ids_next, row_insert, row_update, write_batch

from . import broker, events
from .authority import OPERATOR, Authority, cancel_authorize
from .brokers import broker_active
from .lock_objects import (
    PositionForOrder,
    account_position_lock,
    cash_reserved,
    idempotency_key_lock,
    open_orders_lock,
    placement_lock,
    trading_state_lock,
)
from .models import Fill, Order, TradingState
from .order_request import OrderRequest
from .order_rules import (
    Rejection,
    book_check,
    cap_check,
    estimate_of,
    expiry_set,
    fill_price_of,
    key_reused,
    limits_check,
    order_new,
    rejected_mark,
)
from .outbox import outbox_trade_add

log = logging.getLogger(__name__)


# --- placing ------------------------------------------------------------------


def order_place(
    *,
    request: OrderRequest,
    placed_by: str,
    source: str = Order.Source.API,
    bypass_halt: bool = False,
    principal: str | None = None,
    within: Callable[[Order, bool], None] | None = None,
) -> tuple[Order, bool]:
    """Place an order. Returns (order, created): a repeated client_order_id of the same principal returns its
    first order; another principal's orders are never seen (the key is theirs alone).

    In one transaction: locks trading state (shared), account and position; checks the rules; writes the
    order; fills it at once when the market is open and a fresh price allows, else leaves it resting.
    `within(order, created)` runs in the same transaction, last (the API records its audit row there)."""
    owner = (principal or order_principal_default(source=source, strategy_id=request.strategy_id))[:160]
    with transaction.atomic(), write_batch(commit=True):  # the writes and COMMIT in one round trip
        order, created = _order_place(request, placed_by, source, bypass_halt, owner)
        if within is not None:
            within(order, created)
    return order, created


def _order_place(
    request: OrderRequest, placed_by: str, source: str, bypass_halt: bool, owner: str
) -> tuple[Order, bool]:
    if request.client_order_id:
        existing = _order_idempotent(request, owner)
        if existing is not None:
            return existing, False

    symbol, state, latest = placement_lock(ticker=request.ticker)
    if not symbol.is_active and source != Order.Source.LIQUIDATION:
        raise InvalidInput(f"{symbol.ticker} is not tradable (inactive).", code=ErrorCode.SYMBOL_INACTIVE)
    if state.halted and not bypass_halt:
        raise TradingHalted(halted_message(state))

    account, held = account_position_lock(symbol_id=symbol.pk, side=request.side)
    at = now()
    order = order_new(
        request=request, account=account, symbol=symbol, source=source, placed_by=placed_by, at=at, principal=owner
    )
    try:
        _place_checked(order, account, held, at, latest)
    except Rejection as rejection:
        rejected_mark(order, rejection)
        order.save()
        announce(
            events.OrderRejected(
                type="order_rejected", order_id=order.pk, symbol=symbol.ticker, reason=rejection.reason
            )
        )
    return order, True


def order_principal_default(*, source: str, strategy_id: str | None) -> str:
    """The principal of an order placed by the robot itself: a strategy is its own principal (its
    deterministic client_order_id is exactly-once per strategy); commands, tasks, liquidations by source."""
    if source == Order.Source.STRATEGY:
        return f"strategy:{strategy_id or ''}"
    return str(source)


def _order_idempotent(request: OrderRequest, principal: str) -> Order | None:
    """This principal's earlier order with the request's client_order_id, or None. Claims the key for the
    transaction (409 while another request of the same principal holds it)."""
    key = request.client_order_id
    assert key  # the caller only asks with a key
    idempotency_key_lock(f"{principal}\n{key}")
    existing = Order.objects.filter(principal=principal, client_order_id=key).select_related("symbol").first()
    if existing is not None and existing.request_fingerprint != request.fingerprint():
        raise Unprocessable(key_reused(existing), code=ErrorCode.IDEMPOTENCY_KEY_REUSED)
    return existing


def _place_checked(
    order: Order, account: Account, held: PositionForOrder, at: dt.datetime, latest: PriceSample | None
) -> None:
    position = held.position
    session = market_clock().session_at(at)
    expiry_set(order, session, at)
    estimate = estimate_of(order, latest)
    if order.source != Order.Source.LIQUIDATION:  # the cap must never keep the stop from selling
        cap_check(order, broker.cap_price(order, latest.price if latest else None))
    _check_limits(order, account, held, estimate)
    fill_price = fill_price_of(order, latest, session, at)

    active = broker_active()
    if fill_price is not None and active.fills_locally:
        _fill(order, account, position, fill_price, at, ids=held.ids, book_rows=held.book_rows)  # saves it once
        return
    if order.side == Order.Side.BUY:
        order.reserve_price = estimate
    if not active.fills_locally:  # the broker fills it; sent once this transaction commits
        order.status = Order.Status.NEW
        order.save()
        transaction.on_commit(functools.partial(active.submit, order_id=order.pk), robust=True)
    else:
        order.save()
    announce(events.OrderAccepted(type="order_accepted", order_id=order.pk, symbol=order.symbol.ticker))


def _check_limits(order: Order, account: Account, held: PositionForOrder, estimate: Decimal) -> None:
    """The rules of trading/order_rules.py on what the database holds now."""
    buy = order.side == Order.Side.BUY
    limits_check(
        order,
        estimate=estimate,
        cash_free=account.cash - held.reserved if buy else Decimal(0),
        qty_free=Decimal(0) if buy else held.position.qty - held.reserved,
    )
    if not buy and order.source == Order.Source.STRATEGY:
        book_held, selling = book_free(account=account, symbol_id=order.symbol_id, books=[order.strategy_id])
        book_check(order, held=book_held[order.strategy_id], selling=selling[order.strategy_id])


def book_free(*, account: Account, symbol_id: int, books: list[str]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Per strategy book: shares held, and shares its open sell orders are already selling (two queries)."""
    held = dict(
        BookPosition.objects.filter(account=account, symbol_id=symbol_id, book__in=books).values_list("book", "qty")
    )
    selling = dict(
        Order.objects.filter(
            account=account,
            symbol_id=symbol_id,
            side=Order.Side.SELL,
            source=Order.Source.STRATEGY,
            strategy_id__in=books,
            status__in=Order.OPEN_STATUSES,
        )
        .values_list("strategy_id")
        .annotate(total=Sum(F("qty") - F("filled_qty")))
        .values_list("strategy_id", "total")
    )
    zero = Decimal(0)
    return {b: held.get(b) or zero for b in books}, {b: selling.get(b) or zero for b in books}


def cash_available(*, account: Account) -> Decimal:
    """Cash not held back by open buy orders."""
    return account.cash - cash_reserved(account=account)


def halted_message(state: TradingState) -> str:
    since = f" since {state.changed_at:%Y-%m-%d %H:%M:%S} UTC" if state.changed_at else ""
    who = f" by {state.changed_by}" if state.changed_by else ""
    why = f": {state.reason}" if state.reason else ""
    return f"Trading is halted{since}{who}{why}. POST /api/resume_trading to resume."


# --- filling ------------------------------------------------------------------


def _fill(
    order: Order,
    account: Account,
    position: Position,
    price: Decimal,
    at: dt.datetime,
    *,
    qty: Decimal | None = None,
    commission: Decimal | None = None,
    execution_id: str | None = None,
    ids: tuple[int, int] | None = None,
    book_rows: list[BookPosition] | None = None,
) -> Fill:
    """Execute `qty` (default: the whole remaining quantity) at `price`: cash, position, fill and order change
    together. A remote broker's execution passes its own qty, commission and execution id (trading/executions.py).
    The caller holds the locks on account and position. `ids`: the new order's and the fill's, taken ahead;
    `book_rows`: the position's book rows, read locked with the position."""
    if order.source != Order.Source.LIQUIDATION and execution_id is None:
        # a resting order, or a market order accepted while closed; a remote broker's execution has happened
        cap_check(order, price, when=" at fill")
    qty = order.qty - order.filled_qty if qty is None else qty
    booking = Booking(
        side=order.side,
        ticker=order.symbol.ticker,
        qty=qty,
        price=price,
        commission=broker.commission_for(qty) if commission is None else commission,
        book=book_of(source=order.source, strategy_id=order.strategy_id),
    )
    try:
        realized = trade_book(account=account, position=position, booking=booking, book_rows=book_rows)
    except LedgerRefusal as refusal:
        raise Rejection(refusal.code, refusal.reason) from refusal
    before = order.filled_qty
    order.filled_qty += qty
    order.filled_avg_price = _average(order.filled_avg_price, before, price, qty)
    if order.filled_qty >= order.qty:
        order.status = Order.Status.FILLED
        order.filled_at = at
        order.reserve_price = None
    elif order.is_open:  # a late execution of a canceled order keeps its status
        order.status = Order.Status.PARTIALLY_FILLED
    fill = Fill(
        order=order,
        account=account,
        symbol_id=order.symbol_id,
        side=order.side,
        qty=qty,
        price=price,
        commission=booking.commission,
        realized_pl=realized,
        executed_at=at,
        execution_id=execution_id,
    )
    _fill_save(order, fill, ids)
    outbox_trade_add(fill=fill, order=order)
    placed = order.created_at
    transaction.on_commit(lambda: metrics.fill_latency_observe((now() - placed).total_seconds()), robust=True)
    announce(
        events.OrderFilled(
            type="order_filled",
            order_id=order.pk,
            fill_id=fill.pk,
            symbol=order.symbol.ticker,
            side=order.side,
            qty=str(qty),
            price=str(price),
        )
    )
    return fill


ORDER_FILL_FIELDS = ["filled_qty", "filled_avg_price", "status", "filled_at", "reserve_price", "updated_at"]


def _fill_save(order: Order, fill: Fill, ids: tuple[int, int] | None) -> None:
    """The order (new, or its fill fields) and the fill; in the open write batch (one round trip with the
    ledger's and the outbox's writes) when there is one, the order and fill ids taken ahead in one query."""
    if not ids_ahead():
        if order.pk is None:
            order.save()
        else:
            order.save(update_fields=ORDER_FILL_FIELDS)
        fill.order = order
        fill.save()
        return
    if order.pk is None:
        order.pk, fill.pk = ids or ids_next(Order, Fill)
        row_insert(order)
    else:
        [fill.pk] = ids_next(Fill)
        row_update(order, ORDER_FILL_FIELDS)
    fill.order = order
    row_insert(fill)


def _average(average: Decimal | None, qty: Decimal, price: Decimal, more: Decimal) -> Decimal:
    if not qty or average is None:
        return price
    return ((average * qty + price * more) / (qty + more)).quantize(broker.TICK)


def orders_execute_resting(*, symbol_ids: list[int] | None = None, expire: bool = True) -> int:
    """Fill resting orders that stored prices now allow: market orders queued while the market was closed
    fill at the first price of the session; limit orders at the first newer price that crosses the limit.
    Safe to run concurrently: everything happens under the account and order locks. Day orders past their close
    are expired first (`expire=False` when the caller just did). Returns fills made."""
    if not broker_active().fills_locally:
        return 0  # a remote broker fills (and expires) its resting orders itself
    if expire:
        orders_expire()
    at = now()
    session = market_clock().session_at(at)
    if session is None:
        return 0
    filled = 0
    with transaction.atomic():
        state = trading_state_lock()
        account = account_lock()
        filters: dict[str, Any] = {"account": account}
        if symbol_ids is not None:
            filters["symbol_id__in"] = symbol_ids
        for order in open_orders_lock(**filters):
            if state.halted and order.source != Order.Source.LIQUIDATION:
                continue
            sample = _crossing_sample(order, session.open, at)
            if sample is None:
                continue
            position = position_lock(account=account, symbol_id=order.symbol_id)
            try:
                with transaction.atomic():
                    price = broker.execution_price(order, sample.price)
                    assert price is not None  # _crossing_sample returned a sample that crosses the limit
                    _fill(order, account, position, price, sample.timestamp)
                filled += 1
            except Rejection as rejection:
                account.refresh_from_db()
                position.refresh_from_db()
                rejected_mark(order, rejection)
                order.save()
                announce(
                    events.OrderRejected(
                        type="order_rejected", order_id=order.pk, symbol=order.symbol.ticker, reason=rejection.reason
                    )
                )
    return filled


def _crossing_sample(order: Order, session_open: dt.datetime, at: dt.datetime) -> PriceSample | None:
    if order.type == Order.Type.MARKET:
        return price_first_between(
            symbol_id=order.symbol_id, start=max(order.created_at, session_open), end=at + dt.timedelta(microseconds=1)
        )
    return (
        PriceSample.objects.filter(
            symbol_id=order.symbol_id,
            quarantined=False,  # market/price_band.py: never a fill price
            timestamp__gt=order.created_at,
            timestamp__gte=session_open,
            timestamp__lte=at,
            **broker.crossing_filter(order),
        )
        .order_by("timestamp")
        .first()
    )


# --- canceling and expiring ----------------------------------------------------------


def order_cancel(*, order_id: int, canceled_by: str, authority: Authority = OPERATOR) -> Order:
    """Cancel an open order. A principal cancels its own orders; another principal's orders, and liquidation
    and admin orders (halted or not), need `admin`."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("symbol").filter(pk=order_id).first()
        if order is None:
            raise NotFound(f"No order with id {order_id}.", code=ErrorCode.ORDER_NOT_FOUND)
        cancel_authorize(order, authority)
        if not order.is_open:
            raise Conflict(
                f"Order {order_id} is {order.status}; only new, accepted or partially filled orders can be canceled.",
                code=ErrorCode.ORDER_NOT_CANCELABLE,
            )
        broker_active().cancel(order=order)
        _close(order, Order.Status.CANCELED)
    return order


def _close(order: Order, status: str) -> None:
    at = now()
    order.status = status
    order.reserve_price = None
    if status == Order.Status.CANCELED:
        order.canceled_at = at
    else:
        order.expired_at = at
    order.save(update_fields=["status", "reserve_price", "canceled_at", "expired_at", "updated_at"])
    announce(events.OrderClosed(type=events.ORDER_CLOSED_EVENTS[status], order_id=order.pk, symbol=order.symbol.ticker))


def orders_expire() -> int:
    """Expire day orders whose session has closed (a remote broker expires its own and reports it)."""
    if not broker_active().fills_locally:
        return 0
    with transaction.atomic():
        due = open_orders_lock(expires_at__lte=now())
        for order in due:
            _close(order, Order.Status.EXPIRED)
    return len(due)


# --- halting ------------------------------------------------------------------


def trading_halt(*, reason: str, halted_by: str, liquidate: bool = False) -> tuple[TradingState, int, list[Order]]:
    """Halt at once: cancel every open order and refuse new ones until resumed.
    With `liquidate`, also sell every position at market. Returns (state, canceled, liquidation orders)."""
    with transaction.atomic():
        state = trading_state_lock(exclusive=True)
        state.halted = True
        state.reason = (reason or "")[:500]
        state.changed_by = halted_by[:150]
        state.changed_at = now()
        state.save()
        open_orders = open_orders_lock()
        active = broker_active()
        for order in open_orders:
            try:
                active.cancel(order=order)
            except DomainError as refusal:  # filled there meanwhile (its fill books it), or unreachable: the halt
                log.error("halt: order %s not canceled at the broker: %s", order.pk, refusal.message)  # goes on
                continue
            _close(order, Order.Status.CANCELED)
        liquidations = []
        if liquidate:
            held = Position.objects.filter(qty__gt=0).select_related("symbol").order_by("symbol__ticker")
            for position in held:
                request = OrderRequest(ticker=position.symbol.ticker, side=Order.Side.SELL, qty=position.qty)
                order, _ = order_place(
                    request=request, placed_by=halted_by, source=Order.Source.LIQUIDATION, bypass_halt=True
                )
                liquidations.append(order)
                if order.status not in LIQUIDATION_OK:
                    transaction.on_commit(functools.partial(_liquidation_failed, order), robust=True)
        announce(events.TradingHalted(type="trading_halted", reason=state.reason, by=state.changed_by))
    return state, len(open_orders), liquidations


LIQUIDATION_OK = (Order.Status.FILLED, Order.Status.ACCEPTED, Order.Status.NEW)


def _liquidation_failed(order: Order) -> None:
    metrics.liquidation_failed(order.symbol.ticker)
    log.error(
        "liquidation order %s for %s is %s (%s): the position stays open",
        order.pk,
        order.symbol.ticker,
        order.status,
        order.reject_reason,
    )


def trading_resume(*, resumed_by: str) -> TradingState:
    with transaction.atomic():
        state = trading_state_lock(exclusive=True)
        state.halted = False
        state.reason = ""
        state.changed_by = resumed_by[:150]
        state.changed_at = now()
        state.save()
        announce(events.TradingResumed(type="trading_resumed", by=state.changed_by))
    return state


def trading_state_get() -> TradingState:
    state = TradingState.objects.filter(pk=TradingState.SINGLETON_ID).first()
    return state or TradingState.objects.get_or_create(pk=TradingState.SINGLETON_ID)[0]
