"""When to ask a second market-data source, and storing what it answers.

Only with MARKET_DATA_FALLBACK set, only while the market is open, and only for the polled symbols whose newest
WordPress sample is older than MARKET_DATA_STALE_SECONDS (all of them when the WordPress poll failed). Sources
are asked in the configured order, at most one request per symbol per poll; the first one that answers feeds
the store. Back to WordPress as soon as its poll stores fresh rows. Each switch is logged, counted
(`tradingrobot_market_data_switches`), kept for readiness and announced (`market_data_switched`).
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models import OuterRef, Subquery

from market.clock import market_clock, now
from market.events import market_data_switched_announce
from market.models import PriceSample, Symbol
from market.services import SampleIn, UpsertResult, sample_upsert_many
from tradingrobot.ops import metrics

from .alpaca import AlpacaSource
from .base import PriceSource, SourceFailed
from .budget import budget_answered, budget_rate_limited, budget_refusal, budget_spend, budget_state
from .yahoo import YahooSource

logger = logging.getLogger(__name__)

PRIMARY = PriceSample.Source.WORDPRESS
SOURCES: dict[str, type] = {"alpaca": AlpacaSource, "yahoo": YahooSource}


@dataclass
class FallbackReport:
    source: str | None = None  # the source that fed the store, None when none did
    tickers: list[str] = field(default_factory=list)
    upsert: UpsertResult = field(default_factory=UpsertResult)
    failures: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"source": self.source, "tickers": self.tickers, "stored": self.upsert.stored, "failures": self.failures}


def fallback_sources() -> list[PriceSource]:
    unknown = [name for name in settings.MARKET_DATA_FALLBACK if name not in SOURCES]
    if unknown:
        raise ValueError(f"MARKET_DATA_FALLBACK: unknown source(s) {unknown}; known: {sorted(SOURCES)}")
    return [SOURCES[name]() for name in settings.MARKET_DATA_FALLBACK]


def _active_key() -> str:
    return f"{settings.WP_CACHE_PREFIX}:md:active"


def active_source_get() -> dict:
    """The source feeding the store now, since when, and why (for /api/status and readiness)."""
    state = cache.get(_active_key()) or {"source": PRIMARY, "since": None, "reason": ""}
    return {**state, "fallbacks": {name: budget_state(source=name) for name in settings.MARKET_DATA_FALLBACK}}


def _switch(to: str, reason: str) -> None:
    current = str((cache.get(_active_key()) or {}).get("source", PRIMARY))
    if current == to:
        return
    cache.set(_active_key(), {"source": str(to), "since": now().isoformat(), "reason": reason}, timeout=None)
    metrics.market_data_switch(to)
    logger.warning("market data: switched from %s to %s (%s)", current, to, reason)
    market_data_switched_announce(source=to, previous=current, reason=reason)


def stale_tickers(*, wordpress_ok: bool) -> list[str]:
    """The polled symbols a fallback should be asked for now (none outside regular hours)."""
    at = now()
    if not settings.MARKET_DATA_FALLBACK or not market_clock().is_open(at):
        return []
    symbols = Symbol.objects.filter(is_primary=True).order_by("ticker")
    if not wordpress_ok:
        return list(symbols.values_list("ticker", flat=True))
    cutoff = at - dt.timedelta(seconds=settings.MARKET_DATA_STALE_SECONDS)
    # The newest WordPress sample per symbol: a backward walk of the (symbol, timestamp) index, not an aggregate.
    newest = PriceSample.objects.filter(symbol=OuterRef("pk"), source=PRIMARY).order_by("-timestamp")
    rows = symbols.annotate(wp_at=Subquery(newest.values("timestamp")[:1])).values_list("ticker", "wp_at")
    return [ticker for ticker, wp_at in rows if wp_at is None or wp_at < cutoff]


def fallback_poll(*, wordpress_ok: bool, wordpress_reason: str = "") -> FallbackReport:
    """After a WordPress poll: back to WordPress when it is fresh, else one round of the fallbacks."""
    report = FallbackReport()
    tickers = stale_tickers(wordpress_ok=wordpress_ok)
    if not tickers:
        if wordpress_ok:
            _switch(PRIMARY, "WordPress answered with fresh rows")
        return report
    report.tickers = tickers
    ids = dict(Symbol.objects.filter(ticker__in=tickers).values_list("ticker", "pk"))
    for source in fallback_sources():
        refusal = budget_refusal(source=source.name, requests=source.requests_for(tickers))
        if refusal:
            report.failures.append({"source": source.name, "code": "budget", "message": refusal})
            continue
        budget_spend(source=source.name, requests=source.requests_for(tickers))
        try:
            quotes = source.latest(tickers)
        except SourceFailed as error:
            if error.rate_limited:
                pause = budget_rate_limited(source=source.name)
                error.message += f" (paused {pause:.0f} s)"
            report.failures.append(error.as_dict())
            metrics.market_data_fetch(source.name, error.code)
            logger.warning("market data: %s failed: %s", source.name, error)
            continue
        budget_answered(source=source.name)
        metrics.market_data_fetch(source.name, "ok")
        samples = [SampleIn(ids[q.ticker], q.timestamp, q.price, None) for q in quotes]
        report.upsert = sample_upsert_many(samples=samples, source=source.name, live=True)
        report.source = source.name
        why = wordpress_reason or f"WordPress samples older than {settings.MARKET_DATA_STALE_SECONDS:.0f} s"
        _switch(source.name, why)
        return report
    return report
