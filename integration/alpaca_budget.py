"""Alpaca's request budget: at most ALPACA_REQUESTS_PER_MINUTE requests in any 60 s per account (Alpaca's limit).

With Redis as the default cache the window is one sorted set per account that every process shares (web, workers
and the stream together stay under the account's limit); without Redis (embedded), or while Redis is unreachable,
each process keeps its own window. A request counts from when it is sent until a window after its answer: Alpaca
saw it somewhere in between, so the window holds on its side too."""

import collections
import contextlib
import hashlib
import logging
import threading
import time
import uuid

import redis
from django.conf import settings

from tradingrobot.locks import redis_client_of_cache
from tradingrobot.snapshot_cache import CACHE_DOWN

log = logging.getLogger(__name__)

# KEYS[1] the window; ARGV: window seconds, limit, longest a request may take, member. A member's score is the
# moment its request was answered (while in flight: the latest it can be, now + timeout); it leaves the window a
# window after that. Returns 0 when a slot was taken, else the seconds until the oldest member leaves (a string:
# Redis would truncate a Lua number). Redis's own clock, so every process shares one time.
_TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], t + tonumber(ARGV[3]), ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(window + tonumber(ARGV[3])) + 1)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - t)
"""
_ANSWERED = """
local now = redis.call('TIME')
return redis.call('ZADD', KEYS[1], 'XX', tonumber(now[1]) + tonumber(now[2]) / 1000000, ARGV[1])
"""


class LocalWindow:
    """This process's sliding window (a call waits for a slot)."""

    def __init__(self, per_minute: int, window: float):
        self.per_minute, self.window = per_minute, window
        self.answered: collections.deque[float] = collections.deque()
        self.in_flight = 0
        self.guard = threading.Lock()

    def take(self) -> None:
        while True:
            with self.guard:
                at = time.monotonic()
                while self.answered and at - self.answered[0] >= self.window:
                    self.answered.popleft()
                if self.in_flight + len(self.answered) < self.per_minute:
                    self.in_flight += 1
                    return
                pause = self.window - (at - self.answered[0]) if self.answered else 0.01
            time.sleep(pause)

    def answered_now(self) -> None:
        with self.guard:
            self.in_flight -= 1
            self.answered.append(time.monotonic())


class SharedWindow:
    """The account's window in Redis, shared by every process that uses the same key id."""

    def __init__(self, client: redis.Redis, key: str, per_minute: int, window: float, timeout: float):
        self.client, self.key = client, key
        self.per_minute, self.window, self.timeout = per_minute, window, timeout
        self._take = client.register_script(_TAKE)
        self._answered = client.register_script(_ANSWERED)

    def take(self) -> str:
        member = uuid.uuid4().hex
        while True:
            wait = self._take(keys=[self.key], args=[self.window, self.per_minute, self.timeout, member])
            if wait == 0:
                return member
            time.sleep(min(max(float(wait), 0.005), self.window))

    def answered_now(self, member: str) -> None:
        self._answered(keys=[self.key], args=[member])


class Budget:
    """The shared window when Redis is the cache, else (or while Redis is unreachable) this process's own."""

    def __init__(self, per_minute: int, window: float = 60.0, *, key_id: str = "", shared: bool = True):
        self.local = LocalWindow(per_minute, window)
        client = redis_client_of_cache() if shared else None
        account = hashlib.sha256(key_id.encode()).hexdigest()[:16]
        timeout = float(settings.ALPACA_TIMEOUT_SECONDS) * 2  # the SDK's read and connect timeouts
        self.shared = SharedWindow(client, f"alpaca-budget:{account}", per_minute, window, timeout) if client else None

    def take(self) -> str | None:
        """A slot (waits for one); what `answered_now` needs."""
        if self.shared is not None:
            try:
                return self.shared.take()
            except CACHE_DOWN as error:
                log.warning("Alpaca budget: Redis unreachable (%s); this process's own window meanwhile", error)
        self.local.take()
        return None

    def answered_now(self, member: str | None) -> None:
        if member is None:
            self.local.answered_now()
            return
        assert self.shared is not None  # a member comes only from the shared window
        with contextlib.suppress(*CACHE_DOWN):  # unreachable: the member leaves at its in-flight bound instead
            self.shared.answered_now(member)
