"""Reads of the account and its positions, valued at the latest stored prices: typed values, never rendered."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from market.selectors import LatestPrice, price_latest_list

from .ledger import account_get_or_create
from .models import Account, Position


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


def portfolio_get(*, account: Account | None = None, prices: list[LatestPrice] | None = None) -> PortfolioView:
    """The account valued at `prices` (the latest stored ones when not given)."""
    account = account or account_get_or_create()
    prices = price_latest_list(active_only=False) if prices is None else prices
    by_ticker = {p.ticker: p for p in prices}
    held = Position.objects.filter(account=account, qty__gt=0).select_related("symbol").order_by("symbol__ticker")
    positions = [_position_view(p, by_ticker.get(p.symbol.ticker)) for p in held]
    return PortfolioView(account=account, positions=positions, prices=prices)


def realized_pl_total(*, account: Account) -> Decimal:
    return Position.objects.filter(account=account).aggregate(total=Sum("realized_pl"))["total"] or Decimal("0")
