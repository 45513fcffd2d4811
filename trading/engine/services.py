"""Changing strategies: the one writer of the Strategy table. Views, admin actions, commands and the site
sync call these; nothing here ever enables a strategy by itself."""

import contextlib
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from market.clock import market_clock, now
from market.rollup import bucket_of
from market.selectors import bar_list, symbol_get
from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import Conflict, Unprocessable
from tradingrobot.security.models import AuditEvent
from tradingrobot.security.services import audit_record

from ..models import Order, Strategy
from ..services import order_cancel
from ..strategies import Bars
from ..strategy_push import strategy_changed_mark
from . import books
from .decide import Verdict, verdict_for, warmup_of
from .selectors import strategy_get
from .sizing import strategy_sizing_check
from .validation import EDITABLE, changes_apply, strategy_id_check

DEFAULT_KIND = "sma_crossover"


def strategy_create(
    *,
    strategy_id: str,
    ticker: str,
    kind: str = DEFAULT_KIND,
    fields: Mapping[str, Any] | None = None,
    by: str,
    ip: str | None = None,
) -> Strategy:
    """A new strategy, disabled unless `fields` says enabled. `fields` takes the keys of strategy_update."""
    strategy = Strategy(strategy_id=strategy_id_check(strategy_id), symbol=symbol_get(ticker=ticker), kind=kind)
    changes_apply(strategy, {"kind": kind, **(fields or {})})
    strategy_sizing_check(strategy=strategy, changes=fields or {})
    try:
        with transaction.atomic():
            strategy.save()
            strategy_changed_mark(strategy=strategy, changed=["created"], by=by)
            audit_record(
                action=AuditEvent.Action.STRATEGY_CREATE,
                actor=by,
                ip=ip,
                target=f"strategy:{strategy.strategy_id}",
                detail={"fields": {name: _plain(getattr(strategy, name)) for name in EDITABLE}},
            )
    except IntegrityError:
        raise Conflict(f"Strategy {strategy_id!r} already exists.", code=ErrorCode.STRATEGY_EXISTS) from None
    return strategy


def strategy_ensure(*, strategy_id: str, ticker: str, site_status: str) -> tuple[Strategy, bool]:
    """For the site sync: the row for a listed id (created disabled, default kind and params), with the site's
    status recorded. Returns (strategy, created)."""
    existing = Strategy.objects.filter(strategy_id=strategy_id).first()
    if existing is None:
        try:
            return strategy_create(
                strategy_id=strategy_id, ticker=ticker, fields={"site_status": site_status}, by="site sync"
            ), True
        except Conflict:
            existing = Strategy.objects.get(strategy_id=strategy_id)
    if existing.site_status != site_status[:32]:
        strategy_update(strategy_id=strategy_id, changes={"site_status": site_status[:32]}, by="site sync")
        existing.refresh_from_db()
    return existing, False


def strategy_update(*, strategy_id: str, changes: Mapping[str, Any], by: str, ip: str | None = None) -> Strategy:
    """Apply validated changes (keys: trading/engine/validation.EDITABLE). Disabling cancels the strategy's
    open orders. Nothing is stored when any change is refused (StrategyInvalid names each field). A change is
    audited (`strategy_update`: who, from where, each field before and after) in its transaction."""
    with transaction.atomic():
        strategy = Strategy.objects.select_for_update().filter(strategy_id=strategy_id).first()
        if strategy is None:
            strategy_get(strategy_id=strategy_id)  # raises NotFound
        assert strategy is not None  # strategy_get raised when the row is missing
        before = {name: _plain(getattr(strategy, name)) for name in EDITABLE}
        changed = changes_apply(strategy, changes)
        strategy_sizing_check(strategy=strategy, changes=changes)
        if changed:
            strategy.save(update_fields=[*changed, "updated_at"])
            strategy_changed_mark(strategy=strategy, changed=changed, by=by)
            audit_record(
                action=AuditEvent.Action.STRATEGY_UPDATE,
                actor=by,
                ip=ip,
                target=f"strategy:{strategy_id}",
                detail={
                    "changes": {
                        name: {"before": before[name], "after": _plain(getattr(strategy, name))} for name in changed
                    }
                },
            )
    if "enabled" in changed and not strategy.enabled:
        for order_id in Order.objects.filter(
            source=Order.Source.STRATEGY, strategy_id=strategy_id, status__in=Order.OPEN_STATUSES
        ).values_list("pk", flat=True):
            with contextlib.suppress(Conflict):  # filled or closed meanwhile
                order_cancel(order_id=order_id, canceled_by=f"{by} (strategy disabled)"[:150])
    return strategy


def _plain(value: Any) -> Any:
    """A field's value as the audit's JSON holds it (Decimal as text)."""
    return str(value) if isinstance(value, Decimal) else value


def strategies_loss_exit_record(*, exits: Mapping[int, dt.datetime]) -> None:
    """The engine's note of each strategy's last losing exit (by primary key): its cooldown counts from there.
    One statement per distinct instant."""
    by_time: dict[dt.datetime, list[int]] = {}
    for pk, at in exits.items():
        by_time.setdefault(at, []).append(pk)
    for at, pks in by_time.items():
        Strategy.objects.filter(pk__in=pks).update(loss_exit_at=at)


@dataclass(frozen=True)
class DecisionResult:
    strategy_id: str
    bar_end: Any  # datetime (UTC)
    outcome: str
    reason: str
    message: str
    target: str
    qty: Any  # Decimal: shares the engine would order
    position_qty: Any  # Decimal: the strategy's own position
    indicators: dict[str, float]


def strategy_evaluate(*, strategy_id: str) -> DecisionResult:
    """Decide now on the latest closed bar, as the engine would (guards included, `disabled` too), without
    recording or ordering."""
    strategy = strategy_get(strategy_id=strategy_id)
    at = now()
    window = bar_list(
        symbol=strategy.symbol,
        timeframe=strategy.timeframe,
        limit=max(warmup_of(strategy), strategy.cooldown_bars + 2) + 1,
    )
    rows = window.bars
    current_start, _ = bucket_of(strategy.timeframe, at)
    rows = [row for row in rows if row.timestamp < current_start]  # the bar still forming is not closed
    if not rows:
        raise Unprocessable(
            f"{strategy.symbol.ticker} has no closed {strategy.timeframe} bar yet.", code=ErrorCode.NO_CLOSED_BAR
        )
    bar_end = books.bar_end_of(strategy.timeframe, rows[-1].timestamp)
    book = books.book_for(strategy=strategy, at=at)
    verdict: Verdict = verdict_for(
        strategy,
        Bars.from_rows(rows),
        book,
        bar_end=bar_end,
        at=at,
        halted=books.halted(),
        market_open=market_clock().is_open(at),
    )
    return DecisionResult(
        strategy.strategy_id,
        bar_end,
        verdict.outcome,
        verdict.reason,
        verdict.message,
        verdict.target,
        verdict.qty,
        book.qty,
        verdict.indicators,
    )
