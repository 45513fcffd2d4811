"""Performance from the ledger: P&L, win rate, profit factor, drawdown, Sharpe, ROI — overall and per strategy.
The formulas are `trading.metrics` (the same module computes the backtest reports); this module feeds it the
ledger's fills and a daily equity curve and keeps the documents' keys (`LIVE_KEYS`).

Bounded work: the curves are daily closes (drawdown and Sharpe from the last value of each market-local day,
intraday dips not counted), every strategy's fills are read in two grouped queries, at most
PERFORMANCE_MAX_STRATEGIES strategies are listed (the most recently traded), and a report is memoized per
ledger version (every fill and price write bumps it; PERFORMANCE_CACHE_SECONDS bounds its age).

Overall figures value the account (cash + positions at the latest prices) along its daily closes
(portfolio.EquityClose: each day's last equity snapshot), ending at the current value.
Per strategy, its realized P&L is over the fills of its orders (by strategy_id) and its unrealized P&L is that of
its own book (portfolio/books.py: the shares its engine orders bought, at the latest prices); its curve starts
from the account's starting cash and closes each day at the realized P&L so far. Manual orders filed under a
strategy_id are realized there but held in the manual book.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncDate

from market.clock import market_clock, now
from portfolio.books import books_unrealized_pl
from portfolio.ledger import account_get_or_create
from portfolio.models import Account, EquityClose
from portfolio.selectors import portfolio_get
from trading.metrics import Metrics, metrics_compute
from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import NotFound
from tradingrobot.snapshot_cache import VersionedMemo

from .models import Fill, Order
from .outbox import outbox_performance_add

ZERO = Decimal("0")
ALL = "ALL"  # the strategy id of the whole account
performance_memo = VersionedMemo("ledger:version", max_age=lambda: settings.PERFORMANCE_CACHE_SECONDS, max_entries=64)

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


@dataclass
class FillSummary:
    """What the metrics need of a set of fills: counts, realized P&L per market-local day, closing trades."""

    fills: int = 0
    realized: Decimal = ZERO
    days: list[tuple[dt.datetime, Decimal]] = field(default_factory=list)  # (last fill of the day, realized)
    closing: list[tuple[Decimal, Decimal]] = field(default_factory=list)  # (P&L, cost of the shares sold)


def _fill_summaries(account: Account, strategy_ids: list[str] | None, tz: ZoneInfo) -> dict[str, FillSummary]:
    """One summary per strategy id (None: one for the whole account, under ALL), in two queries."""
    fills = Fill.objects.filter(account=account)
    if strategy_ids is not None:
        fills = fills.filter(order__strategy_id__in=strategy_ids)
    group = "order__strategy_id" if strategy_ids is not None else None
    summaries = {s: FillSummary() for s in (strategy_ids if strategy_ids is not None else [ALL])}
    daily = fills.annotate(day=TruncDate("executed_at", tzinfo=tz))
    names = [group, "day"] if group else ["day"]
    rows = daily.values(*names).annotate(last=Max("executed_at"), realized=Sum("realized_pl"), n=Count("id"))
    for row in rows.order_by(*names):
        summary = summaries[row[group] if group else ALL]
        summary.fills += row["n"]
        summary.realized += row["realized"]
        summary.days.append((row["last"], row["realized"]))
    sells = fills.filter(side=Order.Side.SELL).order_by("executed_at", "id")
    for sid, qty, price, commission, realized in sells.values_list(
        group or "side", "qty", "price", "commission", "realized_pl"
    ):
        summaries[sid if group else ALL].closing.append((realized, qty * price - realized - commission))
    return summaries


def _compute(
    account: Account, summary: FillSummary, unrealized: Decimal, curve: list[tuple[dt.datetime, Decimal]], at
) -> Metrics:
    curve.sort(key=lambda point: point[0])
    return metrics_compute(
        starting_cash=account.starting_cash,
        realized=summary.realized,
        unrealized=unrealized,
        fills=summary.fills,
        closing=summary.closing,
        curve_times=[point[0] for point in curve],
        curve_values=[point[1] for point in curve],
        as_of=at,
        tz=market_clock().tz,
    )


def _strategy_metrics(account: Account, strategy_ids: list[str], at: dt.datetime) -> dict[str, Metrics]:
    summaries = _fill_summaries(account, strategy_ids, market_clock().tz)
    unrealized = books_unrealized_pl(account_id=account.pk, books=strategy_ids)
    metrics = {}
    for sid, summary in summaries.items():
        running, curve = account.starting_cash, [(account.created_at, account.starting_cash)]
        for last, realized in summary.days:
            running += realized
            curve.append((last, running))
        curve.append((at, running + unrealized[sid]))
        metrics[sid] = _compute(account, summary, unrealized[sid], curve, at)
    return metrics


def _account_metrics(account: Account, at: dt.datetime) -> Metrics:
    summary = _fill_summaries(account, None, market_clock().tz)[ALL]
    view = portfolio_get(account=account)
    curve = [(account.created_at, account.starting_cash)]
    curve += list(EquityClose.objects.filter(account=account).order_by("day").values_list("at", "equity"))
    curve.append((at, view.portfolio_value))
    return _compute(account, summary, view.unrealized_pl, curve, at)


def performance_compute(*, strategy_id: str | None = None, account: Account | None = None) -> Metrics:
    account = account or account_get_or_create()
    at = now()
    if strategy_id:
        return _strategy_metrics(account, [strategy_id], at)[strategy_id]
    return _account_metrics(account, at)


def strategy_ids(*, account: Account | None = None) -> list[str]:
    """The strategies with fills, at most PERFORMANCE_MAX_STRATEGIES: the most recently traded, by id."""
    account = account or account_get_or_create()
    traded = (
        Order.objects.filter(account=account, fills__isnull=False)
        .exclude(strategy_id="")
        .values("strategy_id")
        .annotate(last=Max("fills__executed_at"))
        .order_by("-last", "strategy_id")
        .values_list("strategy_id", flat=True)
    )
    return sorted(traded[: settings.PERFORMANCE_MAX_STRATEGIES])


def _strategy_known(account: Account, strategy_id: str) -> bool:
    return Fill.objects.filter(account=account, order__strategy_id=strategy_id).exists()


def performance_report(*, strategy_id: str | None = None) -> dict:
    """The account's metrics with the listed strategies' (no `strategy_id`), or one strategy's (`ALL`: the
    account's alone). A strategy without trades is NotFound, naming the ones that have some. Memoized per
    ledger version."""
    return performance_memo.get(("report", strategy_id or ""), lambda: _report(strategy_id))


def _report(strategy_id: str | None) -> dict:
    account = account_get_or_create()
    one = strategy_id not in (None, "", ALL)
    if one and not _strategy_known(account, str(strategy_id)):
        listed = ", ".join(strategy_ids(account=account)) or "none yet"
        raise NotFound(
            f"No trades for strategy {str(strategy_id)[:64]!r}; strategies with trades: {listed}.",
            code=ErrorCode.UNKNOWN_STRATEGY,
        )
    at = now()
    metrics = _strategy_metrics(account, [str(strategy_id)], at)[str(strategy_id)] if one else None
    report = {
        "strategy_id": strategy_id or ALL,
        "period": {"start_date": account.created_at, "end_date": at},
        "metrics": live_json(metrics or _account_metrics(account, at)),
        "timestamp": at,
    }
    if not strategy_id:
        listed = _strategy_metrics(account, strategy_ids(account=account), at)
        report["strategies"] = [{"strategy_id": s, "metrics": live_json(m)} for s, m in sorted(listed.items())]
    return report


def performance_document(*, strategy_id: str | None = None) -> dict:
    """The WordPress `/performance/{strategy_id}/metrics` shape; times in UTC (`*_utc`), made site-local on delivery."""
    report = performance_report(strategy_id=strategy_id or ALL)
    return _document(report, report["strategy_id"], report["metrics"])


def _document(report: dict, strategy_id: str, metrics: dict) -> dict:
    period = {name: moment.isoformat() for name, moment in report["period"].items()}
    return {"strategy_id": strategy_id, "period_utc": period, "metrics": metrics}


def performance_push_enqueue() -> int:
    """Queue the overall and the listed strategies' metrics for WordPress (delivered by the outbox, in order),
    from one report."""
    stamp = now().replace(microsecond=0)
    report = performance_report()
    documents = [_document(report, ALL, report["metrics"])]
    documents += [_document(report, s["strategy_id"], s["metrics"]) for s in report["strategies"]]
    return outbox_performance_add(documents=documents, at=stamp)
