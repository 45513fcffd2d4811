"""The fills behind the performance documents, read in grouped queries, and a memo keyed by what they hold.

Fills are only ever added, so a strategy's (count, last id, realized sum) names its fills exactly: metrics built
from them are reused until a fill of that strategy lands, whichever process wrote it, with no invalidation.
"""

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncDate

from portfolio.models import Account

from .metrics import ClosingStats, closing_stats
from .models import Fill, Order

ZERO = Decimal("0")
ALL = "ALL"  # the strategy id of the whole account


@dataclass
class FillSummary:
    """What the metrics need of a set of fills: counts, realized P&L per market-local day, closing trades."""

    fills: int = 0
    realized: Decimal = ZERO
    days: list[tuple[dt.datetime, Decimal]] = field(default_factory=list)  # (last fill of the day, realized)
    closing: list[tuple[Decimal, Decimal]] = field(default_factory=list)  # (P&L, cost of the shares sold)
    stats: ClosingStats = field(default_factory=lambda: closing_stats([]))  # `closing` reduced, once


def fill_summaries(account: Account, strategy_ids: list[str] | None, tz: ZoneInfo) -> dict[str, FillSummary]:
    """One summary per strategy id (None: one for the whole account, under ALL), in two queries."""
    fills = Fill.objects.filter(account=account)
    if strategy_ids is not None:
        fills = fills.filter(order__strategy_id__in=strategy_ids)
    group = "order__strategy_id" if strategy_ids is not None else None
    summaries = {s: FillSummary() for s in (strategy_ids if strategy_ids is not None else [ALL])}
    names = [group, "day"] if group else ["day"]
    daily = fills.annotate(day=TruncDate("executed_at", tzinfo=tz)).values(*names)
    for row in daily.annotate(last=Max("executed_at"), realized=Sum("realized_pl"), n=Count("id")).order_by(*names):
        summary = summaries[row[group] if group else ALL]
        summary.fills += row["n"]
        summary.realized += row["realized"]
        summary.days.append((row["last"], row["realized"]))
    sells = fills.filter(side=Order.Side.SELL).order_by("executed_at", "id")
    for sid, qty, price, commission, realized in sells.values_list(
        group or "side", "qty", "price", "commission", "realized_pl"
    ):
        summaries[sid if group else ALL].closing.append((realized, qty * price - realized - commission))
    for summary in summaries.values():
        summary.stats = closing_stats(summary.closing)
    return summaries


@dataclass(frozen=True)
class Traded:
    """A strategy's fills in one grouped row: enough to name them (a memo key) and to rank by recency."""

    strategy_id: str
    fills: int
    last_id: int
    realized: Decimal


def traded_list(account: Account, *, strategy_id: str | None = None) -> list[Traded]:
    """The strategies with fills (or the one asked for), at most PERFORMANCE_MAX_STRATEGIES: the most recently
    traded, by id."""
    fills = Fill.objects.filter(account=account).exclude(order__strategy_id="")
    if strategy_id is not None:
        fills = fills.filter(order__strategy_id=strategy_id)
    rows = (
        fills.values("order__strategy_id")
        .annotate(n=Count("id"), last_id=Max("id"), realized=Sum("realized_pl"), recent=Max("executed_at"))
        .order_by("-recent", "order__strategy_id")
        .values_list("order__strategy_id", "n", "last_id", "realized")
    )
    return sorted((Traded(*row) for row in rows[: settings.PERFORMANCE_MAX_STRATEGIES]), key=lambda t: t.strategy_id)


class ContentMemo:
    """A per-process LRU of values keyed by their complete inputs (never stale, so never invalidated).
    Off when PERFORMANCE_CACHE_SECONDS is 0 (the test settings: rolled-back ids may come again)."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        if settings.PERFORMANCE_CACHE_SECONDS <= 0:
            return build()
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = build()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def get_many(self, keys: dict[str, Hashable], build: Callable[[list[str]], dict[str, Any]]) -> dict[str, Any]:
        """The value of every name in `keys`; `build(names)` makes the missing ones in one go."""
        if settings.PERFORMANCE_CACHE_SECONDS <= 0:
            return build(list(keys))
        with self._lock:
            found = {name: self._entries[key] for name, key in keys.items() if key in self._entries}
        missing = [name for name in keys if name not in found]
        if missing:
            built = build(missing)
            with self._lock:
                for name in missing:
                    self._entries[keys[name]] = built[name]
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            found.update(built)
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
