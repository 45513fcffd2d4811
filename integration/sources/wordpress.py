"""WordPress, the primary source, behind the same interface as the fallbacks: `/stock-data` for the newest rows
(one request answers for every symbol), `/stock-data/{symbol}` with explicit site-local dates for history.
The client (`integration/client.py`) keeps its own retries, breaker and cache, so no per-source budget applies."""

import datetime as dt

from django.conf import settings

from market.models import PriceSample

from ..client import WordPressClient, WPResponse
from ..transform import (
    FetchFailed,
    history_rows,
    rows_to_samples,
    stock_data_rows,
    utc_to_local,
    zone_from_index,
    zone_from_name,
)
from .base import Fetched, SourceFailed

NAME = PriceSample.Source.WORDPRESS.value
SITE_ZONE_MAX_AGE = 24 * 3600


def site_zone_get(client: WordPressClient) -> dt.tzinfo:
    """The site's time zone: WP_TIMEZONE when configured, else what `/wp-json/` reports (cached a day;
    a stale answer is fine: a site's zone does not change while it is down)."""
    if settings.WP_TIMEZONE:
        return zone_from_name(settings.WP_TIMEZONE)
    response = client.index(max_age=SITE_ZONE_MAX_AGE)
    if response.data is None:
        error = response.error
        assert error is not None  # a response without data carries its error
        raise FetchFailed(
            error.code,
            f"{error.message} (asking /wp-json/ for the site's time zone; WP_TIMEZONE would spare that)",
            status=error.status,
            site_down=error.site_down,
        )
    return zone_from_index(response.data)


def failed(response: WPResponse) -> SourceFailed:
    error = response.error
    assert error is not None  # only a failed response is turned into a failure
    return SourceFailed(
        NAME,
        error.code,
        error.message,
        status=error.status,
        site_down=error.site_down,
        stale_age=response.age_seconds if response.stale else None,
    )


class WordPressSource:
    name = NAME
    budgeted = False

    def __init__(self, client: WordPressClient | None = None):
        self.client = client or WordPressClient()
        self._zone: dt.tzinfo | None = None

    @property
    def window_seconds(self) -> float:
        return settings.WP_READ_TIMEOUT * (settings.WP_RETRIES + 1)

    def zone(self) -> dt.tzinfo:
        if self._zone is None:
            self._zone = site_zone_get(self.client)
        return self._zone

    def requests_for(self, tickers: list[str]) -> int:
        return 1

    def latest(self, symbol_ids: dict[str, int], *, since: dict[str, dt.datetime] | None = None) -> Fetched:
        """The site's `/stock-data` rows; a bad row is skipped with its reason, the good ones kept."""
        zone = self.zone()
        response = self.client.stock_data(max_age=0)
        if not response.ok:
            raise failed(response)
        rows = stock_data_rows(response.data)
        return Fetched(rows_to_samples(rows, symbol_ids=symbol_ids, zone=zone), len(rows))

    def history(self, ticker: str, symbol_id: int, *, start: dt.datetime, end: dt.datetime) -> Fetched:
        zone = self.zone()
        response = self.client.stock_history(
            ticker,
            start_date=utc_to_local(start, zone),
            end_date=utc_to_local(end - dt.timedelta(seconds=1), zone),
            store=False,  # a backfill's windows are not worth caching
        )
        if not response.ok:
            raise failed(response)
        rows = history_rows(response.data)
        return Fetched(rows_to_samples(rows, symbol_ids={ticker: symbol_id}, zone=zone), len(rows))
