"""The event bus: typed facts, delivered to listeners only after the transaction that caused them commits.

Each app declares the events it owns in its own catalogue module (`market/events.py`, `trading/events.py`):
one `TypedDict` per payload whose `type` key is a `Literal` of the event's name(s), registered here with
`catalogue(...)`. `announce(event, ...)` is the one way to publish: an event whose type is not in a catalogue,
or whose keys are not its payload's, is refused at once (UnknownEvent, a ValueError), so a typo cannot invent a
new event. Listeners are registered in one place, `tradingrobot/listeners.py`; a failing listener is logged and
never undoes what was committed. This module imports no app.
"""

import logging
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypedDict

from django.db import transaction

from tradingrobot.snapshot_cache import cache_round_trip

logger = logging.getLogger(__name__)


class Event(TypedDict):
    type: str


Listener = Callable[[Mapping[str, Any]], None]
BatchListener = Callable[[list[Mapping[str, Any]]], None]


class UnknownEvent(ValueError):
    """An event type outside every catalogue, or a payload that does not match its catalogue entry."""


_payloads: dict[str, type] = {}  # event type -> its TypedDict
_listeners: list[tuple[frozenset[str], Listener]] = []
_batch_listeners: list[tuple[frozenset[str], BatchListener]] = []
_wheres: dict[Listener, Mapping[str, Any]] = {}  # a listener's payload filter (`listen(where=...)`)


def catalogue(*payloads: type) -> frozenset[str]:
    """Register TypedDict payloads (each with `type: Literal[...]`); returns the event names they declare."""
    names: set[str] = set()
    for payload in payloads:
        literal = typing.get_type_hints(payload).get("type")
        declared = typing.get_args(literal) if typing.get_origin(literal) is typing.Literal else ()
        if not declared or not all(isinstance(name, str) for name in declared):
            raise TypeError(f"{payload.__name__} needs a `type: Literal[...]` key naming its event(s)")
        for name in declared:
            if _payloads.get(name, payload) is not payload:
                raise TypeError(
                    f"event type {name!r} is declared twice ({_payloads[name].__name__}, {payload.__name__})"
                )
            _payloads[name] = payload
        names.update(declared)
    return frozenset(names)


def event_types() -> frozenset[str]:
    """Every event type declared by a catalogue."""
    return frozenset(_payloads)


def listen(listener: Listener, *, types: Iterable[str], where: Mapping[str, Any] | None = None) -> None:
    """Deliver the committed events of `types` (catalogue names) to `listener`, in announcement order; with
    `where`, only those whose payload has these values (`{"live": True}`: a backfill's bars are not heard)."""
    wanted = frozenset(types)
    unknown = sorted(wanted - _payloads.keys())
    if unknown:
        raise UnknownEvent(f"no catalogue declares the event type(s) {unknown}")
    if all(existing != listener for _, existing in _listeners):
        _listeners.append((wanted, listener))
    if where:
        _wheres[listener] = dict(where)
    else:
        _wheres.pop(listener, None)


def listen_batch(listener: BatchListener, *, types: Iterable[str]) -> None:
    """Like `listen`, but once per announced batch with its events of `types` (in order), after the per-event
    listeners: for a listener whose work per batch is one statement, whatever the batch's size."""
    wanted = frozenset(types)
    unknown = sorted(wanted - _payloads.keys())
    if unknown:
        raise UnknownEvent(f"no catalogue declares the event type(s) {unknown}")
    if all(existing != listener for _, existing in _batch_listeners):
        _batch_listeners.append((wanted, listener))


def unlisten(listener: Listener | BatchListener) -> None:
    _listeners[:] = [(types, existing) for types, existing in _listeners if existing != listener]
    _wheres.pop(listener, None)  # type: ignore[arg-type]
    _batch_listeners[:] = [(types, existing) for types, existing in _batch_listeners if existing != listener]


def _check(event: Mapping[str, Any]) -> None:
    payload = _payloads.get(event.get("type"))  # type: ignore[arg-type]
    if payload is None:
        raise UnknownEvent(f"{event.get('type')!r} is not an event type of any catalogue; declare it first")
    keys = event.keys()
    required: frozenset[str] = payload.__required_keys__  # type: ignore[attr-defined]
    allowed: frozenset[str] = required | payload.__optional_keys__  # type: ignore[attr-defined]
    if not required <= keys or not keys <= allowed:
        raise UnknownEvent(
            f"{event['type']} carries {sorted(keys)}; {payload.__name__} wants {sorted(required)}"
            + (f" (optional {sorted(allowed - required)})" if allowed != required else "")
        )


def _hears(listener: Listener, payload: Mapping[str, Any]) -> bool:
    where = _wheres.get(listener)
    return where is None or all(payload[key] == value for key, value in where.items() if key in payload)


def _deliver(event: Mapping[str, Any]) -> None:
    for types, listener in list(_listeners):
        if event["type"] not in types or not _hears(listener, event):
            continue
        try:
            listener(event)
        except Exception:
            logger.exception("event listener %r failed for %s", listener, event["type"])


def listened(event_type: str, **payload: Any) -> bool:
    """Whether any listener hears `event_type` (with these payload values, for listeners with a `where`):
    a writer may skip building events nobody hears."""
    return any(event_type in types and _hears(listener, payload) for types, listener in _listeners) or any(
        event_type in types for types, _ in _batch_listeners
    )


def announce(*batch: Mapping[str, Any]) -> None:
    """Publish the events, in order, once the current transaction commits (at once outside a transaction).
    Several at once share one commit hook (a backfill closes thousands of bars in one transaction)."""
    for event in batch:
        _check(event)
    if batch:
        transaction.on_commit(lambda: _deliver_all(batch))


def _deliver_all(batch: tuple[Mapping[str, Any], ...]) -> None:
    with cache_round_trip():  # the listeners' memo bumps and realtime messages: one round trip to Redis
        for event in batch:
            _deliver(event)
        for types, listener in list(_batch_listeners):
            heard = [event for event in batch if event["type"] in types]
            if not heard:
                continue
            try:
                listener(heard)
            except Exception:
                logger.exception("event listener %r failed for a batch of %d", listener, len(heard))
