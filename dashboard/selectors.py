from django.db.models import OuterRef, Subquery

from market.models import PriceSample, Symbol
from portfolio.ledger import account_get_or_create
from portfolio.models import Account, EquitySnapshot


def equity_curve(*, account: Account | None = None, limit: int) -> list[dict]:
    """The account's recorded equity, oldest first: the newest `limit` snapshots."""
    account = account or account_get_or_create()
    rows = EquitySnapshot.objects.filter(account=account).order_by("-at").values("at", "equity")[:limit]
    return [{"time": row["at"], "equity": row["equity"]} for row in reversed(rows)]


def symbol_tickers() -> list[str]:
    return list(Symbol.objects.filter(is_active=True).order_by("ticker").values_list("ticker", flat=True))


def price_source_list() -> dict[str, str | None]:
    """Where each active symbol's newest sample came from (wordpress, devfeed, csv, manual), None when it has none."""
    newest = PriceSample.objects.filter(symbol=OuterRef("pk")).order_by("-timestamp").values("source")[:1]
    rows = Symbol.objects.filter(is_active=True).annotate(source=Subquery(newest)).order_by("ticker")
    return dict(rows.values_list("ticker", "source"))
