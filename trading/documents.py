"""The account documents: `/api/status` (also the WebSocket's status frame) and `/api/portfolio`.

They join the ledger (`portfolio.selectors`) with trading's own state (the halt, cash held back by open buy
orders), so they live here, above both. The `*_get` functions return typed values; `status_document` renders
the status through `StatusOut` for the view and the realtime hub alike, from a memo of its ledger part.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from market.clock import market_clock, now
from market.models import FALLBACK_SOURCES
from market.selectors import LatestPrice, price_is_stale
from portfolio.selectors import PositionView, portfolio_get, realized_pl_total
from tradingrobot.prepared_json import complete, hole, prepare
from tradingrobot.serializer_fields import iso_z
from tradingrobot.snapshot_cache import memoized

from .serializers import StatusOut
from .services import cash_available, trading_state_get


@dataclass(frozen=True)
class StatusLedger:
    """What the status document says that changes only with a trade, a halt or a price write."""

    portfolio_value: Decimal
    cash_balance: Decimal
    positions: list[PositionView]
    trading_halted: bool
    halt_reason: str
    halted_by: str
    halted_since: dt.datetime | None
    prices: list[LatestPrice]


@dataclass(frozen=True)
class AccountSummary:
    id: int
    name: str
    trading_blocked: bool
    cash: Decimal
    buying_power: Decimal
    portfolio_value: Decimal
    equity: Decimal
    long_market_value: Decimal
    starting_cash: Decimal
    unrealized_pl: Decimal
    realized_pl: Decimal


@dataclass(frozen=True)
class PortfolioSummary:
    positions: list[PositionView]
    account: AccountSummary

    @property
    def total_positions(self) -> int:
        return len(self.positions)


def status_ledger_get() -> StatusLedger:
    view = portfolio_get()
    state = trading_state_get()
    return StatusLedger(
        portfolio_value=view.portfolio_value,
        cash_balance=view.account.cash,
        positions=view.positions,
        trading_halted=state.halted,
        halt_reason=state.reason if state.halted else "",
        halted_by=state.changed_by if state.halted else "",
        halted_since=state.changed_at if state.halted else None,
        prices=view.prices,
    )


def portfolio_summary_get() -> PortfolioSummary:
    view = portfolio_get()
    account = view.account
    return PortfolioSummary(
        positions=view.positions,
        account=AccountSummary(
            id=account.pk,
            name=account.name,
            trading_blocked=trading_state_get().halted,
            cash=account.cash,
            buying_power=cash_available(account=account),
            portfolio_value=view.portfolio_value,
            equity=view.portfolio_value,
            long_market_value=view.long_market_value,
            starting_cash=account.starting_cash,
            unrealized_pl=view.unrealized_pl,
            realized_pl=realized_pl_total(account=account),
        ),
    )


def _status_base() -> tuple[dict, list[dt.datetime | None]]:
    """The ledger part rendered once (the clock-dependent fields are placeholders), and the price times."""
    ledger = status_ledger_get()
    body = {
        "timestamp": None,
        "market_open": False,
        "next_open": None,
        "next_close": None,
        "portfolio_value": ledger.portfolio_value,
        "cash_balance": ledger.cash_balance,
        "positions": ledger.positions,
        "total_positions": len(ledger.positions),
        "trading_halted": ledger.trading_halted,
        "halt_reason": ledger.halt_reason,
        "halted_by": ledger.halted_by,
        "halted_since": ledger.halted_since,
        "prices": [
            {
                "symbol": p.ticker,
                "price": p.price,
                "timestamp": p.timestamp,
                "age_seconds": None,
                "stale": True,
                "source": p.source,
            }
            for p in ledger.prices
        ],
        "market_data": {"source": _feed_source(ledger.prices)},
    }
    return StatusOut(body).data, [p.timestamp for p in ledger.prices]


def _feed_source(prices: list[LatestPrice]) -> str | None:
    """A fallback when any symbol's newest sample came from one, else wordpress when it fed any."""
    kinds = {p.source for p in prices if p.source}
    fallbacks = sorted(kinds & FALLBACK_SOURCES)
    return fallbacks[0] if fallbacks else ("wordpress" if "wordpress" in kinds else None)


def status_document() -> dict:
    """The `/api/status` document, JSON-ready. The ledger part comes from a memo invalidated by every trading
    event and price write; the clock-dependent fields are computed for this instant."""
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


# --- the status document as prepared bytes ------------------------------------------------------------------


@dataclass(frozen=True)
class StatusTemplate:
    """The status document rendered once per ledger version, cut where the clock-dependent values go."""

    pieces: tuple[bytes, ...]
    timestamps: list[dt.datetime | None]


def _status_template() -> StatusTemplate:
    base, timestamps = memoized("status", _status_base)
    data = dict(base)
    for number, key in enumerate(("timestamp", "market_open", "next_open", "next_close")):
        data[key] = hole(number)
    data["prices"] = [
        {**price, "age_seconds": hole(4 + 2 * i), "stale": hole(5 + 2 * i)} for i, price in enumerate(base["prices"])
    ]
    return StatusTemplate(prepare(data, 4 + 2 * len(base["prices"])), timestamps)


def status_document_bytes() -> bytes:
    """`status_document()` as the JSON bytes the API answers (the same bytes as rendering it), from a memo of the
    rendered ledger part: per request only the clock-dependent values are encoded."""
    template = memoized("status_bytes", _status_template)
    at = now()
    clock = market_clock()
    values: list[object] = [iso_z(at), clock.is_open(at), iso_z(clock.next_open(at)), iso_z(clock.next_close(at))]
    for ts in template.timestamps:
        values += (None if ts is None else round((at - ts).total_seconds(), 3), price_is_stale(timestamp=ts, at=at))
    return complete(template.pieces, values)
