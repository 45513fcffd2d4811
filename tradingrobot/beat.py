"""Celery beat on RedBeat that survives Redis going away and hands over within the lock timeout
(settings: CELERY_BEAT_SCHEDULER).

Plain RedBeat ends the beat process at the first tick Redis does not answer, and a Redis restarted without
persistence comes back without RedBeat's lock and schedule, so even a beat that lived on would send nothing.
Here a tick that meets an unreachable Redis waits and tries again; a lock found lost (Redis restarted, or another
beat took over after a long pause) is taken again if free — else this beat stands by — and the static schedule is
installed again. Found by tests/faults (Redis restarted while polling and trading).

Takeover within CELERY_REDBEAT_LOCK_TIMEOUT of the active beat dying (tests/deploy): RedBeat renews the lock to the
full lock timeout and a standby blocks at start in a lock wait that sleeps CELERY_BEAT_MAX_LOOP_INTERVAL between
tries, so a standby held the lock up to timeout + loop interval after a kill. Here the standby asks every
STANDBY_POLL_SECONDS from the start, and the active beat renews to lock_ttl(): the lock of a beat killed right
after a renewal is free STANDBY_POLL_SECONDS + TAKEOVER_MARGIN_SECONDS before the lock timeout has passed.
"""

import logging
from typing import Any

import redis
from celery import signals
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, RedBeatScheduler, acquire_distributed_beat_lock, get_redis
from redis.exceptions import LockError

logger = logging.getLogger(__name__)
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)
# A standing-by beat asks for the lock this often (one SET NX).
STANDBY_POLL_SECONDS = 0.25
# From the lock's expiry to the standby's first due entry sent: its poll's Redis round trip, the schedule installed
# again (a few dozen Redis commands), the first tick's send, and a loaded machine scheduling the process late.
TAKEOVER_MARGIN_SECONDS = 1.5


def lock_ttl(lock_timeout: float, max_interval: float) -> float:
    """What the active beat renews its lock to at every tick (every max_interval at most). Refuses a lock timeout
    too short to leave the active beat a renewal's worth of slack: it would lose its lock while alive."""
    ttl = lock_timeout - STANDBY_POLL_SECONDS - TAKEOVER_MARGIN_SECONDS
    if ttl < max_interval + TAKEOVER_MARGIN_SECONDS:
        raise ValueError(
            f"CELERY_REDBEAT_LOCK_TIMEOUT={lock_timeout} is too short for CELERY_BEAT_MAX_LOOP_INTERVAL="
            f"{max_interval}: needs at least {max_interval + 2 * TAKEOVER_MARGIN_SECONDS + STANDBY_POLL_SECONDS}"
        )
    return ttl


class ResilientRedBeatScheduler(RedBeatScheduler):
    lock: Any  # set by RedBeatScheduler (untyped)

    def __init__(self, app, **kwargs):
        super().__init__(app, **kwargs)
        self.lock_ttl = lock_ttl(self.lock_timeout, self.max_interval)

    def tick(self, min=min, **kwargs):
        try:
            if self.lock_key and self.lock is None and not self._lock_take():
                return min(self.max_interval, STANDBY_POLL_SECONDS)  # standing by: another beat holds the lock
            return self._tick_holding(min)
        except REDIS_DOWN as error:
            logger.warning("beat: Redis unreachable (%s); trying again in %s s", error, self.max_interval)
            return self.max_interval
        except LockError:
            logger.warning("beat: lock lost (Redis restarted?); taking it again")
            self.lock = None
            return 0.1 if self._lock_take() else self.max_interval

    def _tick_holding(self, min) -> float:
        """RedBeatScheduler.tick, renewing to lock_ttl rather than to the whole lock timeout."""
        if self.lock_key:
            self.lock.extend(self.lock_ttl)
        remaining: list[float] = []
        try:
            for entry in self.schedule.values():
                next_time_to_run = self.maybe_due(entry, **self._maybe_due_kwargs)
                if next_time_to_run:
                    remaining.append(next_time_to_run)
        except RuntimeError:
            logger.debug("beat: RuntimeError", exc_info=True)
        return min([*remaining, self.max_interval])

    def _lock_take(self) -> bool:
        """Take the lock without waiting; on success, install the static schedule again (gone if Redis was
        emptied; entries still there keep their last run)."""
        client = get_redis(self.app)
        lock = client.lock(self.lock_key, timeout=self.lock_ttl, sleep=STANDBY_POLL_SECONDS)
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        if not lock.acquire(blocking=False):
            return False
        self.lock = lock
        logger.warning("beat: acquired the lock; installing the schedule")
        self.setup_schedule()
        return True


def _lock_try_at_start(sender=None, **kwargs) -> None:
    """In place of RedBeat's beat_init receiver, which waits for the lock in a loop sleeping max_interval: one try;
    a beat that finds the lock held stands by in tick(), asking every STANDBY_POLL_SECONDS."""
    scheduler = sender.scheduler
    if not isinstance(scheduler, ResilientRedBeatScheduler):
        acquire_distributed_beat_lock(sender=sender, **kwargs)
        return
    try:
        if scheduler.lock_key and not scheduler._lock_take():
            logger.warning("beat: the lock is held by another beat; standing by")
    except REDIS_DOWN as error:
        logger.warning("beat: Redis unreachable at start (%s); the first tick tries again", error)


signals.beat_init.disconnect(acquire_distributed_beat_lock)
signals.beat_init.connect(_lock_try_at_start, weak=False, dispatch_uid="tradingrobot-beat-lock")
