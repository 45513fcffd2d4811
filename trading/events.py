"""Trading events, announced only after the transaction that caused them commits.

Listeners (the WebSocket broadcaster, the WordPress outbox worker...) register with `listen`;
services call `announce`. A failing listener is logged and never undoes the trade.
"""

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

Listener = Callable[[dict], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def _deliver(event: dict) -> None:
    for listener in list(_listeners):
        try:
            listener(event)
        except Exception:
            logger.exception("event listener %r failed for %s", listener, event.get("type"))


def announce(event_type: str, **payload) -> None:
    event = {"type": event_type, **payload}
    transaction.on_commit(lambda: _deliver(event))
