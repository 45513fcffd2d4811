"""Performance from the ledger: P&L, win rate, profit factor, drawdown, Sharpe, ROI — overall and per strategy.
The formulas are `trading.metrics` (the same module computes the backtest reports); this module feeds it the
ledger's fills and a daily equity curve and keeps the documents' keys (`LIVE_KEYS`).

Bounded work: the curves are daily closes (drawdown and Sharpe from the last value of each market-local day,
intraday dips not counted), at most PERFORMANCE_MAX_STRATEGIES strategies are listed (the most recently traded),
and a report is memoized per ledger version (every fill and price write bumps it; PERFORMANCE_CACHE_SECONDS
bounds its age). A rebuilt report reuses what did not change: the fills' totals while the fills version stands
(performance_state.py: a price write reads no fill; a fill reads only the new ones), each strategy's summary
folded forward from them (performance_summaries.py), the daily closes from the last day held on
(performance_closes.py), a strategy's metrics while its inputs are the same (`strategy_memo`); the account's
and the books' positions are valued in one query (portfolio.selectors.valuation_get).

Overall figures value the account (cash + positions at the latest prices) along its daily closes
(portfolio.EquityClose: each day's last equity snapshot), ending at the current value.
Per strategy, its realized P&L is over the fills of its orders (by strategy_id) and its unrealized P&L is that of
its own book (portfolio/books.py: the shares its engine orders bought, at the latest prices); its curve starts
from the account's starting cash and closes each day at the realized P&L so far. Manual orders filed under a
strategy_id are realized there but held in the manual book.
"""

import datetime as dt
from collections.abc import Hashable
from decimal import Decimal
from typing import Any

from django.conf import settings

from market.clock import market_clock, now
from portfolio.ledger import account_get_or_create
from portfolio.models import Account
from portfolio.selectors import Valuation, valuation_get
from trading.metrics import MIN_DAYS_FOR_ANNUALISED, Metrics, metrics_compute
from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import NotFound
from tradingrobot.snapshot_cache import VersionedMemo

from .outbox import outbox_performance_add
from .performance_closes import ClosesMemo
from .performance_fills import ALL, ContentMemo, FillSummary, Traded, fill_summaries, traded_list
from .performance_state import AccountFills, AccountFillsMemo
from .performance_summaries import StrategySummaries

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


def _compute(
    account: Account, summary: FillSummary, unrealized: Decimal, curve: list[tuple[dt.datetime, Decimal]], at
) -> Metrics:
    curve.sort(key=lambda point: point[0])
    return metrics_compute(
        starting_cash=account.starting_cash,
        realized=summary.realized,
        unrealized=unrealized,
        fills=summary.fills,
        closing=summary.stats,
        curve_times=[point[0] for point in curve],
        curve_values=[point[1] for point in curve],
        as_of=at,
        tz=market_clock().tz,
    )


def _strategy_metrics(
    account: Account, summaries: dict[str, FillSummary], unrealized: dict[str, Decimal], at: dt.datetime
) -> dict[str, Metrics]:
    metrics = {}
    for sid, summary in summaries.items():
        running, curve = account.starting_cash, [(account.created_at, account.starting_cash)]
        for last, realized in summary.days:
            running += realized
            curve.append((last, running))
        curve.append((at, running + unrealized[sid]))
        metrics[sid] = _compute(account, summary, unrealized[sid], curve, at)
    return metrics


def _account_metrics(account: Account, summary: FillSummary, at: dt.datetime, valued: Valuation) -> Metrics:
    curve = [(account.created_at, account.starting_cash)]
    curve += account_closes.get(account)
    curve.append((at, account.cash + valued.market_value))
    return _compute(account, summary, valued.unrealized_pl, curve, at)


def performance_compute(*, strategy_id: str | None = None, account: Account | None = None) -> Metrics:
    """The metrics now, computed afresh (the documents below reuse what they can)."""
    account = account or account_get_or_create()
    at = now()
    if strategy_id:
        unrealized = valuation_get(account=account, books=[strategy_id]).books_unrealized_pl
        summaries = fill_summaries(account, [strategy_id], market_clock().tz)
        return _strategy_metrics(account, summaries, unrealized, at)[strategy_id]
    valued = valuation_get(account=account, books=[])
    return _account_metrics(account, fill_summaries(account, None, market_clock().tz)[ALL], at, valued)


def strategy_ids(*, account: Account | None = None) -> list[str]:
    """The strategies listed: with fills, at most PERFORMANCE_MAX_STRATEGIES, the most recently traded, by id."""
    return [t.strategy_id for t in traded_list(account or account_get_or_create())]


# What a strategy's live metrics depend on besides its fills: its book's open P&L and the market-local date
# (daily and monthly P&L, today's close, whether the curve is long enough to annualise). Metrics of the same
# inputs are reused from `strategy_memo`; only strategies with a new fill or price move are computed.
strategy_memo = ContentMemo(max_entries=1024)
account_fills = AccountFillsMemo()
strategy_summaries = StrategySummaries(max_entries=1024)
account_closes = ClosesMemo()


def _live_key(account: Account, traded: Traded, unrealized: Decimal, at: dt.datetime) -> Hashable:
    annualised = (at - account.created_at) >= dt.timedelta(days=MIN_DAYS_FOR_ANNUALISED)
    return (account.pk, account.starting_cash, traded, unrealized, market_clock().local_date(at), annualised)


def _strategies_live(
    account: Account, traded: list[Traded], at: dt.datetime, valued: Valuation, fills: AccountFills | None
) -> dict[str, dict]:
    unrealized = {t.strategy_id: valued.books_unrealized_pl[t.strategy_id] for t in traded}
    keys = {t.strategy_id: _live_key(account, t, unrealized[t.strategy_id], at) for t in traded}

    def build(names: list[str]) -> dict[str, dict]:
        chosen = [t for t in traded if t.strategy_id in set(names)]
        summaries = strategy_summaries.get(account, chosen, fills, market_clock().tz)
        return {sid: live_json(m) for sid, m in _strategy_metrics(account, summaries, unrealized, at).items()}

    return strategy_memo.get_many(keys, build)


def _account_live(account: Account, fills: AccountFills, at: dt.datetime, valued: Valuation) -> dict:
    return live_json(_account_metrics(account, fills.summary(), at, valued))


def performance_report(*, strategy_id: str | None = None) -> dict:
    """The account's metrics with the listed strategies' (no `strategy_id`), or one strategy's (`ALL`: the
    account's alone). A strategy without trades is NotFound, naming the ones that have some. Memoized per
    ledger version."""
    return performance_memo.get(("report", strategy_id or ""), lambda: _report(strategy_id))


def _report(strategy_id: str | None) -> dict:
    account = account_get_or_create()
    one = strategy_id not in (None, "", ALL)
    traded = traded_list(account, strategy_id=str(strategy_id)) if one else []
    if one and not traded:
        listed = ", ".join(strategy_ids(account=account)) or "none yet"
        raise NotFound(
            f"No trades for strategy {str(strategy_id)[:64]!r}; strategies with trades: {listed}.",
            code=ErrorCode.UNKNOWN_STRATEGY,
        )
    at = now()
    if one:
        valued = valuation_get(account=account, books=[str(strategy_id)])
        fills, metrics = None, _strategies_live(account, traded, at, valued, None)[str(strategy_id)]
    else:
        fills = account_fills.get(account, reuse=settings.PERFORMANCE_CACHE_SECONDS > 0)
        traded = fills.listed(settings.PERFORMANCE_MAX_STRATEGIES)
        valued = valuation_get(account=account, books=[t.strategy_id for t in traded])  # one query for all
        metrics = _account_live(account, fills, at, valued)
    report: dict[str, Any] = {
        "strategy_id": strategy_id or ALL,
        "period": {"start_date": account.created_at, "end_date": at},
        "metrics": metrics,
        "timestamp": at,
    }
    if not strategy_id:
        assert fills is not None  # the account's report
        live = _strategies_live(account, traded, at, valued, fills)
        report["strategies"] = [{"strategy_id": s, "metrics": live[s]} for s in sorted(live)]
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
