"""Reads of the account and its positions, valued at the latest stored prices: typed values, never rendered."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import CharField, F, Sum, Value

from market.selectors import LatestPrice, price_latest_list, price_latest_subquery

from .ledger import account_get_or_create
from .models import Account, BookPosition, Position


@dataclass(frozen=True)
class PositionView:
    symbol: str
    qty: Decimal
    avg_entry_price: Decimal
    current_price: Decimal
    market_value: Decimal
    cost_basis: Decimal
    unrealized_pl: Decimal
    unrealized_plpc: Decimal
    realized_pl: Decimal


@dataclass(frozen=True)
class PortfolioView:
    account: Account
    positions: list[PositionView]
    prices: list[LatestPrice]

    @property
    def long_market_value(self) -> Decimal:
        return sum((p.market_value for p in self.positions), Decimal("0"))

    @property
    def portfolio_value(self) -> Decimal:
        return self.account.cash + self.long_market_value

    @property
    def unrealized_pl(self) -> Decimal:
        return sum((p.unrealized_pl for p in self.positions), Decimal("0"))


def _position_view(position: Position, latest: LatestPrice | None) -> PositionView:
    current = latest.price if latest and latest.price is not None else position.avg_entry_price
    market_value = position.qty * current
    unrealized = market_value - position.cost_basis
    plpc = (unrealized / position.cost_basis).quantize(Decimal("0.000001")) if position.cost_basis else Decimal("0")
    return PositionView(
        symbol=position.symbol.ticker,
        qty=position.qty,
        avg_entry_price=position.avg_entry_price,
        current_price=current,
        market_value=market_value,
        cost_basis=position.cost_basis,
        unrealized_pl=unrealized,
        unrealized_plpc=plpc,
        realized_pl=position.realized_pl,
    )


def portfolio_get(*, account: Account | None = None) -> PortfolioView:
    account = account or account_get_or_create()
    prices = price_latest_list(active_only=False)
    by_ticker = {p.ticker: p for p in prices}
    held = Position.objects.filter(account=account, qty__gt=0).select_related("symbol").order_by("symbol__ticker")
    positions = [_position_view(p, by_ticker.get(p.symbol.ticker)) for p in held]
    return PortfolioView(account=account, positions=positions, prices=prices)


@dataclass(frozen=True)
class Valuation:
    """The account's positions and some books valued at the latest prices, as `portfolio_get` and
    `books_unrealized_pl` value them."""

    market_value: Decimal  # of the account's positions
    unrealized_pl: Decimal
    books_unrealized_pl: dict[str, Decimal]


def valuation_get(*, account: Account, books: list[str]) -> Valuation:
    """The account's and the `books`' open positions with their symbols' latest prices, in one query."""
    price = price_latest_subquery("symbol")
    columns = {"b": F("book"), "q": F("qty"), "c": F("cost_basis"), "p": price}
    held = Position.objects.filter(account=account, qty__gt=0).annotate(**(columns | {"b": Value(None, CharField())}))
    booked = BookPosition.objects.filter(account=account, book__in=books, qty__gt=0).annotate(**columns)
    rows = held.order_by().values_list(*columns).union(booked.order_by().values_list(*columns), all=True)
    market_value, unrealized = Decimal(0), Decimal(0)
    totals = {book: Decimal(0) for book in books}
    for book, qty, cost, latest in rows:
        if book is None:  # the account's position: without a price, at its average entry price (_position_view)
            current = latest if latest is not None else (cost / qty).quantize(Decimal("0.0001"))
            market_value += qty * current
            unrealized += qty * current - cost
        elif latest is not None:
            totals[book] += qty * latest - cost
    return Valuation(market_value=market_value, unrealized_pl=unrealized, books_unrealized_pl=totals)


def realized_pl_total(*, account: Account) -> Decimal:
    return Position.objects.filter(account=account).aggregate(total=Sum("realized_pl"))["total"] or Decimal("0")
