"""Performance from the fills and the ledger: P&L, win rate, profit factor, drawdown, Sharpe, ROI, overall and
per strategy.

Overall figures value the account (cash + positions at the latest prices) along its equity snapshots.
Per strategy, positions are not split between strategies, so a strategy's curve is its realized P&L over
its fills (starting from the account's starting cash) and its unrealized P&L is not attributed.
"""

import datetime as dt
import itertools
import math
import statistics
from dataclasses import asdict, dataclass
from decimal import Decimal

from market.clock import market_clock, now
from portfolio.ledger import account_get_or_create
from portfolio.models import Account, EquitySnapshot
from portfolio.selectors import portfolio_get
from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import NotFound

from .models import Fill, Order
from .outbox import outbox_performance_add

ZERO = Decimal("0")
ALL = "ALL"  # the strategy id of the whole account
TRADING_DAYS = 252


@dataclass(frozen=True)
class Metrics:
    total_pnl: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    daily_pnl: Decimal
    monthly_pnl: Decimal
    total_trades: int
    winning_trades: int
    losing_trades: int
    win_rate: float | None  # percent of closing trades that made money
    avg_return: float | None  # percent, mean over closing trades of P&L / cost of the shares sold
    profit_factor: float | None  # gross profit / gross loss of closing trades
    max_drawdown: float  # percent, deepest fall from a peak of the curve
    sharpe_ratio: float | None  # annualised, from daily returns of the curve
    roi: float  # percent of the starting cash

    def as_json(self) -> dict:
        return {k: (float(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


def _fills(account: Account, strategy_id: str | None):
    fills = Fill.objects.filter(account=account).order_by("executed_at", "id")
    if strategy_id:
        fills = fills.filter(order__strategy_id=strategy_id)
    return list(fills.values_list("executed_at", "side", "qty", "price", "commission", "realized_pl"))


def _value_before(curve: list[tuple[dt.datetime, Decimal]], moment: dt.datetime, default: Decimal) -> Decimal:
    value = default
    for at, point in curve:
        if at >= moment:
            break
        value = point
    return value


def _max_drawdown(values: list[Decimal]) -> float:
    peak, deepest = None, 0.0
    for value in values:
        peak = value if peak is None or value > peak else peak
        if peak and peak > 0:
            deepest = max(deepest, float((peak - value) / peak * 100))
    return round(deepest, 4)


def _sharpe(curve: list[tuple[dt.datetime, Decimal]]) -> float | None:
    clock = market_clock()
    closes: dict[dt.date, Decimal] = {}
    for at, value in curve:
        closes[clock.local_date(at)] = value  # the last value of each exchange day
    values = [closes[day] for day in sorted(closes)]
    returns = [float(b / a - 1) for a, b in itertools.pairwise(values) if a]
    if len(returns) < 2:
        return None
    spread = statistics.stdev(returns)
    if spread == 0:
        return None
    return round(statistics.fmean(returns) / spread * math.sqrt(TRADING_DAYS), 4)


def performance_compute(*, strategy_id: str | None = None, account: Account | None = None) -> Metrics:
    account = account or account_get_or_create()
    at = now()
    fills = _fills(account, strategy_id)
    closing = [
        (qty * price - realized - commission, realized)
        for _, side, qty, price, commission, realized in fills
        if side == "sell"
    ]
    gains = [realized for _, realized in closing if realized > 0]
    losses = [realized for _, realized in closing if realized < 0]
    realized = sum((f[5] for f in fills), ZERO)
    returns = [float(r / c * 100) for c, r in closing if c]

    if strategy_id:
        unrealized = ZERO
        running, curve = account.starting_cash, [(account.created_at, account.starting_cash)]
        for executed_at, *_, fill_realized in fills:
            running += fill_realized
            curve.append((executed_at, running))
        current = running
    else:
        view = portfolio_get(account=account)
        unrealized = view.unrealized_pl
        current = view.portfolio_value
        curve = [(account.created_at, account.starting_cash)]
        curve += list(EquitySnapshot.objects.filter(account=account).order_by("at").values_list("at", "equity"))
        curve.append((at, current))
        curve.sort(key=lambda point: point[0])

    clock = market_clock()
    today = clock.local_date(at)
    day_start = dt.datetime.combine(today, dt.time(), tzinfo=clock.tz)
    month_start = dt.datetime.combine(today.replace(day=1), dt.time(), tzinfo=clock.tz)
    start = account.starting_cash
    return Metrics(
        total_pnl=realized + unrealized,
        realized_pnl=realized,
        unrealized_pnl=unrealized,
        daily_pnl=current - _value_before(curve, day_start, start),
        monthly_pnl=current - _value_before(curve, month_start, start),
        total_trades=len(fills),
        winning_trades=len(gains),
        losing_trades=len(losses),
        win_rate=round(len(gains) / len(closing) * 100, 4) if closing else None,
        avg_return=round(statistics.fmean(returns), 4) if returns else None,
        profit_factor=round(float(sum(gains) / -sum(losses)), 4) if losses else None,
        max_drawdown=_max_drawdown([value for _, value in curve]),
        sharpe_ratio=_sharpe(curve),
        roi=round(float((current - start) / start * 100), 4) if start else 0.0,
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
        "metrics": performance_compute(strategy_id=strategy_id if one else None, account=account).as_json(),
        "timestamp": at,
    }
    if not strategy_id:
        report["strategies"] = [
            {"strategy_id": s, "metrics": performance_compute(strategy_id=s, account=account).as_json()} for s in known
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
