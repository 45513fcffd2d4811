"""Each strategy's FillSummary kept per process and brought up to date from the account's last fold (the new
fills it read anyway) instead of the two grouped queries that read all the strategy's fills again.

A stored summary is used when it names the strategy's fills exactly (its Traded stamp); it is folded forward
when every fill it lacks is in the account's last fold and the result adds up to the stamp; otherwise (a
fill back in an earlier day, a gap) the strategy is read again with the others missing, in one go.
"""

import threading
from collections import OrderedDict
from dataclasses import replace
from zoneinfo import ZoneInfo

from django.conf import settings

from portfolio.models import Account

from .metrics import closing_stats
from .models import Order
from .performance_fills import FillSummary, Traded, fill_summaries
from .performance_state import AccountFills, stats_add


def summary_fold(summary: FillSummary, rows: list[tuple], tz: ZoneInfo) -> FillSummary | None:
    """`summary` with the fills `rows` (ROW tuples, by id) added, or None when one lands before its last day."""
    days, closing = list(summary.days), list(summary.closing)
    fills, realized, new_closing = summary.fills, summary.realized, []
    for _id, _sid, side, qty, price, commission, pnl, executed_at in rows:
        day = executed_at.astimezone(tz).date()
        last_day = days[-1][0].astimezone(tz).date() if days else None
        if last_day is not None and day < last_day:
            return None
        if day == last_day:
            days[-1] = (max(days[-1][0], executed_at), days[-1][1] + pnl)
        else:
            days.append((executed_at, pnl))
        fills, realized = fills + 1, realized + pnl
        if side == Order.Side.SELL:
            new_closing.append((pnl, qty * price - pnl - commission))
    closing += new_closing
    stats = stats_add(summary.stats, closing_stats(new_closing))
    return replace(summary, fills=fills, realized=realized, days=days, closing=closing, stats=stats)


class StrategySummaries:
    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[int, str], tuple[Traded, FillSummary]] = OrderedDict()

    def get(
        self, account: Account, traded: list[Traded], fills: AccountFills | None, tz: ZoneInfo
    ) -> dict[str, FillSummary]:
        """The summaries of `traded` (their fills as stamped); `fills`: the account's state, whose last fold
        may bring stored summaries up to date."""
        if settings.PERFORMANCE_CACHE_SECONDS <= 0:
            return fill_summaries(account, [t.strategy_id for t in traded], tz)
        found: dict[str, FillSummary] = {}
        for t in traded:
            with self._lock:
                stored = self._entries.get((account.pk, t.strategy_id))
            summary = self._current(t, stored, fills, tz)
            if summary is not None:
                found[t.strategy_id] = summary
        missing = [t.strategy_id for t in traded if t.strategy_id not in found]
        if missing:
            found |= fill_summaries(account, missing, tz)
        with self._lock:
            for t in traded:
                self._entries[(account.pk, t.strategy_id)] = (t, found[t.strategy_id])
                self._entries.move_to_end((account.pk, t.strategy_id))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return found

    @staticmethod
    def _current(
        t: Traded, stored: tuple[Traded, FillSummary] | None, fills: AccountFills | None, tz: ZoneInfo
    ) -> FillSummary | None:
        if stored is None:
            return None
        stamp, summary = stored
        if stamp == t:
            return summary
        if fills is None or fills.folded_onto is None:
            return None
        before = fills.folded_onto.get(t.strategy_id)
        if before is None or (before.fills, before.last_id, before.realized) != (
            stamp.fills,
            stamp.last_id,
            stamp.realized,
        ):
            return None  # the summary is older than the state the last fold started from
        rows = [r for r in fills.folded if r[1] == t.strategy_id]
        folded = summary_fold(summary, rows, tz)
        last_id = max([stamp.last_id, *(r[0] for r in rows)])
        if folded is None or (folded.fills, last_id, folded.realized) != (t.fills, t.last_id, t.realized):
            return None
        return folded

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


__all__ = ["StrategySummaries", "summary_fold"]
