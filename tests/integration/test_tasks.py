"""The Celery tasks, called directly (their schedule is proven by the worker test)."""

import pytest
from django.conf import settings
from django.core.cache import cache

from integration.tasks import wordpress_fast_poll, wordpress_poll
from market.models import PriceSample
from trading.services import trading_halt

pytestmark = pytest.mark.django_db


def test_poll_task_stores_and_reports(devfeed, market_open):
    result = wordpress_poll()
    assert result["ok"] and result["stored"] == 4
    assert PriceSample.objects.count() == 4


def test_a_second_poll_while_one_runs_returns_at_once(devfeed, market_open):
    cache.add(f"{settings.WP_CACHE_PREFIX}:lock:poll", "another worker", timeout=60)
    assert wordpress_poll() == {"skipped": "another poll is running"}
    assert PriceSample.objects.count() == 0 and devfeed.requests == 0


def test_fast_poll_runs_only_while_the_market_is_open(devfeed, market_closed):
    assert wordpress_fast_poll() == {"skipped": "market closed"}
    assert devfeed.requests == 0


def test_fast_poll_does_not_run_while_trading_is_halted(devfeed, market_open):
    trading_halt(reason="test", halted_by="test")
    assert wordpress_fast_poll() == {"skipped": "trading halted"}
    assert devfeed.requests == 0


def test_fast_poll_polls_when_open_and_not_halted(devfeed, market_open):
    assert wordpress_fast_poll()["stored"] == 4
