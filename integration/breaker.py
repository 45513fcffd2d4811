"""A circuit breaker whose state lives in the Django cache, so every process shares it (Redis when REDIS_URL
is set; an embedded run has one polling worker process, which the local-memory cache serves).

closed -> `failures` consecutive failed calls -> open (calls refused) -> after `reset_seconds` one trial call
(`cache.add` is atomic: exactly one process wins it) -> success closes, failure re-opens.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class BreakerState:
    state: str  # closed | open | half_open
    failures: int
    retry_in: float  # seconds until a trial call is allowed (0 unless open)


class CircuitBreaker:
    def __init__(self, name: str, *, failures: int, reset_seconds: float):
        self.failures_to_open = failures
        self.reset_seconds = reset_seconds
        self._failures = f"{name}:breaker:failures"
        self._opened_at = f"{name}:breaker:opened_at"
        self._trial = f"{name}:breaker:trial"

    def _ttl(self) -> int:
        return int(self.reset_seconds * 10) + 60

    def allow(self) -> bool:
        """May a call go out now? In half-open, only the first asker gets the trial."""
        opened_at = cache.get(self._opened_at)
        if opened_at is None:
            return True
        if time.time() - opened_at < self.reset_seconds:
            return False
        return cache.add(self._trial, time.time(), timeout=max(1, int(self.reset_seconds)))

    def record_success(self) -> None:
        cache.delete_many([self._failures, self._opened_at, self._trial])

    def record_failure(self) -> None:
        if cache.get(self._opened_at) is not None:  # the trial failed: open again for a full period
            cache.set(self._opened_at, time.time(), timeout=self._ttl())
            cache.delete(self._trial)
            return
        cache.add(self._failures, 0, timeout=self._ttl())
        try:
            failures = cache.incr(self._failures)
        except ValueError:  # expired between add and incr
            cache.set(self._failures, 1, timeout=self._ttl())
            failures = 1
        if failures >= self.failures_to_open:
            cache.set(self._opened_at, time.time(), timeout=self._ttl())

    def state(self) -> BreakerState:
        opened_at = cache.get(self._opened_at)
        failures = cache.get(self._failures) or 0
        if opened_at is None:
            return BreakerState("closed", failures, 0.0)
        remaining = self.reset_seconds - (time.time() - opened_at)
        if remaining > 0:
            return BreakerState("open", failures, round(remaining, 3))
        return BreakerState("half_open", failures, 0.0)

    def reset(self) -> None:
        self.record_success()
