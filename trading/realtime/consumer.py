"""`ws /ws/updates`: one connected client. The hub does the ticking and the fan-out."""

import asyncio
import logging

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from tradingrobot.error_codes import ErrorCode, WsClose

from . import frames
from .fastwrite import direct_writer
from .hub import Client, Hub, get_hub
from .slim import slim_connection

logger = logging.getLogger(__name__)

CLOSE_TRY_AGAIN_LATER = WsClose.TRY_AGAIN_LATER.value  # a plain int: daphne (autobahn) refuses int subclasses
CLOSE_FORBIDDEN = WsClose.FORBIDDEN.value


class UpdatesConsumer(AsyncWebsocketConsumer):
    # No channel-layer channel per client: frames come from the process's hub, not through Redis per client.
    channel_layer_alias = None

    hub: Hub | None = None
    client: Client | None = None

    async def __call__(self, scope, receive, send):
        """channels' AsyncConsumer.__call__ without a channel layer, awaiting `receive` itself: channels'
        await_many_dispatch keeps a Task, an asyncio.wait and its callbacks per connection for one source."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def connect(self):
        if not await self.is_allowed():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.accept()
        slim_connection(self.base_send)
        await self.start_stream()

    async def is_allowed(self) -> bool:
        """Whether this connection may watch: the place for a per-connection check. Credentials, origin and
        scope are checked before the consumer runs (tradingrobot/security/ws.py puts the credential in
        self.scope["auth"]); everyone that got through may watch."""
        return True

    async def start_stream(self):
        """The snapshot first, then ticks and events. Registering right after queueing the snapshot, with no
        await in between, means the snapshot is always the first frame."""
        self.hub = await get_hub()
        self.client = Client(
            self._send_text,
            queue_size=settings.REALTIME_CLIENT_QUEUE,
            on_lag=self._on_lag,
            write_now=direct_writer(self.base_send) if settings.REALTIME_DIRECT_WRITE else None,
        )
        try:
            self.client.offer(await self.hub.snapshot())
        except Exception:
            logger.exception("could not compute the status snapshot for a new client")
            message = "The status could not be computed just now; it follows with the next tick."
            self.client.offer(frames.reply_frame("error", code=ErrorCode.STATUS_UNAVAILABLE.value, message=message))
        self.hub.add(self.client)

    async def _send_text(self, text: str) -> None:
        await self.base_send({"type": "websocket.send", "text": text})

    def _on_lag(self) -> None:
        self._stop_client()
        asyncio.get_running_loop().create_task(self.close(code=CLOSE_TRY_AGAIN_LATER))

    async def disconnect(self, code):
        self._stop_client()

    def _stop_client(self) -> None:
        if self.client is not None:
            if self.hub is not None:
                self.hub.remove(self.client)
            self.client.stop()
            self.client = None

    async def receive(self, text_data=None, bytes_data=None):
        if self.client is None:
            return
        try:
            message = frames.parse_client_message(text_data)
            self._reply(*self._handle(message))
        except frames.BadMessage as bad:
            self._reply("error", {"code": bad.code.value, "message": bad.message, "received": _excerpt(text_data)})

    def _handle(self, message: frames.ClientMessage) -> tuple[str, dict]:
        ids = {} if message.id is None else {"id": message.id}
        if message.action == "ping":
            return "pong", ids
        assert self.client is not None  # receive() hands over only a connected client's messages
        current = self.client.subscription
        if message.action == "subscribe":
            updated = current.subscribe(message.topics, message.symbols)
        else:
            updated = current.unsubscribe(message.topics, message.symbols)
        self.client.subscription = updated
        return f"{message.action}d", {**updated.describe(), **ids}

    def _reply(self, frame_type: str, fields: dict) -> None:
        if self.client is not None and not self.client.offer(frames.reply_frame(frame_type, **fields)):
            assert self.hub is not None  # a connected client was registered with the hub
            self.hub.remove(self.client)
            self._on_lag()


def _excerpt(text: str | None) -> str | None:
    return None if text is None else text[:200]
