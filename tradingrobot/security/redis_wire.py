"""One thread's own connection to the cache's Redis for the one command of a request (throttling.rates_hit), with
less client CPU than redis-py's send and read:

- the socket blocking, bounded by the kernel's send and receive timeouts (SO_SNDTIMEO, SO_RCVTIMEO) set to the
  client's socket_timeout: with a Python-level timeout CPython polls before every send and every receive;
- the reply fed to hiredis's reader straight from the socket (redis-py's parser and error wrapping around it
  cost more than the parse);
- the packed command kept per (keys, arguments): a window's keys are the same for all of its requests.

redis-py's connection still connects (address, AUTH, database, client name, RESP2 or 3) and disconnects. A
connection over TLS: the command goes through redis-py's send and read as before.
Anything that goes wrong on the wire (a timeout is an OSError here, as a refusal or a reset is) disconnects,
so a half-read reply is never read by the next call; a reply that is an error is raised as redis-py raises it.
"""

import os
import socket
import struct
import threading
from typing import Any

import hiredis
from redis.exceptions import InvalidResponse

MAX_PACKED = 64  # packed commands kept per thread (the keys of the current windows)


class _Wire(threading.local):
    pool: Any = None
    pid: int = 0
    connection: Any = None
    sock: Any = None  # the socket the kernel's timeouts were set on (None: redis-py's send and read)
    reader: Any = None
    buffer: bytearray
    packed: dict

    def __init__(self) -> None:
        self.buffer = bytearray(65536)
        self.packed = {}


_wire = _Wire()


def connection_for(pool: Any) -> Any:
    """This thread's own connection to `pool`'s server (not taken from the pool: no lock, no health check)."""
    if _wire.pool is not pool or _wire.pid != os.getpid():
        if _wire.connection is not None and _wire.pid == os.getpid():
            _wire.connection.disconnect()
        _wire.pool, _wire.pid, _wire.sock, _wire.reader = pool, os.getpid(), None, None
        _wire.connection = pool.connection_class(**pool.connection_kwargs)
        _wire.packed = {}
    return _wire.connection


def packed(connection: Any, *args: Any) -> bytes | list[bytes]:
    """`connection.pack_command(*args)`, kept per arguments."""
    found = _wire.packed.get(args)
    if found is None:
        if len(_wire.packed) >= MAX_PACKED:
            _wire.packed.clear()
        found = _wire.packed[args] = connection.pack_command(*args)
    return found


def call(connection: Any, command: bytes | list[bytes]) -> Any:
    """Send the packed `command` on `connection` and return its reply (an error reply raised)."""
    sock = _wired(connection)
    if sock is None:
        connection.send_packed_command(command)
        return connection.read_response()
    try:
        if isinstance(command, bytes):
            sock.sendall(command)
        else:
            for part in command:
                sock.sendall(part)
        reader, buffer = _wire.reader, _wire.buffer
        reply = reader.gets()
        while reply is False:
            size = sock.recv_into(buffer)
            if size == 0:
                raise ConnectionResetError("Redis closed the connection")
            reader.feed(buffer, 0, size)
            reply = reader.gets()
    except BaseException:
        disconnect(connection)
        raise
    if isinstance(reply, Exception):  # an error reply, made by redis-py's own parser (NoScriptError...)
        raise reply
    return reply


def disconnect(connection: Any) -> None:
    _wire.sock = _wire.reader = None
    connection.disconnect()


def _wired(connection: Any) -> Any:
    """The connection's socket with the kernel's timeouts set (connected first when it is not), or None when
    redis-py's own send and read must be used."""
    sock = connection._sock
    if sock is not None and sock is _wire.sock:
        return sock
    if sock is None:
        connection.connect()
        sock = connection._sock
    if type(sock) is not socket.socket or str(connection.protocol) not in ("2", "3", "None"):
        return None
    timeout = connection.socket_timeout
    if timeout is not None:
        if timeout <= 0:  # non-blocking: a zero timeval would mean no timeout at all
            return None
        seconds, micros = divmod(max(1, round(timeout * 1e6)), 1_000_000)
        timeval = struct.pack("ll", seconds, micros)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    sock.settimeout(None)
    encoder = connection.encoder
    options: dict[str, Any] = {
        "protocolError": InvalidResponse,
        "replyError": connection._parser.parse_error,
        "errors": encoder.encoding_errors,
    }
    if encoder.decode_responses:
        options["encoding"] = encoder.encoding
    _wire.reader = hiredis.Reader(**options)
    _wire.sock = sock
    return sock
