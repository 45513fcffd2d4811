"""The strategy list WordPress receives (`POST /strategies`, the companion plugin's shape):

    {"strategies": [{"strategy_id", "symbol", "kind", "enabled", "mode", "timeframe",
                     "last_decision": {"outcome", "reason", "bar_end", "decided_at"} | null, "pnl"}],
     "timestamp"}

Times are ISO 8601 in UTC with a Z (the plugin keeps them in UTC); `pnl` is the strategy's own P&L, realized
plus unrealized at the last price, 4 decimals as a string (null while it never traded).
"""

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from market.selectors import price_latest_list
from portfolio.models import BookPosition
from tradingrobot.serializer_fields import iso_z

from .engine.selectors import decisions_latest, strategy_list

MAX_LISTED = 200  # the plugin refuses longer lists
FOUR = Decimal("0.0001")


def _pnl(books: list[Mapping[str, Any]], prices: dict[str, Decimal | None]) -> str | None:
    if not books:
        return None
    total = Decimal(0)
    for book in books:
        total += book["realized_pl"]
        price = prices.get(book["symbol__ticker"])
        if book["qty"] and price is not None:
            total += book["qty"] * price - book["cost_basis"]
    return str(total.quantize(FOUR, rounding=ROUND_HALF_EVEN))


def strategies_document(*, at: dt.datetime) -> dict:
    """The list as it is now, in strategy_id order (at most MAX_LISTED), in a constant number of queries."""
    strategies = list(strategy_list()[:MAX_LISTED])
    latest = decisions_latest(strategy_pks=[s.pk for s in strategies])
    books: dict[str, list[Mapping[str, Any]]] = {}
    for row in BookPosition.objects.filter(book__in=[s.strategy_id for s in strategies]).values(
        "book", "symbol__ticker", "qty", "cost_basis", "realized_pl"
    ):
        books.setdefault(row["book"], []).append(row)
    prices = {p.ticker: p.price for p in price_latest_list(active_only=False)}
    items = []
    for strategy in strategies:
        decision = latest.get(strategy.pk)
        items.append(
            {
                "strategy_id": strategy.strategy_id,
                "symbol": strategy.symbol.ticker,
                "kind": strategy.kind,
                "enabled": strategy.enabled,
                "mode": strategy.mode,
                "timeframe": strategy.timeframe,
                "last_decision": None
                if decision is None
                else {
                    "outcome": decision.outcome,
                    "reason": decision.reason[:500],
                    "bar_end": iso_z(decision.bar_end),
                    "decided_at": iso_z(decision.decided_at),
                },
                "pnl": _pnl(books.get(strategy.strategy_id, []), prices),
            }
        )
    return {"strategies": items, "timestamp": iso_z(at)}
