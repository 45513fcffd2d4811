"""Django's request_started and request_finished for the fast path's prepared reply (tradingrobot/fast_reply.py):
the signals' own receivers called as Signal.send calls them, without its per-send work (the lock, the sweep of
dead references, each weak reference resolved), and without the one receiver that provably does nothing here:
`close_caches` while every configured cache backend's close() is BaseCache's no-op (Redis, local memory).

The receivers are looked up again whenever a signal's receiver list changes (a receiver connected, disconnected
or collected) or the cache settings do; while any receiver is asynchronous or connected for one sender only,
the signal is sent as Django sends it.
"""

import weakref
from collections.abc import Callable
from typing import Any

from django.core import signals
from django.core.cache import caches, close_caches
from django.core.cache.backends.base import BaseCache
from django.dispatch import Signal
from django.dispatch.dispatcher import NONE_ID
from django.utils.module_loading import import_string


def _caches_close_nothing(cache_settings: dict[str, Any]) -> bool:
    return all(import_string(config["BACKEND"]).close is BaseCache.close for config in cache_settings.values())


class RequestSignal:
    """One of the request signals, sent with its receivers resolved once per change of them."""

    def __init__(self, signal: Signal):
        self.signal = signal
        # (the receiver list's fingerprint, the receivers as connected: weak references mostly; None: Signal.send)
        self._state: tuple[tuple | None, list[Any] | None] = (None, None)

    def send(self, sender: Any, **named: Any) -> None:
        signal = self.signal
        seen, receivers = self._state
        if seen != self._fingerprint():
            receivers = self._resolved()
            self._state = (self._fingerprint(), receivers)
        if receivers is None:
            signal.send(sender=sender, **named)
            return
        for connected in receivers:
            receiver = connected() if isinstance(connected, weakref.ReferenceType) else connected
            if receiver is not None:  # collected since: Signal.send would skip it too
                receiver(signal=signal, sender=sender, **named)

    def _fingerprint(self) -> tuple:
        signal = self.signal
        dead = signal._dead_receivers  # type: ignore[attr-defined]  # Signal's own: not in the stubs
        return (tuple(entry[0] for entry in signal.receivers), dead, caches.settings)

    def _resolved(self) -> list[Any] | None:
        signal = self.signal
        if any(sender_key != NONE_ID or is_async for (_, sender_key), _, is_async in signal.receivers):
            return None
        skip_caches = _caches_close_nothing(caches.settings)
        with signal.lock:
            signal._clear_dead_receivers()  # type: ignore[attr-defined]  # as Signal.send does
            connected = [receiver for _, receiver, _ in signal.receivers]
        return [r for r in connected if not (skip_caches and _resolve(r) is close_caches)]


def _resolve(connected: Any) -> Callable | None:
    return connected() if isinstance(connected, weakref.ReferenceType) else connected


request_started = RequestSignal(signals.request_started)
request_finished = RequestSignal(signals.request_finished)
