"""What an open connection keeps (trading/realtime/slim.py): daphne's input queue, slimmed, still behaves as a queue."""

import asyncio
import sys

import pytest

from trading.realtime.slim import SmallFifo, _slim_queue

pytestmark = pytest.mark.asyncio


async def test_a_slimmed_queue_hands_over_messages_in_order_and_wakes_a_waiting_get():
    queue: asyncio.Queue = asyncio.Queue()
    queue.put_nowait("connect")
    before = sum(sys.getsizeof(part) for part in (queue._getters, queue._putters, queue._queue))
    _slim_queue(queue)
    after = sum(sys.getsizeof(part) for part in (queue._getters, queue._queue))
    assert isinstance(queue._queue, SmallFifo) and isinstance(queue._getters, SmallFifo)
    assert after < before / 5
    assert await queue.get() == "connect"  # what was queued before stays queued

    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert len(queue._getters) == 1
    queue.put_nowait("receive 1")
    queue.put_nowait("receive 2")
    assert await asyncio.wait_for(waiting, 1) == "receive 1"
    assert await queue.get() == "receive 2"

    cancelled = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    assert not queue._getters  # a cancelled get leaves no waiter behind
    queue.put_nowait("disconnect")
    assert queue.qsize() == 1 and await queue.get() == "disconnect"


async def test_only_an_unbounded_asyncio_queue_is_slimmed():
    bounded: asyncio.Queue = asyncio.Queue(maxsize=1)
    _slim_queue(bounded)
    assert not isinstance(bounded._queue, SmallFifo)  # its put may wait: its putters stay its own
