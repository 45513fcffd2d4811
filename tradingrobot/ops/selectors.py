"""Reads behind readiness, the scrape-time metrics and the alerts: the database and the shared cache only,
so any process (web or worker) answers the same in both modes."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Min, Sum

from integration.client import WordPressClient
from integration.models import FeedStatus
from integration.sources.fallback import active_source_get
from market.clock import market_clock, now
from market.models import Symbol
from market.selectors import price_is_stale, price_latest_list
from trading.models import Order, OutboxMessage

from .models import ErrorTally, Heartbeat


@dataclass(frozen=True)
class SymbolFreshness:
    ticker: str
    age_seconds: float | None  # None: no price at all
    stale: bool


def price_freshness_list(*, at: dt.datetime) -> list[SymbolFreshness]:
    """The newest price of every active symbol polled from WordPress (`is_primary`) against what the market clock
    expects (`price_is_stale`: older than MAX_PRICE_AGE_SECONDS while open; while closed, not reaching the last
    session's close). Symbols an operator added without a feed are not held against readiness."""
    polled = set(Symbol.objects.filter(is_primary=True, is_active=True).values_list("ticker", flat=True))
    return [
        SymbolFreshness(p.ticker, p.age_seconds(at), price_is_stale(timestamp=p.timestamp, at=at))
        for p in price_latest_list()
        if p.ticker in polled
    ]


@dataclass(frozen=True)
class OutboxBacklog:
    pending: int
    oldest_pending_age: float  # seconds; 0 when nothing is pending
    failed: int


def outbox_backlog_get(*, at: dt.datetime) -> OutboxBacklog:
    rows = OutboxMessage.objects.filter(status__in=[OutboxMessage.Status.PENDING, OutboxMessage.Status.FAILED])
    counts = dict(rows.values_list("status").annotate(n=Count("id")))
    oldest = rows.filter(status=OutboxMessage.Status.PENDING).aggregate(at=Min("created_at"))["at"]
    age = max((at - oldest).total_seconds(), 0.0) if oldest else 0.0
    return OutboxBacklog(
        counts.get(OutboxMessage.Status.PENDING, 0), round(age, 3), counts.get(OutboxMessage.Status.FAILED, 0)
    )


@dataclass(frozen=True)
class WordPressFeed:
    breaker: str  # closed | open | half_open (as this process's cache sees it: shared with Redis)
    breaker_retry_in: float
    consecutive_failures: int  # polls in a row that failed (database: every process sees it)
    last_success_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_error: str

    def down(self, *, at: dt.datetime) -> str | None:
        """Why WordPress counts as down, or None."""
        if self.breaker == "open":
            return f"circuit breaker open (next trial in {self.breaker_retry_in:.0f} s)"
        if self.consecutive_failures >= settings.WP_BREAKER_FAILURES:
            return f"{self.consecutive_failures} polls in a row failed: {self.last_error}"
        if self.last_success_at is None:
            return "no successful poll yet"
        age = (at - self.last_success_at).total_seconds()
        if age > settings.OPS_POLL_MAX_AGE_SECONDS:
            return f"last successful poll {age:.0f} s ago (allowed {settings.OPS_POLL_MAX_AGE_SECONDS:.0f} s)"
        return None


def wordpress_feed_get() -> WordPressFeed:
    state = WordPressClient().breaker.state()
    poll = FeedStatus.objects.filter(kind=FeedStatus.Kind.POLL).first()
    if poll is None:
        return WordPressFeed(state.state, state.retry_in, 0, None, None, "")
    error = f"{poll.last_error_code}: {poll.last_error_message}" if poll.last_error_code else ""
    return WordPressFeed(
        state.state, state.retry_in, poll.consecutive_failures, poll.last_success_at, poll.last_attempt_at, error
    )


def market_data_source_get() -> dict:
    return active_source_get()


def heartbeat_ages(*, at: dt.datetime) -> dict[str, float | None]:
    """Seconds since the freshest live worker and the beat were last seen (None: never, or shut down)."""
    ages: dict[str, float | None] = {}
    for kind in Heartbeat.Kind.values:
        newest = Heartbeat.objects.filter(kind=kind, stopped=False).order_by("-seen_at").values_list("seen_at").first()
        ages[kind] = round((at - newest[0]).total_seconds(), 3) if newest else None
    return ages


def errors_recent(*, at: dt.datetime, seconds: float) -> int:
    since = at - dt.timedelta(seconds=seconds)
    return (
        ErrorTally.objects.filter(minute__gte=since.replace(second=0, microsecond=0)).aggregate(n=Sum("count"))["n"]
        or 0
    )


def order_counts_by_status() -> dict[str, int]:
    counts = dict(Order.objects.order_by().values_list("status").annotate(n=Count("id")))
    return {status: counts.get(status, 0) for status in Order.Status.values}


def market_is_open(*, at: dt.datetime | None = None) -> bool:
    return market_clock().is_open(at or now())
