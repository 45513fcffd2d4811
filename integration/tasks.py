"""Celery tasks: thin adapters over integration.services. Safe when two run at once: a cache lock
(tradingrobot/locks.py) lets one poll through at a time (the others return at once), and the store itself is
idempotent on (symbol, timestamp) while fills happen under the trading locks."""

import datetime as dt
import logging
import socket

from celery import current_task, shared_task
from django.conf import settings

from market.clock import market_clock, now
from trading.services import trading_state_get
from tradingrobot.locks import cache_lock
from tradingrobot.ops.models import Heartbeat

from .pushback import outbox_deliver
from .services import IngestReport, stock_data_poll
from .strategies_sync import strategies_sync

logger = logging.getLogger(__name__)


def _holder() -> str:
    """Who takes the poll lock: the worker's heartbeat name and when, so a lock left by a killed worker is told."""
    hostname = getattr(current_task.request, "hostname", None) if current_task else None
    return f"worker:{hostname or socket.gethostname()}|{now().isoformat()}"


def _holder_gone(holder: object) -> bool:
    """The lock's holder died (SIGKILL mid-poll): its heartbeat stopped or went stale, or a worker of the same name
    started after the lock was taken. Holders not known by a heartbeat count as alive."""
    try:
        name, taken = str(holder).rsplit("|", 1)
        taken_at = dt.datetime.fromisoformat(taken)
    except ValueError:
        return False
    beat = Heartbeat.objects.filter(name=name).first()
    if beat is None:
        return False
    stale = (now() - beat.seen_at).total_seconds() > settings.OPS_WORKER_MAX_AGE_SECONDS
    return beat.stopped or stale or (beat.started_at is not None and beat.started_at > taken_at)


SKIPPED = {"skipped": "another poll is running"}


def poll_lock_name() -> str:
    return f"{settings.WP_CACHE_PREFIX}:poll"


def stock_data_poll_exclusive(*, caller: str) -> IngestReport | None:
    """One poll under the poll lock (tasks and the `poll_wordpress` command); None when another poll holds it.
    The lease covers a poll at its worst (every retry timing out); a holder killed before it ends is taken over
    as soon as its heartbeat tells it is gone."""
    ttl = settings.WP_READ_TIMEOUT * (settings.WP_RETRIES + 1) + 60
    with cache_lock(poll_lock_name(), ttl=ttl, owner=_holder(), stale=_holder_gone) as lock:
        if not lock.acquired:
            logger.info("%s: another poll is running (%s), skipped", caller, lock.holder)
            return None
        return stock_data_poll()


def _poll_once(name: str) -> dict:
    report = stock_data_poll_exclusive(caller=name)
    return SKIPPED if report is None else report.as_dict()


@shared_task(name="integration.tasks.wordpress_poll", ignore_result=True)
def wordpress_poll() -> dict:
    return _poll_once("wordpress_poll")


@shared_task(name="integration.tasks.wordpress_fast_poll", ignore_result=True)
def wordpress_fast_poll() -> dict:
    """The optional fast poll: only while the market is open and trading is not halted."""
    if not market_clock().is_open(now()):
        return {"skipped": "market closed"}
    if trading_state_get().halted:
        return {"skipped": "trading halted"}
    return _poll_once("wordpress_fast_poll")


@shared_task(name="integration.tasks.pushback_deliver", ignore_result=True)
def pushback_deliver() -> dict:
    """Deliver the outbox to WordPress (trades, performance). Idempotent; one deliverer at a time."""
    return outbox_deliver().as_dict()


@shared_task(name="integration.tasks.strategies_sync", ignore_result=True)
def strategies_sync_task() -> dict:
    """The site's /strategies list into ours (rows created disabled; never enables anything)."""
    return strategies_sync().as_dict()


@shared_task(ignore_result=True)
def alpaca_account_reconcile() -> int:
    """Positions and cash against Alpaca's account (scheduled only with TRADING_BROKER=alpaca)."""
    from .alpaca_broker import trading_client_build  # the Alpaca SDK takes seconds to import: only here
    from .alpaca_reconcile import account_reconcile

    return len(account_reconcile(client=trading_client_build()))
