"""Alpaca market data through the official SDK (`alpaca-py`, `StockHistoricalDataClient`, IEX feed, the free
plan). Keys from the environment only (ALPACA_API_KEY_ID / ALPACA_API_SECRET_KEY); ALPACA_DATA_URL points the SDK
elsewhere (tests: a loopback server). One request for every polled symbol's latest one-minute bar."""

import datetime as dt

import requests
from alpaca.common.exceptions import APIError
from alpaca.data.enums import DataFeed
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest, StockLatestBarRequest
from alpaca.data.timeframe import TimeFrame
from django.conf import settings
from pydantic import ValidationError

from market.clock import now

from .base import Quote, QuoteSource, SourceFailed, minute_of, price_parse

NAME = "alpaca"


class _TimeoutSession(requests.Session):
    """The SDK calls `session.request` without a timeout; this one always has one."""

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", settings.MARKET_DATA_TIMEOUT_SECONDS)
        return super().request(*args, **kwargs)


def client_build() -> StockHistoricalDataClient:
    if not (settings.ALPACA_API_KEY_ID and settings.ALPACA_API_SECRET_KEY):
        raise SourceFailed(NAME, "not_configured", "ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY are not set")
    client = StockHistoricalDataClient(
        api_key=settings.ALPACA_API_KEY_ID,
        secret_key=settings.ALPACA_API_SECRET_KEY,
        url_override=settings.ALPACA_DATA_URL or None,
    )
    # The SDK's own 429 loop sleeps 3 s three times; our budget backs off instead. Its session has no timeout.
    client._retry = 0
    client._session = _TimeoutSession()
    return client


class AlpacaSource(QuoteSource):
    name = NAME

    def __init__(self, client: StockHistoricalDataClient | None = None):
        self.client = client

    def requests_for(self, tickers: list[str]) -> int:
        return 1

    def latest_quotes(self, tickers: list[str], *, since: dict[str, dt.datetime]) -> list[Quote]:
        request = StockLatestBarRequest(symbol_or_symbols=tickers, feed=DataFeed.IEX)
        bars = self._call(lambda client: client.get_stock_latest_bar(request))
        missing = sorted(set(tickers) - set(bars or {}))
        if missing:
            raise SourceFailed(NAME, "empty", f"no latest bar for {', '.join(missing)}")
        return [_quote(ticker, bars[ticker]) for ticker in tickers]

    def history_quotes(self, ticker: str, *, start: dt.datetime, end: dt.datetime) -> list[Quote]:
        end = min(end, now())
        request = StockBarsRequest(
            symbol_or_symbols=ticker, timeframe=TimeFrame.Minute, start=start, end=end, feed=DataFeed.IEX
        )
        barset = self._call(lambda client: client.get_stock_bars(request))
        bars = barset.data.get(ticker) if barset is not None else None
        quotes = [_quote(ticker, bar) for bar in bars or []]
        return [q for q in quotes if start <= q.timestamp < end]

    def _call(self, call):
        self.client = self.client or client_build()
        try:
            return call(self.client)
        except APIError as error:
            status = error.status_code
            raise SourceFailed(
                NAME,
                "rate_limited" if status == 429 else "api_error",
                f"HTTP {status}: {str(error)[:200]}",
                rate_limited=status == 429,
            ) from error
        except (ValueError, ValidationError, KeyError, TypeError) as error:  # the SDK's "matches no known keys"
            raise SourceFailed(NAME, "bad_shape", f"{error.__class__.__name__}: {str(error)[:200]}") from error
        except requests.RequestException as error:
            raise SourceFailed(NAME, "unreachable", error.__class__.__name__) from error


def _quote(ticker: str, bar) -> Quote:
    at = minute_of(bar.timestamp)
    return Quote(ticker, at, price_parse(NAME, bar.close, f"{ticker} close at {at:%H:%M}"))
