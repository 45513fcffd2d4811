"""End to end against the development feed: a real HTTP server on loopback speaking the WordPress contract."""

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pytest
from django.conf import settings

from integration.client import NAMESPACE, WordPressClient
from integration.devfeed import server_build
from integration.models import FeedStatus
from integration.services import stock_data_poll
from market.models import PriceSample
from tests.conftest import MARKET_OPEN_AT, REQUIRE_SERVICES
from trading.models import Order
from trading.order_request import OrderRequest
from trading.services import order_place
from tradingrobot import events

pytestmark = pytest.mark.django_db
TICKERS = ["NVDA", "QQQ", "SPY", "TSLA"]
STEP = dt.timedelta(minutes=5)


def stored() -> list[tuple]:
    return list(
        PriceSample.objects.order_by("symbol__ticker", "timestamp").values_list(
            "symbol__ticker", "timestamp", "price", "volume"
        )
    )


def grid_index(at: dt.datetime) -> int:
    return int((at - dt.datetime(2020, 1, 1, tzinfo=dt.UTC)).total_seconds() // 300)


def test_a_poll_stores_the_latest_row_of_every_symbol_once(devfeed, market_open):
    report = stock_data_poll()

    assert report.ok, report.summary()
    assert (report.rows, report.stored, report.updated, sum(report.skipped.values())) == (4, 4, 0, 0)
    index = grid_index(MARKET_OPEN_AT)
    expected = [
        (t, MARKET_OPEN_AT, Decimal(devfeed.row(t, index)["price"]), int(devfeed.row(t, index)["volume"]))
        for t in TICKERS
    ]
    assert stored() == expected  # 10:30 New York (the site's zone) is 15:30 UTC

    again = stock_data_poll()
    assert (again.stored, again.updated, again.unchanged) == (0, 0, 4)
    assert stored() == expected
    status = FeedStatus.objects.get(kind="poll")
    assert status.last_success_at == MARKET_OPEN_AT and status.consecutive_failures == 0


@pytest.mark.parametrize(
    ("mode", "code"),
    [
        ("http500", "internal_server_error"),
        ("critical", "critical_error"),
        ("nonjson", "non_json"),
        ("wp_error", "invalid_request"),
        ("hang", "read_timeout"),
        ("bad_shape", "bad_shape"),
    ],
)
def test_a_failing_site_leaves_data_intact_and_the_next_poll_catches_up(devfeed, market_open, mode, code):
    assert stock_data_poll().stored == 4
    before = stored()
    market_open.shift(STEP)
    devfeed.fault(mode, hang_seconds=2.5)

    started = time.monotonic()
    report = stock_data_poll()

    assert not report.ok
    assert report.error.code == code, report.summary()
    assert report.stored == report.updated == 0
    assert stored() == before
    if mode == "hang":
        assert time.monotonic() - started < 5  # 2 attempts x 1 s read timeout, not 2 x 2.5 s
    status = FeedStatus.objects.get(kind="poll")
    assert (status.last_error_code, status.consecutive_failures) == (code, 1)
    assert status.last_success_at == MARKET_OPEN_AT

    devfeed.fault("ok")
    market_open.shift(STEP)
    caught_up = stock_data_poll()
    assert caught_up.ok and caught_up.stored == 4
    assert {ts for _, ts, _, _ in stored()} == {MARKET_OPEN_AT, MARKET_OPEN_AT + 2 * STEP}
    assert FeedStatus.objects.get(kind="poll").consecutive_failures == 0


def test_a_refused_connection_then_the_site_comes_back(devfeed, market_open):
    assert stock_data_poll().stored == 4
    before = stored()
    port = devfeed.server.server_address[1]
    devfeed.server.stop()

    report = stock_data_poll()
    assert report.error.code == "connection_error", report.summary()
    assert report.stale_age is not None  # the last good answer is there, marked stale
    assert stored() == before

    back = server_build(host="127.0.0.1", port=port)
    threading.Thread(target=back.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        market_open.shift(STEP)
        assert stock_data_poll().stored == 4
    finally:
        back.stop()


def test_retries_then_succeeds_and_honours_retry_after(devfeed, market_open):
    WordPressClient().index(max_age=0)
    devfeed.fault("ratelimit", count=1)
    started = time.monotonic()
    report = stock_data_poll()
    assert report.ok and report.stored == 4
    assert time.monotonic() - started >= 1.0  # Retry-After: 1

    devfeed.fault("http500", count=1)
    market_open.shift(STEP)
    assert stock_data_poll().stored == 4  # one 500, retried


def test_other_4xx_are_not_retried(devfeed, wp_settings):
    client = WordPressClient()
    before = devfeed.requests
    response = client.stock_history("AAPL", start_date="2025-12-15 00:00:00", end_date="2025-12-16 00:00:00")
    assert (response.error.code, response.error.status) == ("invalid_symbol", 400)
    assert devfeed.requests == before + 1
    nothing = client.get(f"{NAMESPACE}/no-such-route", max_age=0)
    assert nothing.error.code == "rest_no_route" and nothing.data is None
    assert devfeed.requests == before + 2


def test_rest_route_fallback_without_pretty_permalinks(devfeed, market_open):
    devfeed.fault("no_pretty")
    report = stock_data_poll()
    assert report.ok and report.stored == 4


def test_good_answers_are_cached_and_served_stale_when_the_site_is_down(devfeed, wp_settings, market_open):
    client = WordPressClient()
    fresh = client.strategies()
    assert fresh.ok and not fresh.from_cache
    requests_after_first = devfeed.requests
    cached = client.strategies()
    assert cached.from_cache and cached.data == fresh.data and devfeed.requests == requests_after_first

    devfeed.fault("critical")
    market_open.shift(dt.timedelta(seconds=400))  # past the 300 s TTL
    stale = client.strategies()
    assert stale.stale and stale.data == fresh.data
    assert stale.error.code == "critical_error"
    assert stale.age_seconds == pytest.approx(400, abs=1)


def test_the_breaker_opens_then_lets_one_trial_through_and_closes(devfeed, wp_settings, market_open):
    assert stock_data_poll().ok
    devfeed.fault("http500")
    for _ in range(wp_settings.WP_BREAKER_FAILURES):
        assert stock_data_poll().error.code == "internal_server_error"
    client = WordPressClient()
    assert client.breaker.state().state == "open"

    before = devfeed.requests
    refused = stock_data_poll()
    assert refused.error.code == "circuit_open" and refused.stale_age is not None
    assert devfeed.requests == before  # nothing went out

    market_open.shift(dt.timedelta(seconds=31))  # past WP_BREAKER_RESET_SECONDS: half-open
    assert client.breaker.state().state == "half_open"
    assert stock_data_poll().error.code == "internal_server_error"  # the trial failed
    assert devfeed.requests == before + 2  # one call (with its one retry)
    assert client.breaker.state().state == "open"

    devfeed.fault("ok")
    market_open.shift(STEP)
    report = stock_data_poll()
    assert report.ok and report.stored == 4
    assert client.breaker.state().state == "closed"


def test_breaker_state_is_shared_with_other_processes(devfeed, wp_settings):
    if not settings.REDIS_URL:
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but REDIS_URL is not set")
        pytest.skip("needs Redis (set REDIS_URL) for state shared across processes")
    devfeed.fault("http500")
    client = WordPressClient()
    for _ in range(wp_settings.WP_BREAKER_FAILURES):
        client.stock_data()
    assert client.breaker.state().state == "open"
    before = devfeed.requests
    code = (
        "import django; django.setup(); from integration.client import WordPressClient; "
        "print(WordPressClient().stock_data().error.code)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tradingrobot.test_settings",
        "WP_BASE_URL": devfeed.url,
        "WP_CACHE_PREFIX": wp_settings.WP_CACHE_PREFIX,
        "WP_BREAKER_RESET_SECONDS": "30",
    }
    other = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert other.stdout.strip().splitlines()[-1] == "circuit_open"
    assert devfeed.requests == before  # the other process did not call the failing site


def test_after_a_poll_resting_orders_fill_and_prices_stored_is_announced(
    devfeed, market_open, django_capture_on_commit_callbacks
):
    market_open.move_to(MARKET_OPEN_AT - dt.timedelta(minutes=10))
    order, _ = order_place(
        request=OrderRequest(ticker="TSLA", side="buy", qty=Decimal("2"), type="limit", limit_price=Decimal("5000")),
        placed_by="test",
    )
    assert order.status == Order.Status.ACCEPTED  # no price yet: it rests
    seen: list[dict] = []
    events.listen(seen.append, types=events.event_types())
    try:
        market_open.move_to(MARKET_OPEN_AT)
        with django_capture_on_commit_callbacks(execute=True):
            report = stock_data_poll()
    finally:
        events.unlisten(seen.append)

    order.refresh_from_db()
    assert report.fills == 1
    assert order.status == Order.Status.FILLED
    tsla = Decimal(devfeed.row("TSLA", grid_index(MARKET_OPEN_AT))["price"])
    assert order.fills.get().price == tsla
    assert {"type": "prices_stored", "symbols": TICKERS, "source": "wordpress"} in seen


def test_a_slow_answer_within_the_read_timeout_is_fine(devfeed, market_open):
    devfeed.fault("hang", hang_seconds=0.5)  # read timeout is 1 s in these tests
    report = stock_data_poll()
    assert report.ok and report.stored == 4


def test_half_open_lets_exactly_one_trial_through(devfeed, wp_settings, market_open):
    breaker = WordPressClient().breaker
    for _ in range(wp_settings.WP_BREAKER_FAILURES):
        breaker.record_failure()
    assert breaker.allow() is False
    market_open.shift(dt.timedelta(seconds=31))
    other_process_view = WordPressClient().breaker  # same shared state, another instance
    assert [breaker.allow(), other_process_view.allow(), breaker.allow()] == [True, False, False]
    breaker.record_success()
    assert other_process_view.state().state == "closed" and other_process_view.allow()
