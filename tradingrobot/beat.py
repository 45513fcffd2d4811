"""Celery beat on RedBeat that survives Redis going away (settings: CELERY_BEAT_SCHEDULER).

Plain RedBeat ends the beat process at the first tick Redis does not answer, and a Redis restarted without
persistence comes back without RedBeat's lock and schedule, so even a beat that lived on would send nothing.
Here a tick that meets an unreachable Redis waits and tries again; a lock found lost (Redis restarted, or another
beat took over after a long pause) is taken again if free — else this beat stands by — and the static schedule is
installed again. Found by tests/faults (Redis restarted while polling and trading).
"""

import logging
from typing import Any

import redis
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, RedBeatScheduler, get_redis
from redis.exceptions import LockError

logger = logging.getLogger(__name__)
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)
# A standing-by beat asks for the lock this often (one SET NX), so it takes over at most this long after the dead
# beat's lock expires: within the lock timeout of the last renewal, whatever CELERY_BEAT_MAX_LOOP_INTERVAL is.
STANDBY_POLL_SECONDS = 0.25


class ResilientRedBeatScheduler(RedBeatScheduler):
    lock: Any  # set by RedBeatScheduler (untyped)

    def tick(self, min=min, **kwargs):
        try:
            if self.lock_key and self.lock is None and not self._lock_take():
                return min(self.max_interval, STANDBY_POLL_SECONDS)  # standing by: another beat holds the lock
            return super().tick(min=min, **kwargs)
        except REDIS_DOWN as error:
            logger.warning("beat: Redis unreachable (%s); trying again in %s s", error, self.max_interval)
            return self.max_interval
        except LockError:
            logger.warning("beat: lock lost (Redis restarted?); taking it again")
            self.lock = None
            return 0.1 if self._lock_take() else self.max_interval

    def _lock_take(self) -> bool:
        """Take the lock without waiting; on success, install the static schedule again (gone if Redis was
        emptied; entries still there keep their last run)."""
        client = get_redis(self.app)
        lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        if not lock.acquire(blocking=False):
            return False
        self.lock = lock
        logger.warning("beat: acquired the lock; installing the schedule")
        self.setup_schedule()
        return True
