"""What the engine reads about strategies' own books and the account, batched per bar: the query count
does not grow with the number of strategies on a symbol."""

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Max, Sum

from market.clock import market_clock
from portfolio.models import BookPosition
from portfolio.selectors import portfolio_get

from ..models import Fill, Order, Strategy, TradingState
from ..services import cash_available
from .decide import TIMEFRAME_SPAN, Book


def bar_end_of(timeframe: str, start: dt.datetime) -> dt.datetime:
    if timeframe == "1Day":
        clock = market_clock()
        close = clock.session_close_on(clock.local_date(start))
        if close is not None:
            return close
    return start + TIMEFRAME_SPAN[timeframe]


def halted() -> bool:
    state = TradingState.objects.filter(pk=TradingState.SINGLETON_ID).values_list("halted", flat=True).first()
    return bool(state)


def books_for(*, strategies: Sequence[Strategy], symbol_id: int, at: dt.datetime) -> dict[str, Book]:
    """Per strategy_id: its own position and today's realized P&L, with the account's equity and free cash.
    A constant number of queries whatever the number of strategies."""
    ids = [s.strategy_id for s in strategies]
    view = portfolio_get()
    account = view.account
    equity = view.portfolio_value
    free_cash = cash_available(account=account)
    held: dict[str, Mapping[str, Any]] = {
        row["book"]: row
        for row in BookPosition.objects.filter(account=account, symbol_id=symbol_id, book__in=ids).values(
            "book", "qty", "cost_basis"
        )
    }
    day_start = dt.datetime.combine(market_clock().local_date(at), dt.time(), tzinfo=market_clock().tz)
    realized = dict(
        Fill.objects.filter(
            order__source=Order.Source.STRATEGY,
            order__strategy_id__in=ids,
            executed_at__gte=day_start,
        )
        .values_list("order__strategy_id")
        .annotate(total=Sum("realized_pl"))
        .values_list("order__strategy_id", "total")
    )
    losses = _loss_exits(ids) if any(s.cooldown_bars for s in strategies) else {}
    zero = Decimal(0)
    return {
        sid: Book(
            qty=held.get(sid, {}).get("qty", zero),
            cost_basis=held.get(sid, {}).get("cost_basis", zero),
            realized_today=realized.get(sid) or zero,
            equity=equity,
            cash_available=free_cash,
            loss_exit_at=losses.get(sid),
        )
        for sid in ids
    }


def _loss_exits(ids: list[str]) -> dict[str, dt.datetime]:
    """Per strategy: when its last own sell fill that realized a loss executed (however the order filled)."""
    return dict(
        Fill.objects.filter(
            order__source=Order.Source.STRATEGY,
            order__strategy_id__in=ids,
            side=Order.Side.SELL,
            realized_pl__lt=0,
        )
        .values_list("order__strategy_id")
        .annotate(last=Max("executed_at"))
        .values_list("order__strategy_id", "last")
    )


def book_for(*, strategy: Strategy, at: dt.datetime) -> Book:
    return books_for(strategies=[strategy], symbol_id=strategy.symbol_id, at=at)[strategy.strategy_id]
