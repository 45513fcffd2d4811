"""End to end: WordPress (the devfeed) goes down during a session, a fallback feeds the store, WordPress comes
back; everything over real HTTP on loopback."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db.models import Count

from integration.models import FeedStatus
from integration.services import stock_data_poll
from integration.sources.fallback import active_source_get, stale_tickers
from market.models import Bar, PriceSample, Symbol
from market.selectors import market_data_get
from market.services import SampleIn, sample_upsert_many
from tests.conftest import MARKET_OPEN_AT
from trading.documents import status_document as status_data
from trading.models import Order
from trading.order_request import OrderRequest
from trading.services import order_place
from tradingrobot import events
from tradingrobot.ops.health import check_run
from tradingrobot.settings.integration import MARKET_DATA_STALE_SECONDS as DEFAULT_STALE_SECONDS

pytestmark = pytest.mark.django_db
TICKERS = ["NVDA", "QQQ", "SPY", "TSLA"]
STEP = dt.timedelta(minutes=5)


def sources_by_ticker() -> dict[str, list[tuple]]:
    rows = PriceSample.objects.order_by("symbol__ticker", "timestamp").values_list(
        "symbol__ticker", "timestamp", "source"
    )
    out: dict[str, list[tuple]] = {}
    for ticker, ts, source in rows:
        out.setdefault(ticker, []).append((ts, source))
    return out


def duplicates() -> int:
    minute = PriceSample.objects.values("symbol_id", "timestamp").annotate(n=Count("id")).filter(n__gt=1)
    return minute.count()


def largest_5min_gap(ticker: str) -> dt.timedelta:
    starts = list(
        Bar.objects.filter(symbol__ticker=ticker, timeframe="5Min").order_by("start").values_list("start", flat=True)
    )
    return max((b - a for a, b in itertools.pairwise(starts)), default=dt.timedelta(0))


@pytest.fixture
def fallback_on(devfeed, market_data, wp_settings):
    wp_settings.MARKET_DATA_FALLBACK = ["alpaca", "yahoo"]
    wp_settings.MARKET_DATA_STALE_SECONDS = 600.0
    wp_settings.WP_READ_TIMEOUT = 5.0  # a loaded machine must not turn a healthy devfeed into an outage
    market_data.follow_clock = True
    return market_data


def test_fallback_off_is_todays_behaviour_and_asks_no_second_source(devfeed, market_data, market_open):
    devfeed.fault("http500")
    report = stock_data_poll()
    assert report.error.code == "internal_server_error"
    assert PriceSample.objects.count() == 0 and market_data.seen == []
    assert "fallback" not in FeedStatus.objects.get(kind="poll").last_counts


def test_wordpress_down_then_back(fallback_on, devfeed, market_open, django_capture_on_commit_callbacks):
    seen: list[dict] = []
    events.listen(seen.append, types=events.event_types())
    try:
        market_open.move_to(MARKET_OPEN_AT - STEP)
        assert stock_data_poll().stored == 4  # WordPress, fresh: no fallback asked
        assert fallback_on.seen == [] and active_source_get()["source"] == "wordpress"

        devfeed.fault("http500")  # WordPress goes down
        market_open.move_to(MARKET_OPEN_AT)
        with django_capture_on_commit_callbacks(execute=True):
            down = stock_data_poll()  # the first poll cycle
        assert not down.ok and down.fallback["source"] == "alpaca"
        assert fallback_on.hits("/v2/stocks/bars/latest") == 1  # one request for the four symbols
        assert {s[-1] for s in sources_by_ticker().values()} == {(MARKET_OPEN_AT - dt.timedelta(minutes=1), "alpaca")}
        assert {"type": "prices_stored", "symbols": TICKERS, "source": "alpaca"} in seen
        reason = "WordPress poll failed: internal_server_error"
        switched = {"type": "market_data_switched", "source": "alpaca", "previous": "wordpress", "reason": reason}
        assert switched in seen
        status = status_data()
        assert status["market_data"]["source"] == "alpaca"
        ready = check_run("wordpress", MARKET_OPEN_AT)
        assert ready.details["market_data"]["source"] == "alpaca"
        assert ready.details["market_data"]["reason"] == "WordPress poll failed: internal_server_error"
        assert {p["symbol"]: p["source"] for p in status["prices"]} == dict.fromkeys(TICKERS, "alpaca")

        order, _ = order_place(  # a market order still fills, on the fallback's price
            request=OrderRequest(ticker="TSLA", side="buy", qty=Decimal("1"), type="market"), placed_by="test"
        )
        assert order.status == Order.Status.FILLED and order.fills.get().price == Decimal("475.3300")

        fallback_on.answer("/v2/stocks/bars/latest", 429, "alpaca/error_429.json")  # Alpaca rate-limits us
        market_open.shift(STEP)
        with django_capture_on_commit_callbacks(execute=True):
            second = stock_data_poll()
        assert second.fallback["source"] == "yahoo"  # the next in MARKET_DATA_FALLBACK
        assert second.fallback["failures"][0]["code"] == "rate_limited"
        market_open.shift(STEP)
        with django_capture_on_commit_callbacks(execute=True):
            third = stock_data_poll()
        assert third.fallback["failures"][0]["code"] == "budget"  # Alpaca backs off: not asked again
        assert fallback_on.hits("/v2/stocks/bars/latest") == 2

        devfeed.fault("ok")  # WordPress is back
        market_open.shift(STEP)
        with django_capture_on_commit_callbacks(execute=True):
            back = stock_data_poll()
        assert back.ok and back.fallback["source"] is None
        # The seam: Yahoo's last sample is 15:39 and WordPress's first 15:45, so bar 15:40 would be empty; Yahoo
        # is asked once per symbol for [15:40, 15:45) and answers 15:43 and 15:44.
        assert back.fallback["seam"] == dict.fromkeys(TICKERS, 2)
        assert fallback_on.hits("/v8/finance/chart/") == 4 * 3  # two rounds of four, then the seam's four
        assert active_source_get()["source"] == "wordpress"
        assert status_data()["market_data"]["source"] == "wordpress"
        assert [(e["previous"], e["source"]) for e in seen if e["type"] == "market_data_switched"] == [
            ("wordpress", "alpaca"),
            ("alpaca", "yahoo"),
            ("yahoo", "wordpress"),
        ]
    finally:
        events.unlisten(seen.append)
    assert duplicates() == 0
    page = market_data_get(ticker="TSLA", timeframe="5Min", limit=10, start=None, end=None, at=MARKET_OPEN_AT)
    assert [(f"{bar.timestamp:%H:%M}", list(bar.sources)) for bar in page.data] == [
        ("15:25", ["alpaca", "wordpress"]),  # WordPress at 15:25, Alpaca's 15:29 bar
        ("15:30", ["yahoo"]),  # Alpaca rate-limited: Yahoo's 15:34
        ("15:35", ["yahoo"]),
        ("15:40", ["yahoo"]),  # the 15:40 poll stored 15:39 (bar 15:35); the seam filled bar 15:40
        ("15:45", ["wordpress"]),  # WordPress back at 15:45
    ]
    for ticker in TICKERS:
        assert largest_5min_gap(ticker) == STEP, ticker  # no bar missing: the ceiling is 10 minutes
        assert sources_by_ticker()[ticker][-1][1] == "wordpress"


def test_outside_regular_hours_no_fallback(fallback_on, devfeed, market_closed):
    devfeed.fault("http500")
    report = stock_data_poll()
    assert not report.ok and report.fallback == {"source": None, "tickers": [], "stored": 0, "failures": []}
    assert fallback_on.seen == [] and PriceSample.objects.count() == 0


def test_stale_wordpress_rows_switch_only_the_stale_symbols(fallback_on, market_open, settings):
    symbols = dict(Symbol.objects.filter(ticker__in=TICKERS).values_list("ticker", "pk"))
    fresh = MARKET_OPEN_AT - dt.timedelta(minutes=1)
    old = MARKET_OPEN_AT - dt.timedelta(minutes=20)
    samples = [SampleIn(symbols["NVDA"], fresh, Decimal("100")), SampleIn(symbols["TSLA"], old, Decimal("250"))]
    sample_upsert_many(samples=samples, source="wordpress")
    settings.MARKET_DATA_STALE_SECONDS = 600.0
    assert stale_tickers(wordpress_ok=True) == ["QQQ", "SPY", "TSLA"]  # NVDA is fresh; QQQ and SPY have none
    settings.MARKET_DATA_STALE_SECONDS = 1800.0
    assert stale_tickers(wordpress_ok=True) == ["QQQ", "SPY"]
    assert stale_tickers(wordpress_ok=False) == TICKERS


def test_a_null_close_is_never_a_price(fallback_on, devfeed, market_open, wp_settings):
    wp_settings.MARKET_DATA_FALLBACK = ["yahoo"]
    fallback_on.answer("/v8/finance/chart/", 200, "yahoo/chart_null_close.json")
    devfeed.fault("http500")
    report = stock_data_poll()
    assert report.fallback["source"] is None and report.fallback["failures"][0]["code"] == "bad_price"
    assert PriceSample.objects.count() == 0


def test_daily_cap(fallback_on, devfeed, market_open, wp_settings):
    wp_settings.MARKET_DATA_FALLBACK = ["yahoo"]
    wp_settings.MARKET_DATA_DAILY_CAP = 6  # one poll of 4 symbols fits, a second does not
    devfeed.fault("http500")
    assert stock_data_poll().fallback["source"] == "yahoo"
    market_open.shift(STEP)
    capped = stock_data_poll()
    assert (
        capped.fallback["failures"][0]["code"] == "budget" and "daily cap" in capped.fallback["failures"][0]["message"]
    )
    assert fallback_on.hits("/v8/finance/chart/") == 4


def test_stale_rows_switch_at_the_second_missed_poll_by_default(fallback_on, market_open, settings):
    """The default age (420 s: a 5-minute poll and 2 minutes) switches a symbol WordPress stopped updating at the
    second poll after its last row, so its next 5-minute bar is not left empty (600 s would wait a third poll)."""
    settings.MARKET_DATA_STALE_SECONDS = DEFAULT_STALE_SECONDS
    tsla = Symbol.objects.get(ticker="TSLA").pk
    sample_upsert_many(samples=[SampleIn(tsla, MARKET_OPEN_AT - STEP, Decimal("250"))], source="wordpress")
    assert "TSLA" not in stale_tickers(wordpress_ok=True)  # one poll later: fresh enough
    market_open.shift(STEP)
    assert "TSLA" in stale_tickers(wordpress_ok=True)  # the second poll: a fallback is asked


def test_no_seam_request_when_the_fallback_is_refused(fallback_on, devfeed, market_open, wp_settings):
    """Back to WordPress while the fallback that fed the store is paused: no request, the refusal reported."""
    wp_settings.MARKET_DATA_FALLBACK = ["yahoo"]
    devfeed.fault("http500")
    assert stock_data_poll().fallback["source"] == "yahoo"  # 15:29 from Yahoo (bar 15:25)
    wp_settings.MARKET_DATA_DAILY_CAP = 4  # spent: the seam may not ask
    devfeed.fault("ok")
    market_open.shift(2 * STEP)
    back = stock_data_poll()
    assert back.ok and active_source_get()["source"] == "wordpress"
    assert back.fallback["failures"][0]["code"] == "budget" and "seam" not in back.fallback
    assert fallback_on.hits("/v8/finance/chart/") == 4
