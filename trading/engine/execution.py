"""Running the strategies on a closed bar: the `bar_closed` listener, the task body, exactly-once orders.

One transaction per (symbol, timeframe, bar), under a lock on that bar: read which strategies are already
decided on it (a redelivery, a second worker), one read of the warm-up window shared by every strategy, a
constant number of reads for books and account, then the bar's orders placed together by
`trading.order_batch.orders_place_batch` (the locks once, the rules of `order_place`, bulk writes) and one
bulk insert of the decision rows. The lock, the unique (strategy, bar_end) row and the deterministic
client_order_id make a redelivered or doubled bar place nothing again; a worker killed mid-way commits nothing.
"""

import datetime as dt
import hashlib
import time
from decimal import Decimal

from django.db import connection, transaction

from market.clock import market_clock, now
from market.selectors import bar_list
from tradingrobot.errors import DomainError
from tradingrobot.events import announce
from tradingrobot.ops.metrics import strategy_decision_count, strategy_evaluation_observe

from ..events import StrategyDecisionMade
from ..models import Order, Strategy, StrategyDecision
from ..order_batch import Placed, orders_place_batch
from ..order_request import OrderRequest
from ..strategies import Bars
from .books import bar_end_of, books_for, halted
from .decide import Book, Verdict, verdict_for, warmup_of
from .services import strategies_loss_exit_record

PLACED_BY = "strategy engine"


def client_order_id_for(*, strategy_id: str, ticker: str, timeframe: str, bar_end: dt.datetime) -> str:
    return f"strat:{strategy_id}:{ticker}:{timeframe}:{int(bar_end.timestamp())}"


def bar_lock(*, ticker: str, timeframe: str, bar_end: dt.datetime) -> None:
    """Every evaluation of this bar waits for the one in flight (PostgreSQL; SQLite serialises writers)."""
    if connection.vendor != "postgresql":
        return
    key = f"bar:{ticker}:{timeframe}:{int(bar_end.timestamp())}"
    lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


def bar_evaluate(*, ticker: str, timeframe: str, bar_end: str | dt.datetime, strategy_pks: list[int]) -> int:
    """Decide every listed strategy on the bar ending at `bar_end`; returns the decisions recorded now
    (0 when every one was already decided: a redelivery)."""
    started = time.perf_counter()
    end = dt.datetime.fromisoformat(bar_end) if isinstance(bar_end, str) else bar_end
    with transaction.atomic():
        bar_lock(ticker=ticker, timeframe=timeframe, bar_end=end)
        recorded = _evaluate(ticker, timeframe, end, strategy_pks)
    if recorded:
        strategy_evaluation_observe(time.perf_counter() - started)
    return recorded


def _evaluate(ticker: str, timeframe: str, end: dt.datetime, strategy_pks: list[int]) -> int:
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
    verdicts = [
        (s, verdict_for(s, bars, books[s.strategy_id], bar_end=end, at=at, halted=is_halted, market_open=market_open))
        for s in strategies
    ]
    ordering = [(s, v) for s, v in verdicts if v.orders and s.mode == Strategy.Mode.LIVE]
    placed = orders_place_batch(ticker=ticker, requests=[_request(s, v, end) for s, v in ordering], placed_by=PLACED_BY)
    results = {s.pk: result for (s, _), result in zip(ordering, placed, strict=True)}
    decisions = [_row(s, v, books[s.strategy_id].qty, end, at, results.get(s.pk)) for s, v in verdicts]
    StrategyDecision.objects.bulk_create(decisions)
    _loss_exits(strategies, books, results, at)
    announce(*[_event(s, row) for (s, _), row in zip(verdicts, decisions, strict=True)])
    for row in decisions:
        strategy_decision_count(row.outcome, row.reason)
    return len(decisions)


def _request(strategy: Strategy, verdict: Verdict, end: dt.datetime) -> OrderRequest:
    ticker = strategy.symbol.ticker
    return OrderRequest(
        ticker=ticker,
        side=verdict.outcome,
        qty=verdict.qty,
        client_order_id=client_order_id_for(
            strategy_id=strategy.strategy_id, ticker=ticker, timeframe=strategy.timeframe, bar_end=end
        ),
        strategy_id=strategy.strategy_id,
    )


def _row(
    strategy: Strategy,
    verdict: Verdict,
    position: Decimal,
    end: dt.datetime,
    at: dt.datetime,
    placed: Placed | None = None,
) -> StrategyDecision:
    row = StrategyDecision(
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
    if placed is not None and placed.refusal is not None:
        row.outcome, row.reason = StrategyDecision.Outcome.SKIP, _refusal_reason(placed.refusal)
        row.message = placed.refusal.message[:500]
    elif placed is not None and placed.order is not None:
        row.order = placed.order
        if placed.order.status == Order.Status.REJECTED:
            row.message = f"Order rejected: {placed.order.reject_reason}"[:500]
    return row


def _refusal_reason(refusal: DomainError) -> str:
    return "halted" if refusal.code == "trading_halted" else "risk_limit"


def _loss_exits(strategies: list[Strategy], books: dict[str, Book], results: dict[int, Placed], at) -> None:
    """Keep each strategy's `loss_exit_at` at its last losing exit: one filled now, or one its fills show
    (a resting order that filled later at a loss)."""
    exits: dict[int, dt.datetime] = {}
    for strategy in strategies:
        last = books[strategy.strategy_id].loss_exit_at
        placed = results.get(strategy.pk)
        order = placed.order if placed else None
        if order is not None and order.side == Order.Side.SELL and placed and (placed.realized or 0) < 0:
            last = order.filled_at
        if last is not None and (strategy.loss_exit_at is None or last > strategy.loss_exit_at):
            exits[strategy.pk] = last
    if exits:
        strategies_loss_exit_record(exits=exits)


def _event(strategy: Strategy, row: StrategyDecision) -> StrategyDecisionMade:
    return StrategyDecisionMade(
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
