"""How a committed event reaches the hub of every web process.

- MemoryBroker (embedded, no Redis): hands the event to this process's hub, thread-safely.
- RedisBroker: PUBLISHes it once on `<prefix>:realtime:events`; each web process's hub holds one
  subscription and fans the event out to its own clients. One Redis message per event, whatever the
  number of clients (a channel-layer group send costs one Redis message per client).
Events raised where no hub runs (a Celery worker, a command) still reach every web process in Redis mode.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from rest_framework.utils.encoders import JSONEncoder

from tradingrobot.snapshot_cache import round_trip_publish

logger = logging.getLogger(__name__)

EventHandler = Callable[[dict], None]


def channel_name() -> str:
    return f"{settings.REALTIME_CHANNEL_PREFIX}:realtime:events"


class MemoryBroker:
    kind = "memory"

    def __init__(self):
        self._handler: EventHandler | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def publish(self, event: dict) -> None:
        handler, loop = self._handler, self._loop
        if handler is None or loop is None or loop.is_closed():
            return  # no WebSocket clients in this process: nobody to tell
        loop.call_soon_threadsafe(handler, event)

    async def run(self, handler: EventHandler, ready: Callable[[], None], lost: Callable[[], None]) -> None:
        self._handler, self._loop = handler, asyncio.get_running_loop()
        ready()
        try:
            await asyncio.Event().wait()
        finally:
            if self._handler is handler:
                self._handler = self._loop = None


class RedisBroker:
    kind = "redis"

    def __init__(self, url: str):
        self.url = url
        self._client: Any = None

    def publish(self, event: dict) -> None:
        import redis

        message = json.dumps(event, cls=JSONEncoder)
        channel = channel_name()

        def failed(error: BaseException) -> None:
            logger.error("could not publish %s to Redis; WebSocket clients miss it: %s", event.get("type"), error)

        if round_trip_publish(self.url, channel, message, failed):  # with the memo bumps after a commit
            return
        if self._client is None:
            self._client = redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
        try:
            self._client.publish(channel, message)
        except redis.RedisError:
            logger.exception("could not publish %s to Redis; WebSocket clients miss it", event.get("type"))

    async def run(self, handler: EventHandler, ready: Callable[[], None], lost: Callable[[], None]) -> None:
        """Subscribe once, call `handler` for each event; reconnect with a pause when Redis goes away (`lost`
        tells the hub, so new clients are not kept waiting for a subscription that cannot come)."""
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        channel = channel_name()
        while True:
            client = aioredis.Redis.from_url(self.url)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(channel)
                # Once Redis confirms, nothing published after this point is missed.
                confirmation = None
                while confirmation is None or confirmation.get("type") != "subscribe":
                    confirmation = await pubsub.get_message(timeout=5.0)
                ready()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        _handle_raw(handler, message["data"])
            except (RedisError, OSError):
                lost()
                logger.warning("Redis subscription to %s lost; retrying in 1 s", channel, exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                await _quietly(pubsub.aclose())
                await _quietly(client.aclose())


def _handle_raw(handler: EventHandler, data: bytes) -> None:
    try:
        event = json.loads(data)
    except ValueError:
        logger.warning("ignoring a malformed event on %s", channel_name())
        return
    if isinstance(event, dict) and isinstance(event.get("type"), str):
        handler(event)


async def _quietly(closing: Awaitable) -> None:
    """Closing a connection that already died may fail; nothing to do about it."""
    with contextlib.suppress(Exception):
        await closing


_brokers: dict[tuple, MemoryBroker | RedisBroker] = {}


def get_broker() -> MemoryBroker | RedisBroker:
    """The process's broker for the current settings (tests switch settings; each combination gets one)."""
    key = (settings.REALTIME_BROKER, settings.REALTIME_REDIS_URL)
    if key not in _brokers:
        if settings.REALTIME_BROKER == "redis":
            if not settings.REALTIME_REDIS_URL:
                from django.core.exceptions import ImproperlyConfigured

                raise ImproperlyConfigured("REALTIME_BROKER=redis needs REDIS_URL (or REALTIME_REDIS_URL).")
            _brokers[key] = RedisBroker(settings.REALTIME_REDIS_URL)
        else:
            _brokers[key] = MemoryBroker()
    return _brokers[key]
