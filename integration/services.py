"""Bring prices into the price store: one poll (WordPress `/stock-data`, then the fallbacks' switching rules), or
a backfill of history from any source of the chain (`sources/`), through one window loop.

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

from .client import WordPressClient
from .models import BackfillWindow, FeedStatus
from .sources.base import Fetched, PriceSource, SourceFailed
from .sources.budget import budget_rate_limited, budget_refusal, budget_spend
from .sources.fallback import PRIMARY, SOURCES, fallback_poll, source_get, sources_chain
from .sources.wordpress import WordPressSource, site_zone_get
from .transform import FetchFailed, TransformResult

__all__ = ["IngestReport", "backfill_run", "site_zone_get", "stock_data_poll"]

logger = logging.getLogger(__name__)

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


def _symbol_ids() -> dict[str, int]:
    return dict(Symbol.objects.values_list("ticker", "pk"))


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


def _fail(report: IngestReport, error: FetchFailed) -> None:
    report.error = error
    report.stale_age = getattr(error, "stale_age", None)


def _fallback(report: IngestReport, fallbacks: list[PriceSource]) -> None:
    """The primary failed or is stale: one round of the second sources (integration/sources/fallback.py)."""
    reason = f"WordPress poll failed: {report.error.code}" if report.error else ""
    fallback = fallback_poll(wordpress_ok=report.ok, wordpress_reason=reason, fallbacks=fallbacks)
    report.fallback = fallback.as_dict()
    if fallback.source:
        _after_store(report, fallback.upsert.symbol_ids, source=fallback.source)


def stock_data_poll(*, client: WordPressClient | None = None) -> IngestReport:
    """One poll: the chain's first source (WordPress `/stock-data`) validated, stored in bulk, resting orders
    filled; then, with MARKET_DATA_FALLBACK set, the switching rules. A failed fetch stores nothing and is
    reported (with the stale answer's age when the site is down)."""
    started = time.monotonic()
    report = IngestReport(kind="poll")
    primary, *fallbacks = sources_chain(WordPressSource(client))
    try:
        fetched = primary.latest(_symbol_ids())
        upsert = sample_upsert_many(samples=fetched.result.samples, source=primary.name, live=True)
        report.add(upsert, fetched.result, fetched.rows)
        _after_store(report, upsert.symbol_ids, source=primary.name)
    except FetchFailed as error:
        _fail(report, error)
    if fallbacks:
        _fallback(report, fallbacks)
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


def _window_fetch(source: PriceSource, window: Window) -> Fetched:
    """One window of history, within the source's budget (a 429 pauses it)."""
    if source.budgeted:
        refusal = budget_refusal(source=source.name, requests=1)
        if refusal:
            raise SourceFailed(source.name, "budget", refusal)
        budget_spend(source=source.name, requests=1)
    try:
        return source.history(window.symbol.ticker, window.symbol.pk, start=window.start, end=window.end)
    except SourceFailed as error:
        if error.rate_limited and source.budgeted:
            budget_rate_limited(source=source.name)
        raise


def _prefetch(
    source: PriceSource, plan: list[Window], depth: int = 2
) -> Iterator[tuple[Window, Fetched | None, FetchFailed | None]]:
    """Fetch and validate windows in a thread, `depth` ahead of the writer: the source's answer time and our
    parsing overlap the database's work, and at most `depth` answers are held at once (memory stays flat).
    Yields (window, the validated answer or None, the failure or None)."""
    answers: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def fetch_all() -> None:
        try:
            for window in plan:
                if stop.is_set():
                    break
                try:
                    answers.put((window, _window_fetch(source, window), None))
                except FetchFailed as error:
                    answers.put((window, None, error))
                    break  # the writer stops at a failed window: fetch no further
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
    source: str = PRIMARY,
    on_window: Callable[[Window, IngestReport], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """History of the last `days` days from `source` (WordPress by default: `/stock-data/{symbol}` asked with
    explicit site-local dates; a fallback for a window WordPress lacks), stored as history. Resumable:
    completed windows are recorded per source and skipped on the next run. Stops at the first failed window
    (rerun to resume). `workers` > 1 runs that many fetch-and-write pipelines at once, each on its own database
    connection. One backfill at a time: a cache lock whose lease (a window at its worst) is renewed after every
    window."""
    if source not in SOURCES:
        report = IngestReport(kind="backfill")
        report.error = FetchFailed("unknown_source", f"--source {source!r}: one of {', '.join(SOURCES)}")
        return report
    adapter = source_get(source)
    ttl = adapter.window_seconds + 60
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
            adapter,
            days=days,
            tickers=tickers,
            window_days=window_days,
            force=force,
            workers=workers,
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


def _shares(plan: list[Window], workers: int) -> list[list[Window]]:
    """The plan split between `workers` pipelines: each symbol's windows to one pipeline, in order, when there are
    symbols enough (two transactions on one symbol wait for each other: its bar-close marks are row-locked, and
    windows meeting inside a day merge the same 1Day bar), else window by window."""
    by_symbol: dict[int, list[Window]] = {}
    for window in plan:
        by_symbol.setdefault(window.symbol.pk, []).append(window)
    if len(by_symbol) < workers:
        return [plan[i::workers] for i in range(workers)]
    shares: list[list[Window]] = [[] for _ in range(workers)]
    for windows in sorted(by_symbol.values(), key=len, reverse=True):
        min(shares, key=len).extend(windows)
    return shares


def _backfill(
    source: PriceSource,
    *,
    days: float,
    tickers: list[str] | None = None,
    window_days: float | None = None,
    force: bool = False,
    workers: int = 1,
    on_window: Callable[[Window, IngestReport], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
) -> IngestReport:
    started = time.monotonic()
    report = IngestReport(kind="backfill")
    symbols, unknown = backfill_symbols(tickers)
    if unknown:
        report.error = FetchFailed("unknown_symbol", f"not in the symbol table: {', '.join(unknown)}")
        return report
    end = now()
    window = dt.timedelta(days=window_days or settings.WP_BACKFILL_WINDOW_DAYS)
    plan, report.windows_skipped = windows_plan(
        symbols=symbols, start=end - dt.timedelta(days=days), end=end, window=window, force=force, source=source.name
    )
    if on_plan:
        on_plan(len(plan), report.windows_skipped)
    touched: set[int] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def write(span: Window, fetched: Fetched) -> None:
        result = fetched.result
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # A bulk load need not wait for each window's WAL flush: a crash can lose only the last
                # windows, and their BackfillWindow rows with them, so a rerun fetches them again.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            upsert = sample_upsert_many(samples=result.samples, source=source.name, live=False)
            if span.end <= end:  # the window holding "now" is never complete: fetch it again next time
                BackfillWindow.objects.update_or_create(
                    symbol=span.symbol,
                    start=span.start,
                    end=span.end,
                    source=source.name,
                    defaults={"rows": len(result.samples), "skipped": len(result.skipped)},
                )
        with lock:
            report.add(upsert, result, fetched.rows)
            touched.update(upsert.symbol_ids)
            report.windows += 1
            if on_window:
                on_window(span, report)

    def pipeline(share: list[Window]) -> None:
        for span, fetched, error in _prefetch(source, share):
            if stop.is_set():
                break
            if fetched is None:
                assert error is not None  # a window without an answer carries its failure
                with lock:
                    if report.error is None:
                        _fail(report, error)
                stop.set()
                break
            write(span, fetched)

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
        if workers <= 1 or connection.vendor == "sqlite":  # SQLite has one writer at a time anyway
            pipeline(plan)
        else:
            threads = [
                threading.Thread(target=threaded, args=(share,), name=f"backfill-{i}")
                for i, share in enumerate(_shares(plan, workers))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    except FetchFailed as error:
        report.error = error
    _after_store(report, touched, source=source.name)
    report.seconds = time.monotonic() - started
    _status_record(FeedStatus.Kind.BACKFILL, report)
    return report
