"""Reads of the account and its positions, valued at the latest stored prices."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from market.selectors import LatestPrice, price_latest_list
from tradingrobot.serializer_fields import iso_z
from tradingrobot.snapshot_cache import memoized

from .ledger import account_get_or_create
from .models import Account, Position

CENT = Decimal("0.01")


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


def realized_pl_total(*, account: Account) -> Decimal:
    return Position.objects.filter(account=account).aggregate(total=Sum("realized_pl"))["total"] or Decimal("0")


def _status_base() -> tuple[dict, list]:
    """The ledger part of the status document, serialised once, and the price timestamps."""
    from trading.services import trading_state_get

    from .serializers import StatusOut

    view = portfolio_get()
    state = trading_state_get()
    body = {
        "timestamp": None,
        "market_open": False,
        "next_open": None,
        "next_close": None,
        "portfolio_value": view.portfolio_value,
        "cash_balance": view.account.cash,
        "positions": [vars(p) for p in view.positions],
        "total_positions": len(view.positions),
        "trading_halted": state.halted,
        "halt_reason": state.reason if state.halted else "",
        "halted_by": state.changed_by if state.halted else "",
        "halted_since": state.changed_at if state.halted else None,
        "prices": [
            {"symbol": p.ticker, "price": p.price, "timestamp": p.timestamp, "age_seconds": None, "stale": True}
            for p in view.prices
        ],
    }
    return StatusOut(body).data, [p.timestamp for p in view.prices]


def status_data() -> dict:
    """The `/api/status` document (also pushed on the WebSocket), JSON-ready. The ledger part comes from
    a memo invalidated by every trading event; the clock-dependent fields are computed for this instant."""
    from market.clock import market_clock, now
    from market.selectors import price_is_stale

    base, timestamps = memoized("status", _status_base)
    at = now()
    clock = market_clock()
    data = dict(base)
    data["timestamp"] = iso_z(at)
    data["market_open"] = clock.is_open(at)
    data["next_open"] = iso_z(clock.next_open(at))
    data["next_close"] = iso_z(clock.next_close(at))
    data["prices"] = [
        {
            **price,
            "age_seconds": None if ts is None else round((at - ts).total_seconds(), 3),
            "stale": price_is_stale(timestamp=ts, at=at),
        }
        for price, ts in zip(base["prices"], timestamps, strict=True)
    ]
    return data


def portfolio_data() -> dict:
    from trading.services import cash_available, trading_state_get

    from .serializers import PortfolioOut

    view = portfolio_get()
    account = view.account
    body = {
        "positions": [vars(p) for p in view.positions],
        "total_positions": len(view.positions),
        "account": {
            "id": account.pk,
            "name": account.name,
            "trading_blocked": trading_state_get().halted,
            "cash": account.cash,
            "buying_power": cash_available(account=account),
            "portfolio_value": view.portfolio_value,
            "equity": view.portfolio_value,
            "long_market_value": view.long_market_value,
            "starting_cash": account.starting_cash,
            "unrealized_pl": view.unrealized_pl,
            "realized_pl": realized_pl_total(account=account),
        },
    }
    return PortfolioOut(body).data
