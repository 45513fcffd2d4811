"""Readiness: every dependency the robot needs to do its job, each a named check with a message.

A check returns (ok, message, details); one that raises fails with the error as its message, so a database
outage fails `database` and every check that reads the database, each saying why.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from market.clock import now
from tradingrobot.error_codes import ErrorCode
from tradingrobot.serializer_fields import iso_z

from . import selectors

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "message": self.message, **self.details}


def check_database(at: dt.datetime) -> tuple[bool, str, dict]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, f"{connection.vendor} answers", {}


def check_redis(at: dt.datetime) -> tuple[bool, str, dict]:
    import redis

    timeout = settings.OPS_REDIS_TIMEOUT_SECONDS
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()
    return True, "Redis answers PING", {}


def _heartbeat(kind: str, label: str, max_age: float, at: dt.datetime) -> tuple[bool, str, dict]:
    age = selectors.heartbeat_ages(at=at)[kind]
    details = {"age_seconds": age, "max_age_seconds": max_age}
    if age is None:
        return False, f"no {label} heartbeat: is a {label} running?", details
    if age > max_age:
        return False, f"{label} last seen {age:.0f} s ago (allowed {max_age:.0f} s)", details
    return True, f"{label} seen {age:.0f} s ago", details


def check_celery_worker(at: dt.datetime) -> tuple[bool, str, dict]:
    return _heartbeat("worker", "Celery worker", settings.OPS_WORKER_MAX_AGE_SECONDS, at)


def check_celery_beat(at: dt.datetime) -> tuple[bool, str, dict]:
    return _heartbeat("beat", "Celery beat", settings.OPS_BEAT_MAX_AGE_SECONDS, at)


def check_wordpress(at: dt.datetime) -> tuple[bool, str, dict]:
    feed = selectors.wordpress_feed_get()
    details = {
        "breaker": feed.breaker,
        "consecutive_failures": feed.consecutive_failures,
        "last_success_at": iso_z(feed.last_success_at),
        "last_attempt_at": iso_z(feed.last_attempt_at),
    }
    if settings.MARKET_DATA_FALLBACK:  # which source feeds the store now, since when and why; budgets
        details["market_data"] = selectors.market_data_source_get()
    down = feed.down(at=at)
    if down:
        return False, f"WordPress feed down: {down}", details
    assert feed.last_success_at is not None  # down() names a feed that never succeeded
    age = (at - feed.last_success_at).total_seconds()
    return True, f"breaker {feed.breaker}; last successful poll {age:.0f} s ago", details


def check_data_freshness(at: dt.datetime) -> tuple[bool, str, dict]:
    rows = selectors.price_freshness_list(at=at)
    symbols = {r.ticker: {"age_seconds": r.age_seconds, "stale": r.stale} for r in rows}
    details = {
        "market_open": selectors.market_is_open(at=at),
        "max_age_seconds": settings.MAX_PRICE_AGE_SECONDS,
        "symbols": symbols,
    }
    stale = [r for r in rows if r.stale]
    if stale:
        parts = [f"{r.ticker} ({'no price' if r.age_seconds is None else f'{r.age_seconds:.0f} s old'})" for r in stale]
        return False, "stale prices: " + ", ".join(parts), details
    if not rows:
        return False, "no active symbols", details
    return True, f"{len(rows)} symbols fresh", details


def check_outbox(at: dt.datetime) -> tuple[bool, str, dict]:
    backlog = selectors.outbox_backlog_get(at=at)
    details = {"pending": backlog.pending, "oldest_pending_age_seconds": backlog.oldest_pending_age}
    details["failed"] = backlog.failed
    max_age, max_pending = settings.OPS_OUTBOX_MAX_AGE_SECONDS, settings.OPS_OUTBOX_MAX_PENDING
    if backlog.oldest_pending_age > max_age:
        return (
            False,
            (
                f"{backlog.pending} records wait for WordPress, the oldest {backlog.oldest_pending_age:.0f} s "
                f"(allowed {max_age:.0f} s)"
            ),
            details,
        )
    if backlog.pending > max_pending:
        return False, f"{backlog.pending} records wait for WordPress (allowed {max_pending})", details
    message = f"{backlog.pending} pending"
    if backlog.failed:
        message += f"; {backlog.failed} refused by WordPress (see the admin)"
    return True, message, details


CHECKS: dict[str, Callable[[dt.datetime], tuple[bool, str, dict]]] = {
    "database": check_database,
    "redis": check_redis,
    "celery_worker": check_celery_worker,
    "celery_beat": check_celery_beat,
    "wordpress": check_wordpress,
    "data_freshness": check_data_freshness,
    "outbox": check_outbox,
}


def checks_enabled() -> list[str]:
    names = [name for name in CHECKS if name not in settings.OPS_READY_SKIP]
    if not settings.REDIS_URL:
        names.remove("redis")
    return names


def check_run(name: str, at: dt.datetime) -> Check:
    try:
        ok, message, details = CHECKS[name](at)
    except Exception as error:
        logger.warning("readiness check %s raised", name, exc_info=True)
        return Check(name, False, f"{type(error).__name__}: {str(error).strip()[:300]}")
    return Check(name, ok, message, details)


@dataclass(frozen=True)
class Readiness:
    checks: list[Check]
    at: dt.datetime

    @property
    def failing(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def ready(self) -> bool:
        return not self.failing

    def as_dict(self) -> dict:
        body = {"ready": self.ready, "checks": {c.name: c.as_dict() for c in self.checks}, "timestamp": iso_z(self.at)}
        if self.ready:
            return {"status": "ok", **body}
        summary = "; ".join(f"{c.name}: {c.message}" for c in self.failing)
        return {
            "status": "error",
            "code": ErrorCode.NOT_READY.value,
            "message": f"Not ready: {summary}",
            "failing": [c.name for c in self.failing],
            **body,
        }


def readiness_get(*, names: list[str] | None = None) -> Readiness:
    at = now()
    return Readiness([check_run(name, at) for name in (names or checks_enabled())], at)
