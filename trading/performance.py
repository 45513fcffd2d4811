"""Performance from the ledger: P&L, win rate, profit factor, drawdown, Sharpe, ROI — overall and per strategy.
The formulas are `trading.metrics` (the same module computes the backtest reports); this module feeds it the
ledger's fills and equity curve and keeps the documents' keys (`LIVE_KEYS`).

Overall figures value the account (cash + positions at the latest prices) along its equity snapshots.
Per strategy, its realized P&L is over the fills of its orders (by strategy_id) and its unrealized P&L is that of
its own book (portfolio/books.py: the shares its engine orders bought, at the latest prices); its curve starts
from the account's starting cash. Manual orders filed under a strategy_id are realized there but held in the
manual book.
"""

from decimal import Decimal

from market.clock import market_clock, now
from portfolio.books import book_unrealized_pl
from portfolio.ledger import account_get_or_create
from portfolio.models import Account, EquitySnapshot
from portfolio.selectors import portfolio_get
from trading.metrics import Metrics, metrics_compute
from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import NotFound

from .models import Fill, Order
from .outbox import outbox_performance_add

ZERO = Decimal("0")
ALL = "ALL"  # the strategy id of the whole account

# The keys of the live documents (/api/performance, the push-back): their wire shape, unchanged.
LIVE_KEYS = (
    "total_pnl",
    "realized_pnl",
    "unrealized_pnl",
    "daily_pnl",
    "monthly_pnl",
    "total_trades",
    "winning_trades",
    "losing_trades",
    "win_rate",
    "avg_return",
    "profit_factor",
    "max_drawdown",
    "sharpe_ratio",
    "roi",
)


def live_json(metrics: Metrics) -> dict:
    document = metrics.as_json()
    return {key: document[key] for key in LIVE_KEYS}


def _fills(account: Account, strategy_id: str | None):
    fills = Fill.objects.filter(account=account).order_by("executed_at", "id")
    if strategy_id:
        fills = fills.filter(order__strategy_id=strategy_id)
    return list(fills.values_list("executed_at", "side", "qty", "price", "commission", "realized_pl"))


def performance_compute(*, strategy_id: str | None = None, account: Account | None = None) -> Metrics:
    account = account or account_get_or_create()
    at = now()
    fills = _fills(account, strategy_id)
    closing = [  # (P&L, cost of the shares sold) of each sell
        (realized, qty * price - realized - commission)
        for _, side, qty, price, commission, realized in fills
        if side == "sell"
    ]
    realized = sum((f[5] for f in fills), ZERO)

    if strategy_id:
        unrealized = book_unrealized_pl(account_id=account.pk, book=strategy_id)
        running, curve = account.starting_cash, [(account.created_at, account.starting_cash)]
        for executed_at, *_, fill_realized in fills:
            running += fill_realized
            curve.append((executed_at, running))
        current = running + unrealized
        curve.append((at, current))
    else:
        view = portfolio_get(account=account)
        unrealized = view.unrealized_pl
        curve = [(account.created_at, account.starting_cash)]
        curve += list(EquitySnapshot.objects.filter(account=account).order_by("at").values_list("at", "equity"))
        curve.append((at, view.portfolio_value))
        curve.sort(key=lambda point: point[0])

    return metrics_compute(
        starting_cash=account.starting_cash,
        realized=realized,
        unrealized=unrealized,
        fills=len(fills),
        closing=closing,
        curve_times=[point[0] for point in curve],
        curve_values=[point[1] for point in curve],
        as_of=at,
        tz=market_clock().tz,
    )


def strategy_ids(*, account: Account | None = None) -> list[str]:
    account = account or account_get_or_create()
    ids = Order.objects.filter(account=account, fills__isnull=False).values_list("strategy_id", flat=True)
    return sorted(set(ids) - {""})


def performance_report(*, strategy_id: str | None = None) -> dict:
    """The account's metrics with every strategy's (no `strategy_id`), or one strategy's (`ALL`: the account's
    alone). A strategy without trades is NotFound, naming the ones that have some."""
    account = account_get_or_create()
    known = strategy_ids(account=account)
    one = strategy_id not in (None, "", ALL)
    if one and strategy_id not in known:
        listed = ", ".join(known) or "none yet"
        raise NotFound(
            f"No trades for strategy {str(strategy_id)[:64]!r}; strategies with trades: {listed}.",
            code=ErrorCode.UNKNOWN_STRATEGY,
        )
    at = now()
    report = {
        "strategy_id": strategy_id or ALL,
        "period": {"start_date": account.created_at, "end_date": at},
        "metrics": live_json(performance_compute(strategy_id=strategy_id if one else None, account=account)),
        "timestamp": at,
    }
    if not strategy_id:
        report["strategies"] = [
            {"strategy_id": s, "metrics": live_json(performance_compute(strategy_id=s, account=account))} for s in known
        ]
    return report


def performance_document(*, strategy_id: str | None = None) -> dict:
    """The WordPress `/performance/{strategy_id}/metrics` shape; times in UTC (`*_utc`), made site-local on delivery."""
    report = performance_report(strategy_id=strategy_id or ALL)
    return {
        "strategy_id": report["strategy_id"],
        "period_utc": {name: moment.isoformat() for name, moment in report["period"].items()},
        "metrics": report["metrics"],
    }


def performance_push_enqueue() -> int:
    """Queue the overall and per-strategy metrics for WordPress (delivered by the outbox, in order)."""
    stamp = now().replace(microsecond=0)
    documents = [performance_document()] + [performance_document(strategy_id=s) for s in strategy_ids()]
    return outbox_performance_add(documents=documents, at=stamp)
