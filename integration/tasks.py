"""Celery tasks: thin adapters over integration.services. Safe when two run at once: a cache lock lets one
poll through at a time (the others return at once), and the store itself is idempotent on (symbol, timestamp)
while fills happen under the trading locks."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from market.clock import market_clock, now
from trading.services import trading_state_get

from .services import stock_data_poll

logger = logging.getLogger(__name__)


def _poll_once(name: str) -> dict:
    lock = f"{settings.WP_CACHE_PREFIX}:lock:poll"
    timeout = int(settings.WP_READ_TIMEOUT * (settings.WP_RETRIES + 1) + 60)
    if not cache.add(lock, name, timeout=timeout):
        logger.info("%s: another poll is running, skipped", name)
        return {"skipped": "another poll is running"}
    try:
        return stock_data_poll().as_dict()
    finally:
        cache.delete(lock)


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
    from .pushback import outbox_deliver

    return outbox_deliver().as_dict()
