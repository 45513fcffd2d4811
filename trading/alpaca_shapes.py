"""Our orders, account, positions, clock and symbols in Alpaca's own shapes (its Trading API's OpenAPI
description): UUID ids, money and quantities as strings, Alpaca's status names (ours are the same names)."""

import datetime as dt
import uuid
from decimal import Decimal

from market.clock import MarketClock
from market.models import Symbol
from portfolio.selectors import PortfolioView, PositionView

from .models import Order

ORDER_UUID_PREFIX = "00000000-0000-4000-8000-"  # + our order id in 12 hex digits: a valid, reversible UUID
SYMBOL_NAMESPACE = uuid.UUID("6f1c1f6e-3b5e-4d2a-9a57-1d7e3e0c0a11")


def order_uuid(order_id: int) -> str:
    return f"{ORDER_UUID_PREFIX}{order_id:012x}"


def order_id_of(value: str) -> int | None:
    """Our order id in an order UUID this surface gave out, else None."""
    try:
        parsed = str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None
    return int(parsed[len(ORDER_UUID_PREFIX) :], 16) if parsed.startswith(ORDER_UUID_PREFIX) else None


def asset_uuid(ticker: str) -> str:
    return str(uuid.uuid5(SYMBOL_NAMESPACE, ticker))


def _iso(at: dt.datetime | None) -> str | None:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if at else None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f") if value else "0"


def order_shape(order: Order) -> dict:
    return {
        "id": order_uuid(order.pk),
        "client_order_id": order.client_order_id,
        "created_at": _iso(order.created_at),
        "updated_at": _iso(order.updated_at),
        "submitted_at": _iso(order.created_at),
        "filled_at": _iso(order.filled_at),
        "expired_at": _iso(order.expired_at),
        "canceled_at": _iso(order.canceled_at),
        "failed_at": _iso(order.updated_at) if order.status == Order.Status.REJECTED else None,
        "replaced_at": None,
        "replaced_by": None,
        "replaces": None,
        "asset_id": asset_uuid(order.symbol.ticker),
        "symbol": order.symbol.ticker,
        "asset_class": "us_equity",
        "notional": None,
        "qty": _text(order.qty),
        "filled_qty": _text(order.filled_qty),
        "filled_avg_price": _text(order.filled_avg_price),
        "order_class": "simple",
        "order_type": order.type,
        "type": order.type,
        "side": order.side,
        "time_in_force": order.time_in_force,
        "limit_price": _text(order.limit_price),
        "stop_price": None,
        "status": order.status,
        "extended_hours": False,
        "legs": None,
    }


def position_shape(view: PositionView) -> dict:
    return {
        "asset_id": asset_uuid(view.symbol),
        "symbol": view.symbol,
        "exchange": "NASDAQ",
        "asset_class": "us_equity",
        "asset_marginable": False,
        "avg_entry_price": _text(view.avg_entry_price),
        "qty": _text(view.qty),
        "side": "long",
        "market_value": _text(view.market_value),
        "cost_basis": _text(view.cost_basis),
        "unrealized_pl": _text(view.unrealized_pl),
        "unrealized_plpc": _text(view.unrealized_plpc),
        "unrealized_intraday_pl": _text(view.unrealized_pl),
        "unrealized_intraday_plpc": _text(view.unrealized_plpc),
        "current_price": _text(view.current_price),
        "lastday_price": _text(view.current_price),
        "change_today": "0",
    }


def account_shape(portfolio: PortfolioView, *, buying_power: Decimal, halted: bool) -> dict:
    account = portfolio.account
    equity = portfolio.portfolio_value
    return {
        "id": str(uuid.uuid5(SYMBOL_NAMESPACE, f"account:{account.pk}")),
        "account_number": f"TR{account.pk:08d}",
        "status": "ACTIVE",
        "currency": "USD",
        "cash": _text(account.cash),
        "portfolio_value": _text(equity),
        "equity": _text(equity),
        "last_equity": _text(equity),
        "long_market_value": _text(portfolio.long_market_value),
        "short_market_value": "0",
        "buying_power": _text(buying_power),
        "regt_buying_power": _text(buying_power),
        "daytrading_buying_power": "0",
        "initial_margin": "0",
        "maintenance_margin": "0",
        "last_maintenance_margin": "0",
        "sma": "0",
        "multiplier": "1",
        "daytrade_count": 0,
        "pattern_day_trader": False,
        "trading_blocked": halted,
        "transfers_blocked": True,
        "account_blocked": False,
        "trade_suspended_by_user": halted,
        "shorting_enabled": False,
        "created_at": _iso(account.created_at),
    }


def clock_shape(clock: MarketClock, at: dt.datetime) -> dict:
    session = clock.session_at(at)
    next_open = clock.next_open(at)
    next_close = session.close if session else clock.next_close(at)
    return {
        "timestamp": _iso(at),
        "is_open": session is not None,
        "next_open": _iso(next_open or at),
        "next_close": _iso(next_close or at),
    }


def asset_shape(symbol: Symbol) -> dict:
    return {
        "id": asset_uuid(symbol.ticker),
        "class": "us_equity",
        "exchange": "NASDAQ",
        "symbol": symbol.ticker,
        "name": symbol.name or symbol.ticker,
        "status": "active" if symbol.is_active else "inactive",
        "tradable": symbol.is_active,
        "marginable": False,
        "shortable": False,
        "easy_to_borrow": False,
        "fractionable": True,
    }
