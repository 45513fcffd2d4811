"""Bring WordPress prices into the price store: one poll of `/stock-data`, or a backfill of history.

Writes go through `market.services.sample_upsert_many` (bulk, idempotent on (symbol, timestamp); it announces
the bars they close, as not live for a backfill); afterwards `trading.prices.prices_arrived` lets the paper broker
fill what the new prices allow and announces `prices_stored`.
"""

import contextlib
import datetime as dt
import logging
import os
import queue
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction

from market.clock import now
from market.models import PriceSample, Symbol
from market.services import UpsertResult, sample_upsert_many
from trading.prices import prices_arrived
from tradingrobot.locks import cache_lock
from tradingrobot.ops import metrics

from .client import WordPressClient, WPResponse
from .models import BackfillWindow, FeedStatus
from .sources.fallback import fallback_poll
from .transform import (
    FetchFailed,
    TransformResult,
    history_rows,
    rows_to_samples,
    stock_data_rows,
    utc_to_local,
    zone_from_index,
    zone_from_name,
)

logger = logging.getLogger(__name__)

SITE_ZONE_MAX_AGE = 24 * 3600
SKIPPED_ROWS_KEPT = 20


@dataclass
class IngestReport:
    kind: str
    rows: int = 0
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: Counter = field(default_factory=Counter)
    skipped_examples: list[str] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)
    fills: int = 0
    windows: int = 0
    windows_skipped: int = 0
    error: FetchFailed | None = None
    stale_age: float | None = None  # the site was down; its last good answer is this old
    seconds: float = 0.0
    fallback: dict | None = None  # what the second sources did (MARKET_DATA_FALLBACK set)

    @property
    def ok(self) -> bool:
        return self.error is None

    def add(self, upsert: UpsertResult, result: TransformResult, rows: int) -> None:
        self.rows += rows
        self.stored += upsert.stored
        self.updated += upsert.updated
        self.unchanged += upsert.unchanged
        self.skipped.update(result.reasons)
        room = SKIPPED_ROWS_KEPT - len(self.skipped_examples)
        self.skipped_examples += [f"row {s.index} {s.symbol or '?'}: {s.reason}: {s.detail}" for s in result.skipped][
            : max(room, 0)
        ]

    def counts(self) -> dict:
        return {
            "rows": self.rows,
            "stored": self.stored,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": sum(self.skipped.values()),
            "skipped_reasons": dict(self.skipped),
            "fills": self.fills,
        }

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "ok": self.ok,
            **self.counts(),
            "symbols": self.symbols,
            "windows": self.windows,
            "windows_skipped": self.windows_skipped,
            "error": self.error.as_dict() if self.error else None,
            "stale_age": self.stale_age,
            "seconds": round(self.seconds, 3),
            **({"fallback": self.fallback} if self.fallback is not None else {}),
        }

    def summary(self) -> str:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.skipped.items())) or "none"
        text = (
            f"{self.kind}: rows={self.rows} stored={self.stored} updated={self.updated} unchanged={self.unchanged} "
            f"skipped={sum(self.skipped.values())} ({reasons}) fills={self.fills} in {self.seconds:.2f} s"
        )
        if self.error:
            text += f"; FAILED {self.error.code}: {self.error.message}"
            if self.stale_age is not None:
                text += f" (site down; last good answer is {self.stale_age:.0f} s old)"
        return text


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


def _symbol_ids() -> dict[str, int]:
    return dict(Symbol.objects.values_list("ticker", "pk"))


def _store(result: TransformResult, report: IngestReport, rows: int) -> UpsertResult:
    upsert = sample_upsert_many(samples=result.samples, source=PriceSample.Source.WORDPRESS, live=True)
    report.add(upsert, result, rows)
    return upsert


def _after_store(report: IngestReport, symbol_ids: set[int], *, source: str = PriceSample.Source.WORDPRESS) -> None:
    """Let the paper broker and the WebSocket see the new prices."""
    arrived = prices_arrived(symbol_ids=symbol_ids, source=source)
    report.fills += arrived.fills
    if arrived.tickers:
        report.symbols = arrived.tickers


def _status_record(kind: str, report: IngestReport) -> None:
    at = now()
    status, _ = FeedStatus.objects.get_or_create(kind=kind)
    status.last_attempt_at = at
    status.last_counts = report.as_dict()
    if report.ok:
        status.last_success_at = at
        status.consecutive_failures = 0
        status.last_error_code = status.last_error_message = ""
    else:
        status.consecutive_failures += 1
        assert report.error is not None  # a report that is not ok names its error
        status.last_error_code = report.error.code
        status.last_error_message = report.error.message
    status.save()
    metrics.ingest_recorded(kind=kind, counts=status.last_counts)


def _fail(report: IngestReport, response: WPResponse) -> None:
    report.error = response.error
    if response.stale:
        report.stale_age = response.age_seconds


def _fallback(report: IngestReport) -> None:
    """WordPress failed or is stale: one round of the second sources (integration/sources/fallback.py)."""
    reason = f"WordPress poll failed: {report.error.code}" if report.error else ""
    fallback = fallback_poll(wordpress_ok=report.ok, wordpress_reason=reason)
    report.fallback = fallback.as_dict()
    if fallback.source:
        _after_store(report, fallback.upsert.symbol_ids, source=fallback.source)


def stock_data_poll(*, client: WordPressClient | None = None) -> IngestReport:
    """One poll of `/stock-data`: validate, store in bulk, fill resting orders. A failed fetch stores nothing
    and is reported (with the stale answer's age when the site is down)."""
    client = client or WordPressClient()
    started = time.monotonic()
    report = IngestReport(kind="poll")
    try:
        zone = site_zone_get(client)
        response = client.stock_data(max_age=0)
        if not response.ok:
            _fail(report, response)
        else:
            rows = stock_data_rows(response.data)
            result = rows_to_samples(rows, symbol_ids=_symbol_ids(), zone=zone)
            upsert = _store(result, report, len(rows))
            _after_store(report, upsert.symbol_ids)
    except FetchFailed as error:
        report.error = error
    if settings.MARKET_DATA_FALLBACK:
        _fallback(report)
    report.seconds = time.monotonic() - started
    _status_record(FeedStatus.Kind.POLL, report)
    (logger.info if report.ok else logger.warning)("WordPress %s", report.summary())
    return report


# --- backfill ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    symbol: Symbol
    start: dt.datetime
    end: dt.datetime  # exclusive


def windows_plan(
    *,
    symbols: list[Symbol],
    start: dt.datetime,
    end: dt.datetime,
    window: dt.timedelta,
    force: bool = False,
    source: str = PriceSample.Source.WORDPRESS,
) -> tuple[list[Window], int]:
    """Windows aligned on multiples of `window` since the epoch (so reruns find the same spans), minus the
    ones a previous run completed. Returns (windows to fetch, how many were already done)."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    size = window.total_seconds()
    first = epoch + dt.timedelta(seconds=(start - epoch).total_seconds() // size * size)
    done = set()
    if not force:
        done = set(
            BackfillWindow.objects.filter(symbol__in=symbols, end__gt=first, start__lt=end, source=source).values_list(
                "symbol_id", "start", "end"
            )
        )
    plan, skipped = [], 0
    for symbol in symbols:
        at = first
        while at < end:
            span = Window(symbol, at, at + window)
            if (symbol.pk, span.start, span.end) in done:
                skipped += 1
            else:
                plan.append(span)
            at += window
    return plan, skipped


def _prefetch(
    client: WordPressClient, zone: dt.tzinfo, plan: list[Window], depth: int = 2
) -> Iterator[tuple[Window, WPResponse, TransformResult | None, int]]:
    """Fetch and validate windows in a thread, `depth` ahead of the writer: the site's answer time and our
    parsing overlap the database's work, and at most `depth` answers are held at once (memory stays flat).
    Yields (window, response, validated rows or None when the fetch failed, row count)."""
    answers: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def fetch_all() -> None:
        try:
            for window in plan:
                if stop.is_set():
                    break
                response = client.stock_history(
                    window.symbol.ticker,
                    start_date=utc_to_local(window.start, zone),
                    end_date=utc_to_local(window.end - dt.timedelta(seconds=1), zone),
                    store=False,
                )
                result, count = None, 0
                if response.ok:
                    try:
                        rows = history_rows(response.data)
                    except FetchFailed as error:
                        response = WPResponse(None, None, error=error)
                    else:
                        ids = {window.symbol.ticker: window.symbol.pk}
                        result, count = rows_to_samples(rows, symbol_ids=ids, zone=zone), len(rows)
                answers.put((window, response, result, count))
                if not response.ok:  # the writer stops at a failed window: fetch no further
                    break
        finally:
            answers.put(None)

    thread = threading.Thread(target=fetch_all, name="backfill-prefetch", daemon=True)
    thread.start()
    try:
        while (item := answers.get()) is not None:
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                answers.get(timeout=0.1)
        thread.join()


def backfill_run(
    *,
    days: float,
    tickers: list[str] | None = None,
    window_days: float | None = None,
    force: bool = False,
    workers: int = 1,
    client: WordPressClient | None = None,
    on_window: Callable[[Window, IngestReport], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """History of the last `days` days through `/stock-data/{symbol}`, asked for with explicit site-local
    `start_date`/`end_date` (the site's `days` window is wrong west of UTC). Resumable: completed windows
    are recorded and skipped on the next run. Stops at the first failed window (rerun to resume).
    `workers` > 1 runs that many fetch-and-write pipelines at once, each on its own database connection.
    One backfill at a time: a cache lock whose lease (a window at its worst) is renewed after every window."""
    ttl = settings.WP_READ_TIMEOUT * (settings.WP_RETRIES + 1) + 60
    owner = f"{socket.gethostname()}:{os.getpid()}"
    with cache_lock(backfill_lock_name(), ttl=ttl, owner=owner) as held:
        if not held.acquired:
            report = IngestReport(kind="backfill")
            report.error = FetchFailed("backfill_running", f"another backfill is running ({held.holder})")
            return report

        def renewed(window: Window, report: IngestReport) -> None:
            if not held.renew():
                report.error = FetchFailed("backfill_lock_lost", "another backfill took the lock over: stopped")
                raise report.error
            if on_window:
                on_window(window, report)

        return _backfill(
            days=days,
            tickers=tickers,
            window_days=window_days,
            force=force,
            workers=workers,
            client=client,
            on_window=renewed,
            on_plan=on_plan,
        )


def backfill_symbols(tickers: list[str] | None) -> tuple[list[Symbol], list[str]]:
    """The symbols a backfill covers (the primary ones when none are named), and the named ones not stored."""
    chosen = Symbol.objects.filter(is_primary=True) if not tickers else Symbol.objects.filter(ticker__in=tickers)
    symbols = list(chosen.order_by("ticker"))
    return symbols, sorted(set(tickers or []) - {s.ticker for s in symbols})


def backfill_lock_name() -> str:
    return f"{settings.WP_CACHE_PREFIX}:backfill"


def _backfill(
    *,
    days: float,
    tickers: list[str] | None = None,
    window_days: float | None = None,
    force: bool = False,
    workers: int = 1,
    client: WordPressClient | None = None,
    on_window: Callable[[Window, IngestReport], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
) -> IngestReport:
    client = client or WordPressClient()
    started = time.monotonic()
    report = IngestReport(kind="backfill")
    symbols, unknown = backfill_symbols(tickers)
    if unknown:
        report.error = FetchFailed("unknown_symbol", f"not in the symbol table: {', '.join(unknown)}")
        return report
    end = now()
    window = dt.timedelta(days=window_days or settings.WP_BACKFILL_WINDOW_DAYS)
    plan, report.windows_skipped = windows_plan(
        symbols=symbols, start=end - dt.timedelta(days=days), end=end, window=window, force=force
    )
    if on_plan:
        on_plan(len(plan), report.windows_skipped)
    touched: set[int] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def write(span: Window, result: TransformResult, count: int) -> None:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # A bulk load need not wait for each window's WAL flush: a crash can lose only the last
                # windows, and their BackfillWindow rows with them, so a rerun fetches them again.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            upsert = sample_upsert_many(samples=result.samples, source=PriceSample.Source.WORDPRESS, live=False)
            if span.end <= end:  # the window holding "now" is never complete: fetch it again next time
                BackfillWindow.objects.update_or_create(
                    symbol=span.symbol,
                    start=span.start,
                    end=span.end,
                    source=PriceSample.Source.WORDPRESS,
                    defaults={"rows": len(result.samples), "skipped": len(result.skipped)},
                )
        with lock:
            report.add(upsert, result, count)
            touched.update(upsert.symbol_ids)
            report.windows += 1
            if on_window:
                on_window(span, report)

    def pipeline(share: list[Window]) -> None:
        for span, response, result, count in _prefetch(client, zone, share):
            if stop.is_set():
                break
            if not response.ok:
                with lock:
                    if report.error is None:
                        _fail(report, response)
                stop.set()
                break
            assert result is not None  # an ok response has been transformed
            write(span, result, count)

    def threaded(share: list[Window]) -> None:
        try:
            pipeline(share)
        except Exception as exc:
            with lock:
                report.error = report.error or FetchFailed("backfill_error", repr(exc))
            stop.set()
            logger.exception("backfill pipeline failed")
        finally:
            connection.close()  # this thread's own connection

    try:
        zone = site_zone_get(client)
        if workers <= 1 or connection.vendor == "sqlite":  # SQLite has one writer at a time anyway
            pipeline(plan)
        else:
            threads = [
                threading.Thread(target=threaded, args=(plan[i::workers],), name=f"backfill-{i}")
                for i in range(workers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    except FetchFailed as error:
        report.error = error
    _after_store(report, touched)
    report.seconds = time.monotonic() - started
    _status_record(FeedStatus.Kind.BACKFILL, report)
    return report
