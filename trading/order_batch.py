"""A bar's strategy orders on one symbol, placed together: the locks taken once, every order through the rules
of trading/order_rules.py (the same functions `order_place` calls) on running totals, the fills booked by the
ledger in memory and written with one statement per table.

What one call costs does not grow with the number of orders: a constant number of reads under the locks, then
bulk inserts of orders, fills and outbox rows and one write of the account, the position and the book rows.
"""

import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from market.clock import Session, market_clock, now
from market.models import PriceSample
from market.selectors import price_latest, symbol_get
from portfolio.ledger import LedgerBatch, LedgerRefusal, ledger_open
from portfolio.lock_objects import account_lock, position_lock
from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import DomainError, InvalidInput, TradingHalted, Unprocessable
from tradingrobot.events import announce
from tradingrobot.ops import metrics

from . import broker
from .brokers import broker_active
from .events import OrderAccepted, OrderFilled, OrderRejected
from .lock_objects import qty_reserved, trading_state_lock
from .models import Fill, Order
from .order_request import OrderRequest
from .order_rules import (
    Rejection,
    accepted_event,
    book_check,
    booking_of,
    cap_check,
    estimate_of,
    expiry_set,
    fill_new,
    fill_price_of,
    filled_event,
    filled_mark,
    key_reused,
    limits_check,
    order_new,
    rejected_event,
    rejected_mark,
)
from .outbox import outbox_trades_add
from .services import book_free, cash_available, halted_message, order_place, order_principal_default


@dataclass
class Placed:
    """One request's result: its order (filled, resting or rejected; `created` False for a repeated key),
    or the refusal that stored nothing (halted, inactive symbol, key reused)."""

    request: OrderRequest
    order: Order | None = None
    created: bool = False
    refusal: DomainError | None = None
    realized: Decimal | None = None  # the P&L its fill realized, when it filled now


def orders_place_batch(*, ticker: str, requests: list[OrderRequest], placed_by: str) -> list[Placed]:
    """Strategy orders on `ticker` (each with its client_order_id and strategy_id), in order, in the caller's
    transaction or a new one. Same rules and guards as `order_place`; a later order sees the cash and shares
    the earlier ones took. The caller serialises placements of the same keys (the engine's bar lock); the
    unique client_order_id is the last guard."""
    results = [Placed(request) for request in requests]
    if not requests:
        return results
    if not broker_active().fills_locally:  # a remote broker fills: each order goes out through order_place
        return [_one_by_one(result, placed_by) for result in results]
    with transaction.atomic():
        symbol = symbol_get(ticker=ticker)
        if not symbol.is_active:
            inactive = InvalidInput(f"{ticker} is not tradable (inactive).", code=ErrorCode.SYMBOL_INACTIVE)
            return _refuse(results, inactive)
        state = trading_state_lock()
        if state.halted:
            return _refuse(results, TradingHalted(halted_message(state)))
        account = account_lock()
        position = position_lock(account=account, symbol_id=symbol.pk)
        todo = _repeats(results)
        if not todo:
            return results
        books = sorted({r.request.strategy_id or "" for r in todo})
        held, selling = book_free(account=account, symbol_id=symbol.pk, books=books)
        at = now()
        run = _Run(
            at=at,
            session=market_clock().session_at(at),
            latest=price_latest(symbol_id=symbol.pk),
            cash_free=cash_available(account=account),
            qty_free=position.qty - qty_reserved(account=account, symbol_id=symbol.pk),
            held=held,
            selling=selling,
            ledger=ledger_open(account=account, position=position),
        )
        for result in todo:
            order = order_new(
                request=result.request,
                account=account,
                symbol=symbol,
                source=Order.Source.STRATEGY,
                placed_by=placed_by,
                at=at,
                principal=_principal(result.request),
            )
            result.order, result.created = order, True
            try:
                result.realized = run.place(order)
            except Rejection as rejection:
                rejected_mark(order, rejection)
        placed = [r.order for r in todo if r.order is not None]
        Order.objects.bulk_create(placed)
        for fill in run.fills:
            fill.order = fill.order  # takes the order's new key (setting order_id would drop the cached order)
        Fill.objects.bulk_create(run.fills)
        outbox_trades_add(fills=run.fills)
        run.ledger.save()
        _announce(placed, run.fills, at)
    return results


@dataclass
class _Run:
    """What the checks read, kept current as each order takes cash or shares."""

    at: dt.datetime
    session: Session | None
    latest: PriceSample | None
    cash_free: Decimal
    qty_free: Decimal
    held: dict[str, Decimal]
    selling: dict[str, Decimal]
    ledger: LedgerBatch
    fills: list[Fill] = field(default_factory=list)

    def place(self, order: Order) -> Decimal | None:
        """Check, then fill (returns the P&L realized) or rest (None); Rejection when a rule refuses."""
        book = order.strategy_id
        expiry_set(order, self.session, self.at)
        estimate = estimate_of(order, self.latest)
        cap_check(order, broker.cap_price(order, self.latest.price if self.latest else None))
        limits_check(order, estimate=estimate, cash_free=self.cash_free, qty_free=self.qty_free)
        if order.side == Order.Side.SELL:
            book_check(order, held=self.held[book], selling=self.selling[book])
        price = fill_price_of(order, self.latest, self.session, self.at)
        if price is None:  # resting: it holds back cash or shares as order_place's would
            if order.side == Order.Side.BUY:
                order.reserve_price = estimate
                self.cash_free -= order.qty * estimate
            else:
                self.qty_free -= order.qty
                self.selling[book] += order.qty
            return None
        cap_check(order, price, when=" at fill")
        booking = booking_of(order, price)
        try:
            realized = self.ledger.book(booking)
        except LedgerRefusal as refusal:
            raise Rejection(refusal.code, refusal.reason) from refusal
        filled_mark(order, qty=booking.qty, price=price, at=self.at)
        sign = 1 if order.side == Order.Side.BUY else -1
        self.cash_free -= sign * booking.qty * price + booking.commission
        self.qty_free += sign * booking.qty
        self.held[book] += sign * booking.qty
        self.fills.append(
            fill_new(order, qty=booking.qty, price=price, commission=booking.commission, realized=realized, at=self.at)
        )
        return realized


def _one_by_one(result: Placed, placed_by: str) -> Placed:
    try:
        with transaction.atomic():
            result.order, result.created = order_place(
                request=result.request, placed_by=placed_by, source=Order.Source.STRATEGY
            )
    except DomainError as refusal:
        result.refusal = refusal
    return result


def _refuse(results: list[Placed], refusal: DomainError) -> list[Placed]:
    for result in results:
        result.refusal = refusal
    return results


def _principal(request: OrderRequest) -> str:
    return order_principal_default(source=Order.Source.STRATEGY, strategy_id=request.strategy_id)


def _repeats(results: list[Placed]) -> list[Placed]:
    """A key its principal (the strategy) already used returns that first order (as order_place does) or, for
    a different request, the refusal; the rest are to place. One query."""
    keys = [r.request.client_order_id for r in results if r.request.client_order_id]
    principals = {_principal(r.request) for r in results}
    existing = {
        (o.principal, o.client_order_id): o
        for o in Order.objects.filter(client_order_id__in=keys, principal__in=principals).select_related("symbol")
    }
    todo = []
    for result in results:
        first = existing.get((_principal(result.request), result.request.client_order_id or ""))
        if first is None:
            todo.append(result)
        elif first.request_fingerprint != result.request.fingerprint():
            result.refusal = Unprocessable(key_reused(first), code=ErrorCode.IDEMPOTENCY_KEY_REUSED)
        else:
            result.order = first
    return todo


def _announce(orders: list[Order], fills: list[Fill], at: dt.datetime) -> None:
    filled = {fill.order_id: fill for fill in fills}
    batch: list[OrderFilled | OrderRejected | OrderAccepted] = []
    for order in orders:
        if order.pk in filled:
            batch.append(filled_event(order, filled[order.pk]))
        elif order.status == Order.Status.REJECTED:
            batch.append(rejected_event(order))
        else:
            batch.append(accepted_event(order))
    announce(*batch)
    if fills:
        transaction.on_commit(functools.partial(_latencies, len(fills), at), robust=True)


def _latencies(count: int, placed: dt.datetime) -> None:
    seconds = (now() - placed).total_seconds()
    for _ in range(count):
        metrics.fill_latency_observe(seconds)
