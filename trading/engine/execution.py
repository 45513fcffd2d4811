"""Running the strategies on a closed bar: the `bar_closed` listener, the task body, exactly-once orders.

Per (symbol, timeframe, bar): one read of the warm-up window shared by every strategy, a constant number of
reads for books and account, one bulk insert of the decision rows that place no order. A decision that orders
is written with its order in one transaction; the unique (strategy, bar_end) row and the deterministic
client_order_id make a redelivered or doubled bar place nothing again.
"""

import datetime as dt
import time
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from market.clock import market_clock, now
from market.selectors import bar_list
from tradingrobot.errors import DomainError
from tradingrobot.events import announce
from tradingrobot.ops.metrics import strategy_decision_count, strategy_evaluation_observe

from ..events import StrategyDecisionMade
from ..models import Fill, Order, Strategy, StrategyDecision
from ..order_request import OrderRequest
from ..services import order_place
from ..strategies import Bars
from .books import bar_end_of, books_for, halted
from .decide import Verdict, verdict_for, warmup_of
from .services import strategy_loss_exit_record

PLACED_BY = "strategy engine"


def client_order_id_for(*, strategy_id: str, ticker: str, timeframe: str, bar_end: dt.datetime) -> str:
    return f"strat:{strategy_id}:{ticker}:{timeframe}:{int(bar_end.timestamp())}"


def bar_evaluate(*, ticker: str, timeframe: str, bar_end: str | dt.datetime, strategy_pks: list[int]) -> int:
    """Decide every listed strategy on the bar ending at `bar_end`; returns the decisions recorded now
    (0 when every one was already decided: a redelivery)."""
    started = time.perf_counter()
    end = dt.datetime.fromisoformat(bar_end) if isinstance(bar_end, str) else bar_end
    strategies = list(
        Strategy.objects.select_related("symbol").filter(
            pk__in=strategy_pks, symbol__ticker=ticker, timeframe=timeframe
        )
    )
    done = set(
        StrategyDecision.objects.filter(strategy__in=strategies, bar_end=end).values_list("strategy_id", flat=True)
    )
    strategies = [s for s in strategies if s.pk not in done]
    if not strategies:
        return 0
    at = now()
    symbol = strategies[0].symbol
    window = max(max(warmup_of(s), s.cooldown_bars + 2) for s in strategies)  # cooldown counts bars in it
    rows = bar_list(symbol=symbol, timeframe=timeframe, limit=window, end=end).bars
    bars = Bars.from_rows(rows)
    if rows and bar_end_of(timeframe, rows[-1].timestamp) != end:
        bars = bars.upto(0)  # the closed bar is not in the store (rebuilt away): decide nothing on it
    books = books_for(strategies=strategies, symbol_id=symbol.pk, at=at)
    is_halted, market_open = halted(), market_clock().is_open(at)
    quiet: list[tuple[Strategy, Verdict]] = []
    recorded = 0
    for strategy in strategies:
        verdict = verdict_for(
            strategy,
            bars,
            books[strategy.strategy_id],
            bar_end=end,
            at=at,
            halted=is_halted,
            market_open=market_open,
        )
        if verdict.orders and strategy.mode == Strategy.Mode.LIVE:
            recorded += _decide_and_order(strategy, verdict, books[strategy.strategy_id].qty, end, at)
        else:
            quiet.append((strategy, verdict))
    recorded += _record_quiet(quiet, books, end, at)
    strategy_evaluation_observe(time.perf_counter() - started)
    return recorded


def _row(strategy: Strategy, verdict: Verdict, position: Decimal, end: dt.datetime, at: dt.datetime):
    return StrategyDecision(
        strategy=strategy,
        bar_end=end,
        decided_at=at,
        target=verdict.target,
        position_qty=position,
        indicators=verdict.indicators,
        outcome=verdict.outcome,
        reason=verdict.reason[:40],
        message=verdict.message[:500],
    )


def _record_quiet(quiet, books, end: dt.datetime, at: dt.datetime) -> int:
    if not quiet:
        return 0
    rows = [_row(s, v, books[s.strategy_id].qty, end, at) for s, v in quiet]
    with transaction.atomic():
        before = set(
            StrategyDecision.objects.filter(strategy__in=[s for s, _ in quiet], bar_end=end).values_list(
                "strategy_id", flat=True
            )
        )
        StrategyDecision.objects.bulk_create(rows, ignore_conflicts=True)
        fresh = [(s, r) for (s, _), r in zip(quiet, rows, strict=True) if s.pk not in before]
        for strategy, row in fresh:
            _announce(strategy, row)
    return len(fresh)


def _decide_and_order(strategy: Strategy, verdict: Verdict, position: Decimal, end: dt.datetime, at) -> int:
    row = _row(strategy, verdict, position, end, at)
    ticker = strategy.symbol.ticker
    with transaction.atomic():
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:  # another worker (or the first delivery) decided this bar
            return 0
        request = OrderRequest(
            ticker=ticker,
            side=verdict.outcome,
            qty=verdict.qty,
            client_order_id=client_order_id_for(
                strategy_id=strategy.strategy_id, ticker=ticker, timeframe=strategy.timeframe, bar_end=end
            ),
            strategy_id=strategy.strategy_id,
        )
        try:
            with transaction.atomic():
                order, _ = order_place(request=request, placed_by=PLACED_BY, source=Order.Source.STRATEGY)
        except DomainError as refusal:
            row.outcome, row.reason = StrategyDecision.Outcome.SKIP, _refusal_reason(refusal)
            row.message = refusal.message[:500]
            row.save(update_fields=["outcome", "reason", "message"])
        else:
            row.order = order
            if order.status == Order.Status.REJECTED:
                row.message = f"Order rejected: {order.reject_reason}"[:500]
            row.save(update_fields=["order", "message"])
            if verdict.outcome == "sell" and _realized(order) < 0:
                strategy_loss_exit_record(strategy_pk=strategy.pk, bar_end=end)
        _announce(strategy, row)
    return 1


def _refusal_reason(refusal: DomainError) -> str:
    return "halted" if refusal.code == "trading_halted" else "risk_limit"


def _realized(order: Order) -> Decimal:
    return Fill.objects.filter(order=order).aggregate(total=Sum("realized_pl"))["total"] or Decimal(0)


def _announce(strategy: Strategy, row: StrategyDecision) -> None:
    strategy_decision_count(row.outcome, row.reason)
    announce(
        StrategyDecisionMade(
            type="strategy_decision",
            strategy_id=strategy.strategy_id,
            symbol=strategy.symbol.ticker,
            timeframe=strategy.timeframe,
            bar_end=row.bar_end.astimezone(dt.UTC).isoformat(),
            outcome=row.outcome,
            reason=row.reason,
            message=row.message,
            order_id=row.order_id,
            indicators=row.indicators,
        )
    )
