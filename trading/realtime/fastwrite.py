"""Writing a text frame straight to daphne's socket, skipping per-message work that fan-out repeats N times.

daphne gives each application `send = functools.partial(server.handle_reply, protocol)`, where `protocol` is
its autobahn WebSocketServerProtocol. Going through it costs, per message, the ASGI dispatch, autobahn's
framing with eagerly formatted debug logs, and the traffic counters. For a frame that thousands of clients
receive, `direct_writer` frames the bytes itself (RFC 6455: FIN + text opcode, server frames are unmasked)
and hands them to the same Twisted transport, or straight to its socket when nothing is buffered there
(`socket_writer`). It only does so while the connection is open, has nothing queued in autobahn and uses
no compression; otherwise it returns False and the caller uses the ASGI send.
Under any other server (tests' communicator, uvicorn...) there is no direct writer and the ASGI send is used.
"""

import functools
from collections.abc import Callable
from typing import Any

TEXT_FIN = 0x81


def frame_header(length: int) -> bytes:
    if length < 126:
        return bytes((TEXT_FIN, length))
    if length < 1 << 16:
        return bytes((TEXT_FIN, 126)) + length.to_bytes(2, "big")
    return bytes((TEXT_FIN, 127)) + length.to_bytes(8, "big")


def daphne_protocol(send) -> Any:
    """The daphne (autobahn) WebSocketServerProtocol behind an ASGI `send`, or None under any other server."""
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:
        return None
    if not isinstance(send, functools.partial) or not send.args:
        return None
    protocol = send.args[0]
    return protocol if isinstance(protocol, WebSocketProtocol) else None


def direct_writer(send) -> Callable[[str], bool] | None:
    from daphne.ws_protocol import WebSocketProtocol

    protocol = daphne_protocol(send)
    if protocol is None:
        return None

    write_bytes = None

    def write(text: str) -> bool:
        nonlocal write_bytes
        if (
            protocol.state != WebSocketProtocol.STATE_OPEN
            or protocol.send_queue
            or protocol._perMessageCompress is not None
            or protocol.transport is None
        ):
            return False
        if write_bytes is None:
            write_bytes = socket_writer(protocol.transport) or protocol.transport.write
        payload = text.encode()
        write_bytes(frame_header(len(payload)) + payload)
        return True

    return write


def socket_writer(transport) -> Callable[[bytes], None] | None:
    """For a plain TCP transport, send on the socket at once while Twisted has nothing buffered for it (the
    usual case), which saves the reactor's register-for-write, write, unregister round (two epoll calls and
    a callback) per frame; whatever the socket does not take at once goes through Twisted as usual. None
    for any other transport (TLS among them: its bytes must go through the TLS layer)."""
    from twisted.internet import tcp

    if type(transport) is not tcp.Server:
        return None
    sock = transport.getHandle()

    def write(data: bytes) -> None:
        idle = not transport.dataBuffer and not transport._tempDataLen
        if idle and transport.connected and not transport.disconnecting:
            try:
                sent = sock.send(data)
            except OSError:  # full (EAGAIN) or broken: Twisted buffers it, or meets the error and closes
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        transport.write(data)

    return write
