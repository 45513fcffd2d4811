import json
import threading
import uuid
from dataclasses import dataclass
from http.server import ThreadingHTTPServer

import pytest
import requests

from integration.devfeed import server_build


@dataclass
class DevFeedHandle:
    server: ThreadingHTTPServer
    url: str

    def fault(self, mode: str, count: int = -1, **extra) -> None:
        """Switch the running feed's fault mode over HTTP (as an operator would)."""
        body = json.dumps({"mode": mode, "count": count, **extra})
        answer = requests.post(f"{self.url}/__devfeed/fault", data=body, timeout=5)
        answer.raise_for_status()

    @property
    def requests(self) -> int:
        return self.server.feed.state.requests

    def row(self, ticker: str, index: int) -> dict:
        return self.server.feed.row(ticker, index)


@pytest.fixture
def wp_settings(settings):
    """Fast, isolated client settings: own cache namespace, short timeouts, one retry, quick breaker."""
    settings.WP_CACHE_PREFIX = f"wp-test-{uuid.uuid4().hex[:8]}"
    settings.WP_TIMEZONE = ""
    settings.WP_REST_STYLE = "auto"
    settings.WP_CONNECT_TIMEOUT = 1.0
    settings.WP_READ_TIMEOUT = 1.0
    settings.WP_RETRIES = 1
    settings.WP_BACKOFF_SECONDS = 0.05
    settings.WP_BACKOFF_JITTER_SECONDS = 0.05
    settings.WP_BACKOFF_MAX_SECONDS = 0.2
    settings.WP_BREAKER_FAILURES = 3
    settings.WP_BREAKER_RESET_SECONDS = 30.0
    settings.WP_CACHE_TTL = 300
    yield settings
    redis_keys_delete(f"*{settings.WP_CACHE_PREFIX}*")


def redis_keys_delete(pattern: str) -> None:
    """Leave the shared Redis as we found it (the cache keeps answers for days)."""
    from django.conf import settings

    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(match=pattern, count=500):
            client.delete(key)
        client.close()


@pytest.fixture
def devfeed(wp_settings):
    """The development feed, a real HTTP server on a free loopback port, in a thread of this process."""
    server = server_build(host="127.0.0.1", port=0, zone="America/New_York")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    wp_settings.WP_BASE_URL = url
    yield DevFeedHandle(server, url)
    server.stop()


@pytest.fixture
def market_data(wp_settings):
    """Yahoo and Alpaca stand-ins on one loopback server; both sources pointed at it, neither switched on."""
    from tests.integration.market_data_fake import FakeMarketData, server_start

    fake = FakeMarketData()
    server = server_start(fake)
    wp_settings.YAHOO_BASE_URL = fake.url
    wp_settings.ALPACA_DATA_URL = fake.url
    wp_settings.ALPACA_API_KEY_ID = "test-key"
    wp_settings.ALPACA_API_SECRET_KEY = "test-secret"
    wp_settings.MARKET_DATA_TIMEOUT_SECONDS = 2.0
    wp_settings.MARKET_DATA_FALLBACK = []
    # The vendors' recorded answers quote real price levels (TSLA ~475), the development feed synthetic ones (~250):
    # a switch between them is a jump the price band would quarantine (tests/market/test_price_band.py covers it).
    wp_settings.PRICE_BAND_PERCENT = 0
    fake.answer("/v8/finance/chart/", 200, "yahoo/chart_ok.json")
    fake.answer("/v2/stocks/bars/latest", 200, "alpaca/bars_latest_ok.json")
    fake.answer("/v2/stocks/bars", 200, "alpaca/bars_ok.json")
    yield fake
    server.shutdown()
    server.server_close()
