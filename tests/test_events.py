"""The event bus: only catalogue events with their exact payload keys, delivered after commit to their listeners."""

from typing import Literal, TypedDict

import pytest
from django.db import transaction

from tradingrobot import events
from tradingrobot.listeners import BATCH_LISTENERS, LISTENERS, WIRE_EVENTS

pytestmark = pytest.mark.django_db


def test_an_event_type_outside_the_catalogue_cannot_be_announced(heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(events.UnknownEvent, match="'order_exploded' is not an event type"):
            events.announce({"type": "order_exploded", "order_id": 1, "symbol": "TSLA"})
        with pytest.raises(events.UnknownEvent, match="'order_' is not an event type"):
            events.announce({"type": "order_", "order_id": 1, "symbol": "TSLA"})  # f"order_{status}" with no status
        with pytest.raises(events.UnknownEvent, match="not an event type"):
            events.announce({"order_id": 1})
    assert callbacks == [] and heard == []


def test_a_payload_must_have_exactly_its_catalogue_keys(heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(events.UnknownEvent, match=r"order_accepted carries \['order_id', 'type'\]"):
            events.announce({"type": "order_accepted", "order_id": 1})
        with pytest.raises(events.UnknownEvent, match="OrderAccepted wants"):
            events.announce({"type": "order_accepted", "order_id": 1, "symbol": "TSLA", "qty": "1"})
    assert callbacks == [] and heard == []


def test_a_catalogue_event_is_delivered_after_commit_only(heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.announce({"type": "trading_resumed", "by": "tests"})
        assert heard == []
    assert heard == [{"type": "trading_resumed", "by": "tests"}]


def test_listeners_name_catalogue_types_and_a_catalogue_entry_needs_a_literal_type():
    with pytest.raises(events.UnknownEvent, match="order_exploded"):
        events.listen(print, types={"order_exploded"})

    class Untyped(TypedDict):
        type: str

    with pytest.raises(TypeError, match="Literal"):
        events.catalogue(Untyped)

    class Twice(TypedDict):
        type: Literal["order_filled"]

    with pytest.raises(TypeError, match="declared twice"):
        events.catalogue(Twice)


def test_the_catalogue_and_who_hears_what():
    assert events.event_types() == {
        "order_accepted",
        "order_rejected",
        "order_filled",
        "order_canceled",
        "order_expired",
        "trading_halted",
        "trading_resumed",
        "prices_stored",
        "bar_closed",
        "market_data_switched",
        "strategy_decision",
    }
    assert "bar_closed" not in WIRE_EVENTS  # /ws/updates: bar_closed is internal
    assert "strategy_decision" in WIRE_EVENTS  # a frame on the `strategies` topic
    installed = {listener: types for types, listener in events._listeners}
    for listener, types in LISTENERS:
        assert installed[listener] == types
    batched = {listener: types for types, listener in events._batch_listeners}
    for batch_listener, types in BATCH_LISTENERS:
        assert batched[batch_listener] == types


def test_a_batch_listener_hears_each_announced_batch_once_with_its_own_types(django_capture_on_commit_callbacks):
    heard: list[list] = []
    events.listen_batch(heard.append, types={"trading_resumed"})
    try:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            events.announce(
                {"type": "trading_resumed", "by": "a"},
                {"type": "trading_halted", "reason": "", "by": "b"},
                {"type": "trading_resumed", "by": "c"},
            )
            events.announce({"type": "trading_halted", "reason": "", "by": "d"})  # none of its types: not called
            assert heard == []
    finally:
        events.unlisten(heard.append)
    assert heard == [[{"type": "trading_resumed", "by": "a"}, {"type": "trading_resumed", "by": "c"}]]
    with pytest.raises(events.UnknownEvent, match="order_exploded"):
        events.listen_batch(heard.append, types={"order_exploded"})
