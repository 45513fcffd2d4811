"""Which source feeds the store: the chain (WordPress first, then MARKET_DATA_FALLBACK in order), the switching
rules, and storing what a fallback answers.

The chain's first source is asked at every poll. The others only with MARKET_DATA_FALLBACK set, only while the
market is open, and only for the polled symbols whose newest sample from the first source is older than
MARKET_DATA_STALE_SECONDS (all of them when its poll failed); in order, at most one request per symbol per poll;
the first that answers feeds the store. Back to the first source as soon as it stores fresh rows; on that poll the
minutes between the fallback's last sample and the first fresh one are asked of the fallback once (the seam), so
the switch back leaves no 5-minute bar empty. Each switch is logged, counted (`tradingrobot_market_data_switches`),
kept for readiness and announced (`market_data_switched`).
"""

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max, OuterRef, Subquery

from market.clock import market_clock, now
from market.events import market_data_switched_announce
from market.models import PriceSample, Symbol
from market.services import UpsertResult, sample_upsert_many
from tradingrobot.ops import metrics

from ..transform import FetchFailed
from .alpaca import AlpacaSource
from .base import Fetched, PriceSource, SourceFailed
from .budget import budget_answered, budget_rate_limited, budget_refusal, budget_spend, budget_state
from .wordpress import WordPressSource
from .yahoo import YahooSource

logger = logging.getLogger(__name__)

PRIMARY = PriceSample.Source.WORDPRESS.value
FALLBACKS: dict[str, Callable[[], PriceSource]] = {"alpaca": AlpacaSource, "yahoo": YahooSource}
SOURCES: dict[str, Callable[[], PriceSource]] = {PRIMARY: WordPressSource, **FALLBACKS}
BAR = dt.timedelta(minutes=5)
MINUTE = dt.timedelta(minutes=1)
SEAM_MAX = dt.timedelta(days=1)  # a fallback's last sample older than this is no seam of the current switch


@dataclass
class FallbackReport:
    source: str | None = None  # the source that fed the store, None when none did
    tickers: list[str] = field(default_factory=list)
    upsert: UpsertResult = field(default_factory=UpsertResult)
    failures: list[dict] = field(default_factory=list)
    seam: dict[str, int] = field(default_factory=dict)  # on the way back: ticker -> fallback samples of the seam
    seconds: float = 0.0  # time spent asking fallbacks and storing their answers

    def as_dict(self) -> dict:
        out: dict[str, object] = {
            "source": self.source,
            "tickers": self.tickers,
            "stored": self.upsert.stored,
            "failures": self.failures,
        }
        if self.seam:
            out["seam"] = self.seam
        if self.tickers or self.seam:
            out["seconds"] = round(self.seconds, 4)
        return out


def source_get(name: str) -> PriceSource:
    if name not in SOURCES:
        raise ValueError(f"unknown source {name!r}; one of {', '.join(SOURCES)}")
    return SOURCES[name]()


def fallback_sources() -> list[PriceSource]:
    unknown = [name for name in settings.MARKET_DATA_FALLBACK if name not in FALLBACKS]
    if unknown:
        raise ValueError(f"MARKET_DATA_FALLBACK: unknown source(s) {unknown}; known: {sorted(FALLBACKS)}")
    return [FALLBACKS[name]() for name in settings.MARKET_DATA_FALLBACK]


def sources_chain(primary: PriceSource | None = None) -> list[PriceSource]:
    """The sources of a poll in the order they are asked: the primary, then the configured fallbacks."""
    return [primary or source_get(PRIMARY), *fallback_sources()]


def _active_key() -> str:
    return f"{settings.WP_CACHE_PREFIX}:md:active"


def active_source_get() -> dict:
    """The source feeding the store now, since when, and why (for /api/status and readiness)."""
    state = cache.get(_active_key()) or {"source": PRIMARY, "since": None, "reason": ""}
    return {**state, "fallbacks": {name: budget_state(source=name) for name in settings.MARKET_DATA_FALLBACK}}


def _active() -> str:
    return str((cache.get(_active_key()) or {}).get("source", PRIMARY))


def _switch(to: str, reason: str) -> None:
    current = _active()
    if current == to:
        return
    cache.set(_active_key(), {"source": str(to), "since": now().isoformat(), "reason": reason}, timeout=None)
    metrics.market_data_switch(to)
    logger.warning("market data: switched from %s to %s (%s)", current, to, reason)
    market_data_switched_announce(source=to, previous=current, reason=reason)


def stale_tickers(*, wordpress_ok: bool, primary: str = PRIMARY) -> list[str]:
    """The polled symbols a fallback should be asked for now (none outside regular hours)."""
    at = now()
    if not settings.MARKET_DATA_FALLBACK or not market_clock().is_open(at):
        return []
    symbols = Symbol.objects.filter(is_primary=True).order_by("ticker")
    if not wordpress_ok:
        return list(symbols.values_list("ticker", flat=True))
    cutoff = at - dt.timedelta(seconds=settings.MARKET_DATA_STALE_SECONDS)
    # The newest primary sample per symbol: a backward walk of the (symbol, timestamp) index, not an aggregate.
    newest = PriceSample.objects.filter(symbol=OuterRef("pk"), source=primary).order_by("-timestamp")
    rows = symbols.annotate(wp_at=Subquery(newest.values("timestamp")[:1])).values_list("ticker", "wp_at")
    return [ticker for ticker, wp_at in rows if wp_at is None or wp_at < cutoff]


def _newest(tickers: list[str], **filters) -> dict[str, dt.datetime]:
    rows = (
        PriceSample.objects.filter(symbol__ticker__in=tickers, **filters)
        .values("symbol__ticker")
        .annotate(at=Max("timestamp"))
        .values_list("symbol__ticker", "at")
    )
    return {ticker: at for ticker, at in rows if at is not None}


def _ask(
    source: PriceSource, tickers: list[str], report: FallbackReport, call: Callable[[], Fetched]
) -> Fetched | None:
    """One budgeted call of a fallback; None (and the failure noted) when it is refused or fails."""
    requests = source.requests_for(tickers)
    refusal = budget_refusal(source=source.name, requests=requests) if source.budgeted else None
    if refusal:
        report.failures.append({"source": source.name, "code": "budget", "message": refusal})
        return None
    if source.budgeted:
        budget_spend(source=source.name, requests=requests)
    try:
        answer = call()
    except FetchFailed as error:
        failure = error.as_dict() if isinstance(error, SourceFailed) else {"source": source.name, **error.as_dict()}
        if isinstance(error, SourceFailed) and error.rate_limited and source.budgeted:
            failure["message"] += f" (paused {budget_rate_limited(source=source.name):.0f} s)"
        report.failures.append(failure)
        metrics.market_data_fetch(source.name, error.code)
        logger.warning("market data: %s failed: %s", source.name, error)
        return None
    if source.budgeted:
        budget_answered(source=source.name)
    metrics.market_data_fetch(source.name, "ok")
    return answer


def fallback_poll(
    *, wordpress_ok: bool, wordpress_reason: str = "", fallbacks: list[PriceSource] | None = None
) -> FallbackReport:
    """After the primary's poll: back to it when it is fresh (closing the seam), else one round of the fallbacks."""
    started = time.monotonic()
    report = _fallback_round(wordpress_ok, wordpress_reason, fallback_sources() if fallbacks is None else fallbacks)
    report.seconds = time.monotonic() - started
    return report


def _fallback_round(wordpress_ok: bool, wordpress_reason: str, chain: list[PriceSource]) -> FallbackReport:
    report = FallbackReport()
    tickers = stale_tickers(wordpress_ok=wordpress_ok)
    if not tickers:
        if wordpress_ok:
            previous = _active()
            if previous != PRIMARY:
                _seam_close(previous, chain, report)
            _switch(PRIMARY, "WordPress answered with fresh rows")
        return report
    report.tickers = tickers
    ids = dict(Symbol.objects.filter(ticker__in=tickers).values_list("ticker", "pk"))
    since = _newest(tickers)
    for source in chain:
        fetched = _ask(source, tickers, report, partial(source.latest, ids, since=since))
        if fetched is None:
            continue
        report.upsert = sample_upsert_many(samples=fetched.result.samples, source=source.name, live=True)
        report.source = source.name
        why = wordpress_reason or f"WordPress samples older than {settings.MARKET_DATA_STALE_SECONDS:.0f} s"
        _switch(source.name, why)
        return report
    return report


def _seam_close(previous: str, chain: list[PriceSource], report: FallbackReport) -> None:
    """The primary is fresh again after `previous` fed the store: ask `previous` once per symbol for the minutes
    between its last sample and the primary's first fresh one when a 5-minute bar between them has none."""
    source = next((s for s in chain if s.name == previous), None)
    if source is None or not market_clock().is_open(now()):
        return
    symbols = dict(Symbol.objects.filter(is_primary=True).values_list("ticker", "pk"))
    last = _newest(list(symbols), source=previous, timestamp__gte=now() - SEAM_MAX)
    for ticker, after in sorted(last.items()):
        first = (
            PriceSample.objects.filter(symbol_id=symbols[ticker], timestamp__gt=after, source=PRIMARY)
            .order_by("timestamp")
            .values_list("timestamp", flat=True)
            .first()
        )
        start = after + MINUTE
        if first is None or not _bar_start_between(start, first):
            continue
        history = partial(source.history, ticker, symbols[ticker], start=start, end=first)
        fetched = _ask(source, [ticker], report, history)
        if fetched is None:
            return  # refused or failed: the next symbol would fare no better
        upsert = sample_upsert_many(samples=fetched.result.samples, source=previous, live=False)
        report.upsert.stored += upsert.stored
        report.upsert.symbol_ids |= upsert.symbol_ids
        report.seam[ticker] = len(fetched.result.samples)


def _bar_start_between(start: dt.datetime, end: dt.datetime) -> bool:
    """Whether a 5-minute bar begins in [start, end) (so its bar would be empty)."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    size = BAR.total_seconds()
    first_bar = epoch + dt.timedelta(seconds=-(-(start - epoch).total_seconds() // size) * size)
    return first_bar < end
