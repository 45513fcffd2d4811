"""One hub per web process: ticks, events and fan-out to that process's WebSocket clients.

Per tick the status document is computed once (in a worker thread) and serialised once; the same string
is handed to every client's outbox (`Client`), which writes it at once or, if its connection is still
busy, keeps it in a bounded backlog. A client whose backlog is full is dropped (closed with 1013, "try
again later"; on reconnect it gets a fresh snapshot), so a slow client never delays the others. Ticks are
aligned to the wall clock (tick N at N * interval since the epoch), so every process ticks at the same
instants and `tick` means the same everywhere.
"""

import asyncio
import collections
import gc
import logging
import math
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connections

from market.clock import now
from market.selectors import price_is_stale, price_latest_list
from portfolio.serializers import SymbolPriceOut
from trading.documents import status_document
from tradingrobot.ops import metrics

from . import frames
from .broker import get_broker

logger = logging.getLogger(__name__)

FAN_OUT_BATCH = 500


class Client:
    """One connection's outbox. A frame is written at once when the connection is free (daphne's send never
    waits: it hands the bytes to the socket's buffer), so fan-out costs no task switch per client. When a
    send has to wait, later frames wait in a bounded backlog written by one task; a full backlog means the
    client lags, and the hub drops it."""

    __slots__ = ("_backlog", "_busy", "_limit", "_send", "_write_now", "on_lag", "seq", "subscription")

    def __init__(
        self,
        send: Callable[[str], Coroutine[Any, Any, None]],
        *,
        queue_size: int,
        on_lag: Callable[[], None],
        write_now: Callable[[str], bool] | None = None,
    ):
        self._send = send
        self._write_now = write_now  # a synchronous writer that may decline (returns False): fastwrite.py
        self._backlog: collections.deque[str] | None = None  # made on the first wait: most clients never need one
        self._busy: asyncio.Task | None = None
        self._limit = queue_size
        self.on_lag = on_lag
        self.seq = 0
        self.subscription = frames.Subscription()

    def offer(self, body: str) -> bool:
        """Write a frame now, or queue it behind a send still in progress; False when the backlog is full."""
        if self._busy is not None:
            if self._backlog is None:
                self._backlog = collections.deque()
            if len(self._backlog) >= self._limit:
                return False
            self._backlog.append(body)
            return True
        self.seq += 1
        text = frames.with_seq(body, self.seq)
        if self._write_now is not None and self._write_now(text):
            return True
        sending = self._send(text)
        try:
            waiting_for = sending.send(None)  # run the send until it completes or has to wait
        except StopIteration:
            return True
        except Exception:
            logger.warning("a WebSocket send failed; dropping the client", exc_info=True)
            return False
        self._busy = asyncio.get_running_loop().create_task(self._finish(sending, waiting_for))
        return True

    @property
    def pending(self) -> int:
        return len(self._backlog) if self._backlog is not None else 0

    async def _finish(self, sending: Coroutine, waiting_for) -> None:
        """Complete a send that had to wait (resume it each time what it waits for is done), then the backlog."""
        try:
            while True:
                if waiting_for is None:
                    await asyncio.sleep(0)
                else:
                    waiting_for._asyncio_future_blocking = False  # what a Task does before waiting on it
                    await waiting_for
                try:
                    waiting_for = sending.send(None)
                except StopIteration:
                    break
            while self._backlog:
                self.seq += 1
                await self._send(frames.with_seq(self._backlog.popleft(), self.seq))
        except Exception:
            logger.warning("a WebSocket send failed; the client stops receiving", exc_info=True)
            self._backlog = None
        finally:
            sending.close()
            self._busy = None

    def stop(self) -> None:
        if self._busy is not None:
            self._busy.cancel()
        self._backlog = None


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.clients: set[Client] = set()
        self.tick_seconds = float(settings.STATUS_TICK_SECONDS)
        self.snapshot_max_age = float(settings.REALTIME_SNAPSHOT_MAX_AGE)
        self.broker = get_broker()
        self.dropped = 0
        self.last_tick: int | None = None
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="realtime-db")
        self._events: asyncio.Queue[dict] = asyncio.Queue()
        self._generation = 0  # bumped by every event: a cached snapshot from before it is out of date
        self._snapshot: tuple[float, int, str] | None = None  # (loop time, generation, frame)
        self._snapshot_task: asyncio.Task | None = None
        self._stale: dict[str, bool] | None = None
        self._ready = asyncio.Event()
        self._broker_down = asyncio.Event()
        self._fan_out_lock = asyncio.Lock()
        self._tasks = [
            loop.create_task(
                self.broker.run(self._on_event, self._broker_listening, self._broker_lost), name="realtime-broker"
            ),
            loop.create_task(self._tick_loop(), name="realtime-ticks"),
            loop.create_task(self._event_loop(), name="realtime-events"),
        ]

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Until the broker listens (so no event after this is missed), at most `timeout` seconds; not at all while
        the broker says it cannot reach Redis: clients still get the snapshot and the ticks, only events are
        missed until the subscription is back (Redis down must never refuse a connection)."""
        if self._ready.is_set() or self._broker_down.is_set():
            return
        ready, down = self.loop.create_task(self._ready.wait()), self.loop.create_task(self._broker_down.wait())
        try:
            await asyncio.wait({ready, down}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            down.cancel()
        if not self._ready.is_set():
            logger.warning("realtime broker not listening; this client gets ticks but no events until it is")

    def _broker_lost(self) -> None:
        self._ready.clear()
        self._broker_down.set()

    def _broker_listening(self) -> None:
        self._broker_down.clear()
        self._ready.set()

    # --- clients ---------------------------------------------------------------------------------------

    def add(self, client: Client) -> None:
        self.clients.add(client)
        metrics.websocket_clients_set(len(self.clients))

    def remove(self, client: Client) -> None:
        self.clients.discard(client)
        metrics.websocket_clients_set(len(self.clients))

    async def fan_out(self, body: str, topic: str, symbols: frozenset[str] | None) -> int:
        """Hand one serialised frame to every interested client; drop the ones that lag. Fan-outs run one
        at a time (so every client gets frames in the same order) and let the event loop breathe every
        FAN_OUT_BATCH clients, so the socket writes of the first clients start while the rest are served."""
        async with self._fan_out_lock:
            laggards = []
            delivered = 0
            for i, client in enumerate(list(self.clients)):
                if i and i % FAN_OUT_BATCH == 0:
                    await asyncio.sleep(0)
                if client not in self.clients or not client.subscription.wants(topic, symbols):
                    continue
                if client.offer(body):
                    delivered += 1
                else:
                    laggards.append(client)
            for client in laggards:
                self.remove(client)
                self.dropped += 1
                logger.warning("dropping a WebSocket client %d frames behind", client.pending)
                client.on_lag()
            return delivered

    # --- status -----------------------------------------------------------------------------------------

    async def _status(self) -> dict:
        return await database_sync_to_async(status_document, thread_sensitive=False, executor=self._db)()

    async def snapshot(self) -> str:
        """The status frame for a client that just connected: shared by all who connect within
        REALTIME_SNAPSHOT_MAX_AGE seconds and no event since, computed once however many wait for it."""
        cached = self._snapshot
        if cached and cached[1] == self._generation and self.loop.time() - cached[0] <= self.snapshot_max_age:
            return cached[2]
        if self._snapshot_task is None or self._snapshot_task.done():
            self._snapshot_task = self.loop.create_task(self._compute_snapshot())
        return await asyncio.shield(self._snapshot_task)

    async def _compute_snapshot(self) -> str:
        generation = self._generation
        status = await self._status()
        body = frames.status_frame(status, tick=None)
        if generation == self._generation:
            self._snapshot = (self.loop.time(), generation, body)
        self.loop.create_task(self._announce_staleness(status.get("prices") or []))
        return body

    async def _tick_loop(self) -> None:
        """Compute the status a little ahead of each tick instant (about twice as long ahead as computing
        it took last time), then serialise and fan it out on the instant itself. If an event came in
        meanwhile, compute it again, so a tick never shows a state older than an event already sent."""
        lead = 0.1
        while True:
            tick = math.floor((time.time() + lead) / self.tick_seconds) + 1
            due = tick * self.tick_seconds
            await asyncio.sleep(max(0.0, due - lead - time.time()))
            if not self.clients:
                continue
            try:
                generation, started = self._generation, time.monotonic()
                status = await self._status()
                lead = min(self.tick_seconds / 2, max(0.05, 2 * (time.monotonic() - started)))
                await asyncio.sleep(max(0.0, due - time.time()))
                if generation != self._generation:  # an event since: never send a status older than it
                    generation, status = self._generation, await self._status()
                await self._tick(tick, status, generation)
            except Exception:
                logger.exception("status tick %d failed", tick)

    async def _tick(self, tick: int, status: dict, generation: int) -> None:
        await self.fan_out(frames.status_frame(status, tick=tick), frames.STATUS, None)
        self.last_tick = tick
        if generation == self._generation:
            self._snapshot = (self.loop.time(), generation, frames.status_frame(status, tick=None))
        await self._announce_staleness(status.get("prices") or [])
        if settings.REALTIME_GC_BETWEEN_TICKS:
            await asyncio.sleep(0)  # the frames of this tick leave first
            collect_between_ticks(tick)

    async def _announce_staleness(self, prices: list[dict]) -> None:
        """Tell clients when a symbol's data turns stale (or fresh again) between two ticks."""
        now_stale = {p["symbol"]: bool(p["stale"]) for p in prices}
        before, self._stale = self._stale, now_stale
        if before is None:
            return
        for price in prices:
            was = before.get(price["symbol"])
            if was is None or was == now_stale[price["symbol"]]:
                continue
            event_type = "data_stale" if now_stale[price["symbol"]] else "data_fresh"
            await self._fan_out_event({"type": event_type, **price})

    # --- events -----------------------------------------------------------------------------------------

    def _on_event(self, event: dict) -> None:
        """Called in the loop thread by the broker for every committed event, in order."""
        self._generation += 1
        self._events.put_nowait(event)

    async def _event_loop(self) -> None:
        while True:
            event = await self._events.get()
            try:
                if event["type"] == "prices_stored":
                    for price_event in await self._prices_stored(event):
                        await self._fan_out_event(price_event)
                else:
                    await self._fan_out_event(event)
            except Exception:
                logger.exception("could not deliver event %s", event.get("type"))

    async def _fan_out_event(self, event: dict) -> None:
        if self.clients:
            topic = frames.event_topic(event["type"])
            await self.fan_out(frames.event_frame(event), topic, frames.event_symbols(event))

    async def _prices_stored(self, event: dict) -> list[dict]:
        """One frame per symbol, with its newest stored price (read once per event per process)."""
        symbols = [s for s in event.get("symbols") or [] if isinstance(s, str)]
        if not symbols or not self.clients:
            return []
        rows = await database_sync_to_async(_latest_prices, thread_sensitive=False, executor=self._db)(symbols)
        extra = {k: v for k, v in event.items() if k not in ("type", "symbols")}
        return [{"type": "prices_stored", **extra, **row} for row in rows]

    # --- lifecycle --------------------------------------------------------------------------------------

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.loop.run_in_executor(self._db, connections.close_all)
        self._db.shutdown(wait=False)


def _latest_prices(symbols: list[str]) -> list[dict]:
    at = now()
    wanted = set(symbols)
    rows = [
        {
            "symbol": p.ticker,
            "price": p.price,
            "timestamp": p.timestamp,
            "age_seconds": p.age_seconds(at),
            "stale": price_is_stale(timestamp=p.timestamp, at=at),
            "source": p.source,
        }
        for p in price_latest_list(active_only=False)
        if p.ticker in wanted
    ]
    return SymbolPriceOut(rows, many=True).data  # type: ignore[return-value]  # many=True: a ReturnList; the stub says ReturnDict


GC_FULL_EVERY_TICKS = 12  # one full collection a minute at the default 5 s tick


def collect_between_ticks(tick: int) -> None:
    """Full garbage collections off the ticks. With thousands of connections a full collection walks every
    object of every connection (hundreds of ms), and Python starts one whenever enough objects have survived,
    which may be in the middle of a fan-out. So after every tick what is alive is frozen (gc.freeze): the
    automatic collections until the next tick walk only what is new. Every GC_FULL_EVERY_TICKS ticks, right
    after the tick, the frozen objects are thawed and collected in full (the cycles of closed connections)."""
    if tick % GC_FULL_EVERY_TICKS == 0:
        gc.unfreeze()
        gc.collect()
    gc.freeze()


_hub: Hub | None = None


async def get_hub() -> Hub:
    """This process's hub, started on first use (on the running event loop)."""
    global _hub
    loop = asyncio.get_running_loop()
    if _hub is None or _hub.loop is not loop:
        _hub = Hub(loop)
    await _hub.wait_ready()
    return _hub


def hub_client_count() -> int | None:
    """This process's WebSocket client count (None when no hub runs in this process)."""
    hub = _hub
    return None if hub is None else len(hub.clients)


async def hub_stop() -> None:
    """Stop this process's hub (tests; a new one starts with the next client)."""
    global _hub
    hub, _hub = _hub, None
    if hub is not None and not hub.loop.is_closed():
        await hub.stop()
