"""The account's fills, folded into running totals that a new fill updates instead of a re-read.

Fills are only ever added. Each process keeps, per account, the totals up to the last fill id it has seen;
a report asks the database for (count, last id, realized sum) and, when fills were added, reads only those
and folds them in. When the totals do not add up (fills deleted, a rolled-back id), it reads everything again.
"""

import datetime as dt
import threading
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Sum

from portfolio.models import Account
from tradingrobot.snapshot_cache import VersionedMemo

from .metrics import ClosingStats, closing_stats
from .models import Fill, Order
from .performance_fills import ALL, ZERO, FillSummary, Traded


@dataclass(frozen=True)
class StrategyStamp:
    fills: int
    last_id: int
    realized: Decimal
    recent: dt.datetime


@dataclass(frozen=True)
class AccountFills:
    fills: int
    last_id: int
    realized: Decimal
    stats: ClosingStats
    strategies: dict[str, StrategyStamp] = field(default_factory=dict)
    # The last fold: the strategies before it and the fills it added (ROW tuples, by id).
    folded_onto: dict[str, StrategyStamp] | None = None
    folded: tuple[tuple, ...] = ()

    def summary(self) -> FillSummary:
        """The whole account's fills for the metrics (its curve is the equity closes, so no days)."""
        return FillSummary(fills=self.fills, realized=self.realized, stats=self.stats)

    def listed(self, limit: int) -> list[Traded]:
        """At most `limit` strategies, the most recently traded, by id."""
        ranked = sorted(self.strategies.items(), key=lambda item: (-item[1].recent.timestamp(), item[0]))
        chosen = [Traded(sid, s.fills, s.last_id, s.realized) for sid, s in ranked[:limit]]
        return sorted(chosen, key=lambda t: t.strategy_id)


def _stamp(account: Account) -> tuple[int, int, Decimal]:
    row = Fill.objects.filter(account=account).aggregate(n=Count("id"), last=Max("id"), realized=Sum("realized_pl"))
    return row["n"], row["last"] or 0, row["realized"] or ZERO


ROW = ("id", "order__strategy_id", "side", "qty", "price", "commission", "realized_pl", "executed_at")


def _fold(state: AccountFills, rows: list[tuple]) -> AccountFills:
    closing, strategies = [], dict(state.strategies)
    fills, last_id, realized = state.fills, state.last_id, state.realized
    for fill_id, sid, side, qty, price, commission, pnl, executed_at in rows:
        fills, last_id, realized = fills + 1, max(last_id, fill_id), realized + pnl
        if side == Order.Side.SELL:
            closing.append((pnl, qty * price - pnl - commission))
        if sid:
            old = strategies.get(sid)
            strategies[sid] = (
                StrategyStamp(
                    old.fills + 1, max(old.last_id, fill_id), old.realized + pnl, max(old.recent, executed_at)
                )
                if old
                else StrategyStamp(1, fill_id, pnl, executed_at)
            )
    return replace(
        state,
        folded_onto=state.strategies,
        folded=tuple(rows),
        fills=fills,
        last_id=last_id,
        realized=realized,
        stats=stats_add(state.stats, closing_stats(closing)),
        strategies=strategies,
    )


def stats_add(a: ClosingStats, b: ClosingStats) -> ClosingStats:
    if not b.count:
        return a
    return ClosingStats(
        count=a.count + b.count,
        wins=a.wins + b.wins,
        losses=a.losses + b.losses,
        gross_profit=a.gross_profit + b.gross_profit,
        gross_loss=a.gross_loss + b.gross_loss,
        pnl_sum=a.pnl_sum + b.pnl_sum,
        returns_sum=a.returns_sum + b.returns_sum,
        returns_n=a.returns_n + b.returns_n,
    )


def _read_all(account: Account) -> AccountFills:
    """Every fill, in grouped queries (the sells for the closing trades, one row per strategy) that see one
    snapshot of the table, so the totals always add up."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _read_all_now(account)


def _read_all_now(account: Account) -> AccountFills:
    fills = Fill.objects.filter(account=account)
    sells = fills.filter(side=Order.Side.SELL).order_by("executed_at", "id")
    closing = [
        (pnl, q * p - pnl - c) for q, p, c, pnl in sells.values_list("qty", "price", "commission", "realized_pl")
    ]
    total = fills.aggregate(n=Count("id"), last=Max("id"), realized=Sum("realized_pl"))
    per_strategy = (
        fills.exclude(order__strategy_id="")
        .values("order__strategy_id")
        .annotate(n=Count("id"), last=Max("id"), realized=Sum("realized_pl"), recent=Max("executed_at"))
        .order_by()
        .values_list("order__strategy_id", "n", "last", "realized", "recent")
    )
    return AccountFills(
        fills=total["n"],
        last_id=total["last"] or 0,
        realized=total["realized"] or ZERO,
        stats=closing_stats(closing),
        strategies={sid: StrategyStamp(n, last, realized, recent) for sid, n, last, realized, recent in per_strategy},
    )


# Bumped by every trading event (a fill is announced as order_filled), not by a price write: while it stands,
# the account's totals are reused without asking the database (PERFORMANCE_CACHE_SECONDS bounds their age, so
# fills stored without an announcement are seen within it, as the report memo sees them).
fills_memo = VersionedMemo("fills:version", max_age=lambda: settings.PERFORMANCE_CACHE_SECONDS, max_entries=16)
fills_version_bump = fills_memo.bump


class AccountFillsMemo:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[int, AccountFills] = {}

    def get(self, account: Account, *, reuse: bool) -> AccountFills:
        """The account's totals now; `reuse=False` reads everything (no state kept)."""
        if not reuse:
            return _read_all(account)
        return fills_memo.get(("account", account.pk), lambda: self._current(account))

    def _current(self, account: Account) -> AccountFills:
        count, last_id, realized = _stamp(account)
        with self._lock:
            state = self._states.get(account.pk)
        if state is not None and (state.fills, state.last_id, state.realized) == (count, last_id, realized):
            return state
        if state is not None and last_id > state.last_id:
            rows = list(Fill.objects.filter(account=account, pk__gt=state.last_id).order_by("id").values_list(*ROW))
            folded = _fold(state, rows)
            if (folded.fills, folded.last_id, folded.realized) == (count, last_id, realized):
                state = folded
            else:
                state = _read_all(account)
        else:
            state = _read_all(account)
        with self._lock:
            self._states[account.pk] = state
        return state

    def clear(self) -> None:
        fills_memo.clear()
        with self._lock:
            self._states.clear()


__all__ = ["ALL", "AccountFills", "AccountFillsMemo", "fills_version_bump"]
