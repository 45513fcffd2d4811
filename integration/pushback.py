"""Delivering the outbox to WordPress: trades to `POST /trades`, metrics to `POST /performance`.

One deliverer at a time (tradingrobot/locks.py: a cache lock with an owner token, shared through Redis, its lease
renewed before every record so a slow batch keeps it; and row locks), records in id order, each claimed
with a lease (a worker killed mid-delivery leaves a claim that expires, and the record goes out again: harmless,
WordPress is idempotent on `trade_id`). When the site is down the batch stops at the first failure, so order holds, and
the record waits with exponential backoff and jitter. A refusal that resending cannot fix (400, 422) marks the
record failed with the site's message; the admin shows it and can queue it again.

This module only delivers: claiming, settling and queueing again are the outbox owner's (`trading.outbox`).
"""

import datetime as dt
import logging
import os
import random
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from trading.models import OutboxMessage
from trading.outbox import Outcome, outbox_claim, outbox_release, outbox_settle
from trading.strategy_documents import strategies_document
from tradingrobot.locks import CacheLock, cache_lock

from .client import NAMESPACE, WordPressClient
from .services import site_zone_get
from .transform import FetchFailed

logger = logging.getLogger(__name__)

PUSHBACK_LOCK = "pushback:deliver"
ROUTES: dict[str, str] = {
    OutboxMessage.Kind.TRADE: f"{NAMESPACE}/trades",
    OutboxMessage.Kind.PERFORMANCE: f"{NAMESPACE}/performance",
    OutboxMessage.Kind.STRATEGIES: f"{NAMESPACE}/strategies",
}
# Refusals that a later retry may cure (credentials or plugin fixed by an operator) keep the record pending.
WAIT_STATUSES = {401, 403, 404, 408, 409, 425, 429}
# So do answers that stored nothing for sure: a redirect (WP_BASE_URL to correct), a 2xx that is not 200/201 or does
# not echo the record's id (a proxy or cache page answering for the site), an http:// URL refused in production.
WAIT_CODES = {"redirected", "not_acknowledged", "insecure_url"}


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: str = ""

    def as_dict(self) -> dict:
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "deferred": self.deferred,
            "errors": self.errors,
            "skipped": self.skipped,
        }


def backoff_seconds(attempts: int) -> float:
    base = settings.PUSHBACK_BACKOFF_SECONDS * (2 ** max(attempts - 1, 0))
    return min(base, settings.PUSHBACK_BACKOFF_MAX_SECONDS) + random.uniform(0, settings.PUSHBACK_BACKOFF_SECONDS)


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PUSHBACK_LEASE_SECONDS)


def _site_local(value: object, zone: dt.tzinfo, *, times: bool = False) -> object:
    """Values under a `<name>_utc` key (a time, or an object of times) are ISO times in UTC: they go out as
    `<name>` in the site's local MySQL format, as the site writes its own times."""
    if isinstance(value, dict):
        return {
            key.removesuffix("_utc"): _site_local(item, zone, times=times or key.endswith("_utc"))
            for key, item in value.items()
        }
    if times and isinstance(value, str):
        return dt.datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    return value


def wordpress_document(message: OutboxMessage, zone: dt.tzinfo) -> Any:
    """The document WordPress receives. A strategies mark sends the list as it is now (times in UTC, with Z)."""
    if message.kind == OutboxMessage.Kind.STRATEGIES:
        return strategies_document(at=timezone.now())
    return _site_local(message.payload, zone)


def acknowledgement_check(message: OutboxMessage, sent: Any, answer: Any) -> None:
    """FetchFailed unless the receiver's answer shows it stored what was sent (CONTRACTS.md, push-back; the
    plugin's includes/receiver.php and strategies.php): a trade echoes its `trade_id`, a metrics document its
    `strategy_id`, a strategy list says `replaced` or `ignored` (an equal or newer list is stored) with the
    `total` sent."""
    if message.kind == OutboxMessage.Kind.STRATEGIES:
        count = len(sent.get("strategies") or [])
        fine = isinstance(answer, dict) and answer.get("status") in ("replaced", "ignored")
        if fine and answer.get("total") == count:
            return
        raise FetchFailed(
            "not_acknowledged", f"expected status replaced/ignored and total {count}; got {_excerpt(answer)}"
        )
    field_name = "trade_id" if message.kind == OutboxMessage.Kind.TRADE else "strategy_id"
    expected = sent.get(field_name)
    got = answer.get(field_name) if isinstance(answer, dict) else None
    if got is None or str(got) != str(expected):
        raise FetchFailed("not_acknowledged", f"expected {field_name} {expected!r} echoed; got {_excerpt(answer)}")


def _excerpt(answer: Any) -> str:
    text = repr(answer)
    return text if len(text) <= 160 else text[:157] + "..."


def _settle(message: OutboxMessage, *, error: FetchFailed | None = None) -> Outcome:
    """Delivered without an error; deferred with backoff when the site is down or may be fixed; else failed."""
    if error is None:
        outbox_settle(message=message, outcome="delivered")
        return "delivered"
    text = f"{error.code}: {error.message}"
    if error.site_down or (error.status in WAIT_STATUSES) or error.code in WAIT_CODES:
        retry_at = timezone.now() + dt.timedelta(seconds=backoff_seconds(message.attempts + 1))
        outbox_settle(message=message, outcome="deferred", error=text, retry_at=retry_at)
        return "deferred"
    outbox_settle(message=message, outcome="failed", error=text)
    return "failed"


def outbox_deliver(*, limit: int = 200, client: WordPressClient | None = None) -> DeliveryReport:
    report = DeliveryReport()
    with cache_lock(PUSHBACK_LOCK, ttl=settings.PUSHBACK_LEASE_SECONDS, owner=_owner()) as lock:
        if not lock.acquired:
            report.skipped = "another delivery is running"
            return report
        _deliver(lock, report, limit=limit, client=client or WordPressClient())
    if report.errors:
        logger.warning("push-back: %s", report.as_dict())
    return report


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _deliver(lock: CacheLock, report: DeliveryReport, *, limit: int, client: WordPressClient) -> None:
    claimed = outbox_claim(limit=limit, lease=_lease())
    if not claimed:
        return
    try:
        zone = site_zone_get(client)
    except FetchFailed as error:
        report.errors.append(f"{error.code}: {error.message}")
        report.deferred += sum(_settle(m, error=error) == "deferred" for m in claimed)
        return
    for index, message in enumerate(claimed):
        # The lease starts again for every record, so a slow batch keeps the lock (claims are made only under
        # it). Lost (one call outlasted the whole lease): another deliverer may own the rest now; stop.
        if not lock.renew():
            report.skipped = "the delivery lock was lost (a record took longer than PUSHBACK_LEASE_SECONDS)"
            return
        try:
            document = wordpress_document(message, zone)
            acknowledgement_check(message, document, client.post(ROUTES[message.kind], document))
        except FetchFailed as error:
            report.errors.append(f"{message.key}: {error.code}: {error.message}")
            if _settle(message, error=error) == "failed":
                report.failed += 1
                continue
            report.deferred += 1
            # Keep the order: the rest waits for the next run.
            outbox_release(messages=claimed[index + 1 :])
            return
        _settle(message)
        report.delivered += 1
