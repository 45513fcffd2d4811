"""The fallback adapters against their real answer shapes, over real HTTP on loopback."""

import datetime as dt
from decimal import Decimal

import pytest

from integration.sources.alpaca import AlpacaSource
from integration.sources.base import Quote, SourceFailed
from integration.sources.yahoo import YahooSource

AT_1528 = dt.datetime(2025, 12, 16, 15, 28, tzinfo=dt.UTC)
AT_1529 = AT_1528 + dt.timedelta(minutes=1)
TICKERS = ["NVDA", "QQQ", "SPY", "TSLA"]


def test_yahoo_latest_is_the_last_minute_of_the_chart(market_data):
    assert YahooSource().latest_quotes(["TSLA", "SPY"], since={}) == [
        Quote("TSLA", AT_1529, Decimal("475.3100")),
        Quote("SPY", AT_1529, Decimal("475.3100")),
    ]
    assert market_data.hits("/v8/finance/chart/TSLA") == 1 and market_data.hits("/v8/finance/chart/SPY") == 1


def test_yahoo_history_keeps_the_window(market_data):
    quotes = YahooSource().history_quotes("TSLA", start=AT_1528, end=AT_1529)
    assert quotes == [Quote("TSLA", AT_1528, Decimal("475.1200"))]


@pytest.mark.parametrize(
    ("status", "fixture", "code", "limited"),
    [
        (429, "yahoo/chart_429.txt", "rate_limited", True),
        (200, "yahoo/chart_empty.json", "empty", False),
        (404, "yahoo/chart_error.json", "chart_error", False),
        (200, "yahoo/chart_error.json", "chart_error", False),
        (200, "yahoo/chart_null_close.json", "bad_price", False),
        (200, "alpaca/bars_latest_ok.json", "bad_shape", False),  # JSON, but not a chart
    ],
)
def test_yahoo_wrong_shapes_are_failed_fetches(market_data, status, fixture, code, limited):
    market_data.answer("/v8/finance/chart/", status, fixture)
    with pytest.raises(SourceFailed) as failed:
        YahooSource().latest_quotes(["TSLA"], since={})
    assert (failed.value.code, failed.value.rate_limited) == (code, limited)


def test_alpaca_latest_bars_through_the_sdk_in_one_request(market_data):
    quotes = AlpacaSource().latest_quotes(TICKERS, since={})
    assert quotes == [
        Quote("NVDA", AT_1529, Decimal("176.4200")),
        Quote("QQQ", AT_1529, Decimal("610.0500")),
        Quote("SPY", AT_1529, Decimal("678.9000")),
        Quote("TSLA", AT_1529, Decimal("475.3300")),
    ]
    (path,) = market_data.seen
    assert (
        path.startswith("/v2/stocks/bars/latest?") and "feed=iex" in path and "symbols=NVDA%2CQQQ%2CSPY%2CTSLA" in path
    )


def test_alpaca_history(market_data):
    quotes = AlpacaSource().history_quotes("TSLA", start=AT_1528, end=AT_1529 + dt.timedelta(minutes=1))
    assert [(q.timestamp, q.price) for q in quotes] == [(AT_1528, Decimal("475.2000")), (AT_1529, Decimal("475.3300"))]


@pytest.mark.parametrize(
    ("status", "fixture", "code", "limited"),
    [
        (429, "alpaca/error_429.json", "rate_limited", True),
        (200, "alpaca/bars_latest_empty.json", "empty", False),
        (200, "alpaca/quotes_latest_ok.json", "bad_shape", False),  # a quote where a bar belongs
        (200, "yahoo/chart_ok.json", "bad_shape", False),
    ],
)
def test_alpaca_wrong_shapes_are_failed_fetches(market_data, status, fixture, code, limited):
    market_data.answer("/v2/stocks/bars/latest", status, fixture)
    with pytest.raises(SourceFailed) as failed:
        AlpacaSource().latest_quotes(TICKERS, since={})
    assert (failed.value.code, failed.value.rate_limited) == (code, limited)
    assert market_data.hits("/v2/stocks/bars/latest") == 1  # the SDK's own 429 loop is off


def test_alpaca_without_keys_asks_nothing(market_data, settings):
    settings.ALPACA_API_KEY_ID = ""
    with pytest.raises(SourceFailed) as failed:
        AlpacaSource().latest_quotes(TICKERS, since={})
    assert failed.value.code == "not_configured" and market_data.seen == []
