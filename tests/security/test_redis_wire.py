"""The rate counts' own Redis connection (tradingrobot/security/redis_wire.py): blocking, bounded by the kernel's
timeouts instead of Python's; a timeout disconnects (a late reply is never read as the next one's); an error reply
is raised as redis-py raises it; the replies are redis-py's."""

import os
import socket
import struct
import time
import uuid

import pytest
import redis
from redis.exceptions import NoScriptError

from tests.conftest import REQUIRE_SERVICES
from tradingrobot.security import redis_wire
from tradingrobot.snapshot_cache import CACHE_DOWN

REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.fixture
def pool():
    if not REDIS_URL.startswith("redis://"):
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but REDIS_URL is not a Redis")
        pytest.skip("needs a Redis (REDIS_URL)")
    pool = redis.ConnectionPool.from_url(REDIS_URL, socket_timeout=0.3, socket_connect_timeout=0.3)
    yield pool
    redis_wire.disconnect(redis_wire.connection_for(pool))
    pool.disconnect()


def test_the_socket_blocks_with_the_kernel_timeouts_and_answers_as_redis_py(pool):
    key = f"wire-test:{uuid.uuid4().hex}"
    connection = redis_wire.connection_for(pool)
    assert redis_wire.call(connection, redis_wire.packed(connection, "INCRBY", key, 5)) == 5
    sock = connection._sock
    assert sock.gettimeout() is None  # blocking: no poll() before each send and receive
    for option in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):
        assert struct.unpack("ll", sock.getsockopt(socket.SOL_SOCKET, option, 16)) == (0, 300_000)
    client = redis.Redis(connection_pool=pool)
    try:
        client.rpush(key + ":list", "a", "b")
        wire = redis_wire.call(connection, connection.pack_command("LRANGE", key + ":list", 0, -1))
        assert wire == client.lrange(key + ":list", 0, -1) == [b"a", b"b"]
        assert redis_wire.call(connection, connection.pack_command("GET", key + ":none")) is None
    finally:
        client.delete(key, key + ":list")


def test_a_timeout_is_cache_down_within_the_timeout_and_the_late_reply_is_never_read(pool):
    key = f"wire-test:{uuid.uuid4().hex}"
    connection = redis_wire.connection_for(pool)
    started = time.monotonic()
    with pytest.raises(CACHE_DOWN):
        redis_wire.call(connection, connection.pack_command("BLPOP", key, 5))  # Redis holds the reply 5 s
    assert 0.25 < time.monotonic() - started < 1.5
    assert connection._sock is None  # disconnected
    client = redis.Redis(connection_pool=pool)
    client.rpush(key, "late")  # what BLPOP would have answered, had the connection stayed
    try:
        assert redis_wire.call(connection, connection.pack_command("PING")) in (b"PONG", "PONG", True)
        assert client.lpop(key) == b"late"  # nobody took it: the timed-out command went with its connection
    finally:
        client.delete(key)


def test_an_error_reply_is_raised_as_redis_py_raises_it_and_the_connection_stays(pool):
    connection = redis_wire.connection_for(pool)
    with pytest.raises(NoScriptError):
        redis_wire.call(connection, connection.pack_command("EVALSHA", "0" * 40, 0))
    kept = connection._sock
    assert kept is not None
    assert redis_wire.call(connection, connection.pack_command("ECHO", "x")) == b"x"
    assert connection._sock is kept


def test_the_kept_packed_commands_are_bounded(pool):
    connection = redis_wire.connection_for(pool)
    for n in range(redis_wire.MAX_PACKED * 2):
        assert redis_wire.packed(connection, "GET", f"k{n}") == connection.pack_command("GET", f"k{n}")
    assert len(redis_wire._wire.packed) <= redis_wire.MAX_PACKED
