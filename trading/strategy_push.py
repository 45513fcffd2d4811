"""When the robot's strategy list changes, the site hears of it: an outbox mark (trading/outbox.py) that the
deliverer answers with the whole list as it is then (`POST /strategies`, trading/strategy_documents.py).

- a change of what the site shows (enabled, mode, kind, params, timeframe, sizing, limits; not the site's
  own status), marked in the transaction of the change: `strategy_changed_mark`, called by the engine's
  strategy_create / strategy_update;
- a new last decision, at most once per bar per (symbol, timeframe): `strategies_push_on_decision`, a batch
  listener of the engine's `strategy_decision` events (tradingrobot/listeners.py), after the decisions commit:
  a bar's decisions are announced together, so one mark (one query) per bar whatever the number of strategies.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .models import Strategy
from .outbox import outbox_strategies_add

NOT_SHOWN = frozenset({"site_status", "updated_at"})


def strategy_changed_mark(*, strategy: Strategy, changed: Iterable[str], by: str) -> bool:
    """Mark the list changed when a field the site shows changed; returns whether a mark was added."""
    shown = sorted(set(changed) - NOT_SHOWN)
    if not shown:
        return False
    return outbox_strategies_add(
        key=f"strategies:change:{strategy.strategy_id}:{strategy.updated_at.isoformat()}",
        reason=f"{strategy.strategy_id}: {', '.join(shown)} by {by}",
    )


def strategies_push_on_decision(events: Sequence[Mapping[str, Any]]) -> None:
    """Every decision of one bar of one (symbol, timeframe) shares one mark."""
    bars = dict.fromkeys((event["symbol"], event["timeframe"], event["bar_end"]) for event in events)
    for symbol, timeframe, bar_end in bars:
        outbox_strategies_add(
            key=f"strategies:bar:{symbol}:{timeframe}:{bar_end}",
            reason=f"decisions on the {timeframe} bar of {symbol} ending {bar_end}",
        )
