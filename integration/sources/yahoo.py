"""Yahoo's chart endpoint `/v8/finance/chart/{symbol}`: unofficial, rate-limited (429 or an HTML page), one
request per symbol. A thin `requests` client; every wrong shape is a failed fetch (`SourceFailed`)."""

import datetime as dt

import requests
from django.conf import settings

from market.clock import now

from .base import Quote, QuoteSource, SourceFailed, minute_of, newer_than, price_parse

NAME = "yahoo"


class YahooSource(QuoteSource):
    name = NAME

    def __init__(self, base_url: str | None = None, *, session: requests.Session | None = None):
        self.base_url = (base_url or settings.YAHOO_BASE_URL).rstrip("/")
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "TradingRobot/1.0 (+fallback)"})

    def requests_for(self, tickers: list[str]) -> int:
        return len(tickers)

    def latest_quotes(self, tickers: list[str], *, since: dict[str, dt.datetime]) -> list[Quote]:
        """The day's one-minute chart of each ticker: its minutes after `since` (the newest one at least)."""
        chart = {"interval": "1m", "range": "1d"}
        return [q for ticker in tickers for q in newer_than(self._chart(ticker, chart), since.get(ticker))]

    def history_quotes(self, ticker: str, *, start: dt.datetime, end: dt.datetime) -> list[Quote]:
        end = min(end, now())
        params = {"interval": "1m", "period1": int(start.timestamp()), "period2": int(end.timestamp())}
        return [q for q in self._chart(ticker, params) if start <= q.timestamp < end]

    def _chart(self, ticker: str, params: dict) -> list[Quote]:
        timeout = settings.MARKET_DATA_TIMEOUT_SECONDS
        try:
            answer = self.session.get(f"{self.base_url}/v8/finance/chart/{ticker}", params=params, timeout=timeout)
        except requests.RequestException as error:
            raise SourceFailed(NAME, "unreachable", f"{ticker}: {error.__class__.__name__}") from error
        if answer.status_code == 429:
            raise SourceFailed(NAME, "rate_limited", f"{ticker}: HTTP 429", rate_limited=True)
        try:
            body = answer.json()
        except ValueError as error:
            limited = "too many requests" in answer.text[:2000].lower()
            raise SourceFailed(
                NAME,
                "rate_limited" if limited else "not_json",
                f"{ticker}: HTTP {answer.status_code}, not JSON",
                rate_limited=limited,
            ) from error
        return chart_quotes(ticker, body, status=answer.status_code)


def chart_quotes(ticker: str, body: object, *, status: int = 200) -> list[Quote]:
    """The one-minute closes of a chart answer, oldest first."""
    chart = body.get("chart") if isinstance(body, dict) else None
    if not isinstance(chart, dict):
        raise SourceFailed(NAME, "bad_shape", f"{ticker}: no `chart` object (HTTP {status})")
    if chart.get("error"):
        error = chart["error"]
        detail = error.get("description") or error.get("code") if isinstance(error, dict) else error
        raise SourceFailed(NAME, "chart_error", f"{ticker}: {detail}")
    results = chart.get("result")
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        raise SourceFailed(NAME, "empty", f"{ticker}: empty result")
    result = results[0]
    stamps = result.get("timestamp")
    try:
        closes = result["indicators"]["quote"][0]["close"]
    except (KeyError, IndexError, TypeError) as error:
        raise SourceFailed(NAME, "bad_shape", f"{ticker}: no indicators.quote[0].close") from error
    if not isinstance(stamps, list) or not stamps or not isinstance(closes, list) or len(closes) != len(stamps):
        raise SourceFailed(NAME, "empty", f"{ticker}: no timestamps, or closes not one per timestamp")
    quotes = []
    for stamp, close in zip(stamps, closes, strict=True):
        if isinstance(stamp, bool) or not isinstance(stamp, int):
            raise SourceFailed(NAME, "bad_shape", f"{ticker}: timestamp {stamp!r}")
        at = minute_of(dt.datetime.fromtimestamp(stamp, dt.UTC))
        quotes.append(Quote(ticker, at, price_parse(NAME, close, f"{ticker} close at {at:%H:%M}")))
    return quotes
