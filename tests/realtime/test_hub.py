"""The hub's fan-out and the direct frame writer, one unit at a time."""

import asyncio
import json

import pytest

from trading.realtime.fastwrite import frame_header
from trading.realtime.hub import Client, get_hub

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.mark.parametrize(
    ("length", "header"),
    [
        (0, b"\x81\x00"),
        (125, b"\x81\x7d"),
        (126, b"\x81\x7e\x00\x7e"),
        (65535, b"\x81\x7e\xff\xff"),
        (65536, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ],
)
async def test_frame_header_follows_rfc_6455_lengths(length, header):
    assert frame_header(length) == header


async def test_a_stuck_client_is_dropped_and_never_delays_the_others(hub_cleanup):
    hub = await get_hub()
    received: list[dict] = []
    lagged: list[str] = []
    never = asyncio.Event()

    async def stuck_send(text: str) -> None:
        await never.wait()  # a client whose socket never drains

    async def good_send(text: str) -> None:
        received.append(json.loads(text))

    stuck = Client(stuck_send, queue_size=2, on_lag=lambda: lagged.append("stuck"))
    good = Client(good_send, queue_size=2, on_lag=lambda: lagged.append("good"))
    hub.add(stuck)
    hub.add(good)

    for n in range(5):
        delivered = await asyncio.wait_for(hub.fan_out(json.dumps({"type": "probe", "n": n}), "status", None), 1)
        assert delivered >= 1

    assert [(f["seq"], f["n"]) for f in received] == [(1, 0), (2, 1), (3, 2), (4, 3), (5, 4)]
    # One frame in flight and two waiting filled the stuck client's allowance; the fourth dropped it.
    assert lagged == ["stuck"]
    assert stuck not in hub.clients
    assert good in hub.clients
    assert hub.dropped == 1
    stuck.stop()
    good.stop()


async def test_subscriptions_filter_the_fan_out(hub_cleanup):
    hub = await get_hub()
    got: dict[str, list] = {"tsla": [], "all": []}

    def sink(name):
        async def send(text):
            got[name].append(json.loads(text)["symbol"])

        return send

    tsla = Client(sink("tsla"), queue_size=4, on_lag=lambda: None)
    tsla.subscription = tsla.subscription.subscribe(frozenset({"orders"}), frozenset({"TSLA"}))
    everyone = Client(sink("all"), queue_size=4, on_lag=lambda: None)
    hub.add(tsla)
    hub.add(everyone)
    for symbol in ("TSLA", "QQQ"):
        await hub.fan_out(json.dumps({"type": "order_filled", "symbol": symbol}), "orders", frozenset({symbol}))
    await hub.fan_out(json.dumps({"type": "data_stale", "symbol": "TSLA"}), "prices", frozenset({"TSLA"}))
    assert got == {"tsla": ["TSLA"], "all": ["TSLA", "QQQ", "TSLA"]}


async def test_ticks_freeze_the_survivors_and_collect_in_full_every_few(hub_cleanup, settings):
    """After every tick what is alive is frozen, so the automatic collections until the next tick do not walk
    every connection's objects; every GC_FULL_EVERY_TICKS ticks the frozen ones are collected in full."""
    import gc
    import weakref

    from trading.realtime.hub import GC_FULL_EVERY_TICKS

    class Node:
        pass

    settings.REALTIME_GC_BETWEEN_TICKS = True
    hub = await get_hub()
    received: list[str] = []

    async def send(text: str) -> None:
        received.append(text)

    client = Client(send, queue_size=2, on_lag=lambda: None)
    hub.add(client)
    gc.unfreeze()
    gc.disable()  # only the hub's own collections run in this test
    try:
        cycle = Node()
        cycle.me = cycle  # garbage only a cycle collection frees
        gone = weakref.ref(cycle)
        del cycle
        await hub._tick(GC_FULL_EVERY_TICKS + 1, {"prices": []}, hub._generation)
        assert json.loads(received[-1])["tick"] == GC_FULL_EVERY_TICKS + 1  # the tick went out first
        assert gc.get_freeze_count() > 0
        assert gone() is not None  # frozen with the rest: no full collection on this tick
        await hub._tick(2 * GC_FULL_EVERY_TICKS, {"prices": []}, hub._generation)
        assert gone() is None  # the full collection after this tick freed it
        assert gc.get_freeze_count() > 0
        settings.REALTIME_GC_BETWEEN_TICKS = False
        gc.unfreeze()
        await hub._tick(3 * GC_FULL_EVERY_TICKS, {"prices": []}, hub._generation)
        assert gc.get_freeze_count() == 0
    finally:
        gc.enable()
        gc.unfreeze()
        client.stop()
