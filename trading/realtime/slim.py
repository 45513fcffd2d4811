"""What one open daphne WebSocket connection keeps, cut down once its handshake is done.

With thousands of connections in one process the per-connection objects are the process's memory. Once a
connection is accepted, daphne and autobahn still hold what only the handshake needed: the request and its
parsed headers (twice: autobahn's dict and daphne's list, which is also the ASGI scope's `headers`), the raw
request bytes and the offered extensions. Empty deques cost about 760 bytes each: autobahn's send queue is one,
and daphne's input queue for the application, an `asyncio.Queue`, holds four, of which an unbounded queue that
nobody joins uses two. `slim_connection` drops the first, gives the queues small lists instead, keeps autobahn's
per-connection copy of the factory's settings once on the class, lets go of the HTTP channel of the upgrade,
then re-packs the protocol's attribute dict (deleting keys does not shrink a dict; copying it does). Under any
other server it does nothing.
"""

import asyncio
import collections
from typing import Any

from .fastwrite import daphne_protocol

# Read by autobahn's server handshake only (processHandshake / succeedHandshake), never after it.
HANDSHAKE_ONLY = (
    "http_headers",
    "http_request_data",
    "http_status_line",
    "http_request_uri",
    "http_request_params",
    "websocket_protocols",
    "websocket_extensions",
)


class SmallFifo(list):
    """The part of a deque an asyncio.Queue uses (append, popleft, remove, len), as a list: an empty list costs
    56 bytes, an empty deque 760; these hold one or two items at a time."""

    __slots__ = ()

    def popleft(self) -> Any:
        return self.pop(0)


class RequestPath:
    """What daphne reads from the handshake request after it (`request.path`, in its access log lines)."""

    __slots__ = ("path",)

    def __init__(self, path: str):
        self.path = path


_never_waited: collections.deque = collections.deque()  # an unbounded queue's put never waits: stays empty
_never_joined: asyncio.Event | None = None  # daphne never calls join() or task_done()


def slim_connection(send: Any) -> None:
    protocol = daphne_protocol(send)
    if protocol is None or protocol.state != protocol.STATE_OPEN:
        return
    request = protocol.__dict__.get("request")
    if request is not None and not isinstance(request, RequestPath):
        protocol.request = RequestPath(request.path)
    headers = protocol.__dict__.pop("clean_headers", None)
    if isinstance(headers, list):
        headers.clear()  # the same list is every scope's `headers`: the consumer no longer reads them
    for name in HANDSHAKE_ONLY:
        protocol.__dict__.pop(name, None)
    _slim_queue(protocol.__dict__.get("application_queue"))
    if type(protocol.__dict__.get("send_queue")) is collections.deque:  # autobahn: append, popleft, len only
        protocol.send_queue = SmallFifo(protocol.send_queue)
    _share_settings(protocol)
    _drop_http_channel(protocol.transport)
    protocol.__dict__ = dict(protocol.__dict__)


def _slim_queue(queue: Any) -> None:
    global _never_joined
    if queue.__class__ is asyncio.Queue and queue.maxsize <= 0 and not queue._putters:
        if _never_joined is None:
            _never_joined = asyncio.Event()
        queue._putters = _never_waited
        queue._finished = _never_joined
        queue._getters = SmallFifo(queue._getters)
        queue._queue = SmallFifo(queue._queue)


_MISSING = object()
SHAREABLE = frozenset({bool, int, float, str, bytes, tuple, type(None)})


def _share_settings(protocol: Any) -> None:
    """autobahn copies its factory's ~30 settings onto every connection; the values are the factory's own
    objects, the same for every connection of the process. Kept once on the class instead, each connection's
    attribute dict drops under the size at which CPython doubles it (85 keys)."""
    cls = type(protocol)
    for name in getattr(protocol, "CONFIG_ATTRS", ()):
        value = protocol.__dict__.get(name, _MISSING)
        if type(value) not in SHAREABLE:  # a function on the class would become a method
            continue
        shared = cls.__dict__.get(name, _MISSING)
        if shared is _MISSING:
            setattr(cls, name, value)
            shared = value
        if shared is value:
            del protocol.__dict__[name]


def _drop_http_channel(transport: Any) -> None:
    """The HTTP channel that read the upgrade request stays its TCP transport's producer, so the transport keeps
    it, its request and the request's headers for the connection's life. Its only job left would be to pause
    reading while writes are buffered, which a WebSocket does not want (it must still read pongs)."""
    from twisted.web.http import HTTPChannel

    if isinstance(getattr(transport, "producer", None), HTTPChannel) and not transport.producerPaused:
        transport.unregisterProducer()
