from market.clock import now
from market.models import Symbol
from portfolio.ledger import account_get_or_create
from portfolio.models import Account, EquitySnapshot
from trading.backtest.models import BacktestRun
from trading.strategy_documents import strategies_document


def equity_curve(*, account: Account | None = None, limit: int) -> list[dict]:
    """The account's recorded equity, oldest first: the newest `limit` snapshots."""
    account = account or account_get_or_create()
    rows = EquitySnapshot.objects.filter(account=account).order_by("-at").values("at", "equity")[:limit]
    return [{"time": row["at"], "equity": row["equity"]} for row in reversed(rows)]


def symbol_tickers() -> list[str]:
    return list(Symbol.objects.filter(is_active=True).order_by("ticker").values_list("ticker", flat=True))


def strategy_pnl_map() -> dict[str, str | None]:
    """Each strategy's own P&L (realized plus unrealized at the last price), as the site's strategy list gives it."""
    document = strategies_document(at=now())
    return {item["strategy_id"]: item["pnl"] for item in document["strategies"]}


def backtest_list(*, limit: int) -> list[BacktestRun]:
    """The newest runs the operator started (a sweep's combinations are inside their parent), newest first."""
    return list(BacktestRun.objects.filter(parent__isnull=True).order_by("-id")[:limit])
