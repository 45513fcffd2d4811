"""The Celery tasks, called directly (their schedule is proven by the worker test)."""

import pytest

from integration.tasks import poll_lock_name, wordpress_fast_poll, wordpress_poll
from market.models import PriceSample
from trading.services import trading_halt
from tradingrobot.locks import cache_lock

pytestmark = pytest.mark.django_db


def test_poll_task_stores_and_reports(devfeed, market_open):
    result = wordpress_poll()
    assert result["ok"] and result["stored"] == 4
    assert PriceSample.objects.count() == 4


def test_a_second_poll_while_one_runs_returns_at_once(devfeed, market_open):
    with cache_lock(poll_lock_name(), ttl=60, owner="another worker") as held:
        assert wordpress_poll() == {"skipped": "another poll is running"}
        assert held.owned()  # the skipped poll leaves the other's lock alone
    assert PriceSample.objects.count() == 0 and devfeed.requests == 0
    assert wordpress_poll()["stored"] == 4  # released: the next poll goes through


def test_fast_poll_runs_only_while_the_market_is_open(devfeed, market_closed):
    assert wordpress_fast_poll() == {"skipped": "market closed"}
    assert devfeed.requests == 0


def test_fast_poll_does_not_run_while_trading_is_halted(devfeed, market_open):
    trading_halt(reason="test", halted_by="test")
    assert wordpress_fast_poll() == {"skipped": "trading halted"}
    assert devfeed.requests == 0


def test_fast_poll_polls_when_open_and_not_halted(devfeed, market_open):
    assert wordpress_fast_poll()["stored"] == 4
