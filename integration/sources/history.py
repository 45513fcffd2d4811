"""Backfill from a fallback source (`backfill_wordpress --source alpaca`) for a window WordPress lacks: the same
aligned, resumable windows as the WordPress backfill (recorded per source), one request per window, stored as
history (`live=False`); the source's budget applies. A WordPress sample of the same minute still wins."""

import datetime as dt
import os
import socket
import time
from collections.abc import Callable

from django.conf import settings

from market.clock import now
from market.services import SampleIn, sample_upsert_many
from tradingrobot.locks import cache_lock

from ..models import BackfillWindow, FeedStatus
from ..services import (
    IngestReport,
    Window,
    _after_store,
    _status_record,
    backfill_lock_name,
    backfill_symbols,
    windows_plan,
)
from ..transform import FetchFailed, TransformResult
from .base import SourceFailed
from .budget import budget_rate_limited, budget_refusal, budget_spend
from .fallback import SOURCES


def fallback_backfill_run(
    *,
    source: str,
    days: float,
    tickers: list[str] | None = None,
    window_days: float | None = None,
    force: bool = False,
    on_window: Callable[[Window, IngestReport], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
) -> IngestReport:
    report = IngestReport(kind="backfill")
    if source not in SOURCES:
        report.error = FetchFailed("unknown_source", f"--source {source!r}: one of wordpress, {', '.join(SOURCES)}")
        return report
    adapter = SOURCES[source]()
    owner = f"{socket.gethostname()}:{os.getpid()}"
    ttl = settings.MARKET_DATA_TIMEOUT_SECONDS * 2 + 60
    with cache_lock(backfill_lock_name(), ttl=ttl, owner=owner) as held:
        if not held.acquired:
            report.error = FetchFailed("backfill_running", f"another backfill is running ({held.holder})")
            return report
        started = time.monotonic()
        symbols, unknown = backfill_symbols(tickers)
        if unknown:
            report.error = FetchFailed("unknown_symbol", f"not in the symbol table: {', '.join(unknown)}")
            return report
        end = now()
        window = dt.timedelta(days=window_days or settings.WP_BACKFILL_WINDOW_DAYS)
        plan, report.windows_skipped = windows_plan(
            symbols=symbols, start=end - dt.timedelta(days=days), end=end, window=window, force=force, source=source
        )
        if on_plan:
            on_plan(len(plan), report.windows_skipped)
        touched: set[int] = set()
        for span in plan:
            refusal = budget_refusal(source=source, requests=1)
            if refusal:
                report.error = FetchFailed("budget", f"{source}: {refusal}")
                break
            budget_spend(source=source, requests=1)
            try:
                quotes = adapter.history(span.symbol.ticker, start=span.start, end=min(span.end, end))
            except SourceFailed as error:
                if error.rate_limited:
                    budget_rate_limited(source=source)
                report.error = FetchFailed(error.code, error.message)
                break
            samples = [SampleIn(span.symbol.pk, q.timestamp, q.price, None) for q in quotes]
            upsert = sample_upsert_many(samples=samples, source=source, live=False)
            if span.end <= end:
                BackfillWindow.objects.update_or_create(
                    symbol=span.symbol, start=span.start, end=span.end, source=source, defaults={"rows": len(samples)}
                )
            report.add(upsert, TransformResult(samples=samples, skipped=[]), len(quotes))
            touched |= upsert.symbol_ids
            report.windows += 1
            if not held.renew():
                report.error = FetchFailed("backfill_lock_lost", "another backfill took the lock over: stopped")
                break
            if on_window:
                on_window(span, report)
        _after_store(report, touched, source=source)
        report.seconds = time.monotonic() - started
        _status_record(FeedStatus.Kind.BACKFILL, report)
        return report
