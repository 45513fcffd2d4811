"""The prepared reply's request signals (tradingrobot/request_signals.py): every receiver Signal.send would call,
with its arguments, as the receiver list changes; close_caches left out only while it provably does nothing."""

import gc

from django.core.cache import close_caches
from django.core.cache.backends.locmem import LocMemCache
from django.dispatch import Signal
from django.test import override_settings

from tradingrobot.request_signals import RequestSignal

CLOSED: list[str] = []


class ClosingCache(LocMemCache):
    """A backend whose close() does something (as memcached's does)."""

    def close(self, **kwargs):
        CLOSED.append("closed")


def test_receivers_get_what_signal_send_gives_them_as_they_come_and_go():
    signal, calls = Signal(), []

    def first(signal, sender, **named):
        calls.append(("first", sender, named))

    def second(signal, sender, **named):
        calls.append(("second", sender, named))

    sent = RequestSignal(signal)
    signal.connect(first)
    sent.send("handler", environ={"a": 1})
    signal.connect(second)
    sent.send("handler")
    signal.disconnect(first)
    sent.send("other")
    assert calls == [
        ("first", "handler", {"environ": {"a": 1}}),
        ("first", "handler", {}),
        ("second", "handler", {}),
        ("second", "other", {}),
    ]


def test_a_collected_receiver_is_not_called_nor_kept_alive():
    signal, calls = Signal(), []

    class Listener:
        def heard(self, signal, sender, **named):
            calls.append(sender)

    listener = Listener()
    signal.connect(listener.heard)  # weakly, as Django connects by default
    sent = RequestSignal(signal)
    sent.send("one")
    del listener
    gc.collect()
    sent.send("two")
    assert calls == ["one"]
    assert signal.receivers == []  # collected: RequestSignal held no strong reference


def test_a_receiver_for_one_sender_is_sent_as_django_sends():
    signal, calls = Signal(), []

    def only_for_a(signal, sender, **named):
        calls.append(sender)

    signal.connect(only_for_a, sender="a")
    sent = RequestSignal(signal)
    sent.send("a")
    sent.send("b")
    assert calls == ["a"]


def test_close_caches_is_left_out_only_while_no_backend_close_does_anything():
    signal = Signal()
    signal.connect(close_caches)
    sent = RequestSignal(signal)
    CLOSED.clear()
    closing = {"default": {"BACKEND": f"{__name__}.ClosingCache"}}
    with override_settings(CACHES=closing):
        from django.core.cache import caches

        caches["default"].get("touch")  # initialized: close_all() closes it
        sent.send("handler")
        assert CLOSED == ["closed"]
        assert sent._state[1] and len(sent._state[1]) == 1
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        CLOSED.clear()  # leaving the override closed the ClosingCache itself
        sent.send("handler")
        assert sent._state[1] == []  # BaseCache.close: nothing to do, not called
        assert CLOSED == []
