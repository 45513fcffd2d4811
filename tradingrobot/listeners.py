"""Who hears which event: the one table of event listeners, installed once by `tradingrobot.apps`.

Every process that can change state (web, Celery worker, command) installs it, so each forwards its own
committed events. `bar_closed` is heard by the strategy engine (live bars only).
"""

from market.events import MARKET_EVENTS
from trading.engine.listener import bar_closed_received
from trading.events import STRATEGY_EVENTS, TRADING_EVENTS
from trading.performance_state import fills_version_bump
from trading.realtime.bridge import forward_event
from trading.strategy_push import strategies_push_on_decision
from tradingrobot import events
from tradingrobot.ops.metrics import order_event_count
from tradingrobot.snapshot_cache import ledger_version_bump

# The events /ws/updates clients receive (frames in trading/realtime/frames.py); bar_closed is not one.
LEDGER_EVENTS = TRADING_EVENTS | {"prices_stored", "market_data_switched"}  # change the status document
WIRE_EVENTS = LEDGER_EVENTS | STRATEGY_EVENTS  # strategy_decision: topic `strategies`
assert WIRE_EVENTS <= TRADING_EVENTS | MARKET_EVENTS | STRATEGY_EVENTS

LISTENERS: list[tuple[events.Listener, frozenset[str]]] = [
    (forward_event, WIRE_EVENTS),  # to the realtime broker, which reaches every web process
    (ledger_version_bump, LEDGER_EVENTS),  # the status memo is out of date
    (fills_version_bump, TRADING_EVENTS),  # the performance report's fill totals may be (a price write: not)
    (order_event_count, LEDGER_EVENTS),  # tradingrobot_order_events{event}
    (bar_closed_received, frozenset({"bar_closed"})),  # the strategy engine: a task per live closed bar with strategies
]
# Payload filters: a backfill's bars are announced (live False) but the engine never hears them, so a backfill
# with no other listener builds no bar_closed event at all.
WHERE: dict[events.Listener, dict] = {bar_closed_received: {"live": True}}
BATCH_LISTENERS: list[tuple[events.BatchListener, frozenset[str]]] = [
    (strategies_push_on_decision, STRATEGY_EVENTS),  # the site's strategy list: one mark per bar
]


def listeners_install() -> None:
    for listener, types in LISTENERS:
        events.listen(listener, types=types, where=WHERE.get(listener))
    for batch_listener, types in BATCH_LISTENERS:
        events.listen_batch(batch_listener, types=types)
