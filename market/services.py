"""Writes to the price store. Every writer (CSV loader, WordPress poller, backfill) calls `sample_upsert_many`."""

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from tradingrobot.ops.metrics import price_quarantine_count
from tradingrobot.snapshot_cache import ledger_version_bump

from .bar_close import bars_close
from .models import FALLBACK_SOURCES, PriceSample, Symbol
from .price_band import BandVerdict, band_judge
from .rollup import SampleRow, bars_fresh_timeframes, bars_merge, bars_merge_from_sql, bars_rebuild, execute_binary

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleIn:
    symbol_id: int
    timestamp: dt.datetime  # aware
    price: Decimal
    volume: int | None = None


@dataclass
class UpsertResult:
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    symbol_ids: set[int] = field(default_factory=set)
    bars_closed: int = 0
    quarantined: int = 0  # stored flagged, outside the price band

    def __iadd__(self, other: "UpsertResult") -> "UpsertResult":
        self.stored += other.stored
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.symbol_ids |= other.symbol_ids
        self.bars_closed += other.bars_closed
        self.quarantined += other.quarantined
        return self


def _dedupe(samples: Sequence[SampleIn]) -> list[SampleIn]:
    """Last one wins for a repeated (symbol, timestamp) inside one batch."""
    latest = {(s.symbol_id, s.timestamp): s for s in samples}
    return list(latest.values())


ONE_MINUTE = dt.timedelta(minutes=1)


def _minute(at: dt.datetime) -> dt.datetime:
    return at.replace(second=0, microsecond=0)


def _fallback_displace(existing: dict, items: Sequence[SampleIn]) -> list[dt.datetime]:
    """Delete the fallback samples sharing a minute (not the instant) with an incoming WordPress sample; returns
    their timestamps, whose bars are rebuilt once the new samples are in."""
    if not any(row[3] in FALLBACK_SOURCES for row in existing.values()):
        return []  # the usual case (a backfill into history has no row at all): no minute to work out
    incoming = {_minute(s.timestamp) for s in items}
    exact = {s.timestamp for s in items}
    gone = {
        ts: row[0]
        for ts, row in existing.items()
        if row[3] in FALLBACK_SOURCES and _minute(ts) in incoming and ts not in exact
    }
    if gone:
        PriceSample.objects.filter(pk__in=gone.values()).delete()
        for ts in gone:
            del existing[ts]
    return list(gone)


def sample_upsert_many(*, samples: Sequence[SampleIn], source: str, live: bool = True) -> UpsertResult:
    """Store samples keyed on (symbol, timestamp): new ones are inserted, changed ones updated in place,
    identical ones left alone; the bars they touch are kept consistent in the same transaction, and the bars
    the new samples close are announced (`bar_closed`, once each; `live=False` for a backfill or history).
    One sample per symbol and minute across sources: a fallback source (`FALLBACK_SOURCES`) adds nothing to a
    minute that already has a sample, and a WordPress sample replaces the fallback's of its minute.
    Then call the "prices arrived" follow-up (`trading.prices.prices_arrived`) with `result.symbol_ids`."""
    result = UpsertResult()
    by_symbol: dict[int, list[SampleIn]] = defaultdict(list)
    for sample in _dedupe(samples):
        by_symbol[sample.symbol_id].append(sample)

    newest: dict[int, dt.datetime] = {}
    fallback = source in FALLBACK_SOURCES
    displaced: dict[int, list[dt.datetime]] = {}  # fallback samples a WordPress sample of their minute replaced
    quarantined_rows: list[SampleIn] = []  # new samples outside the sanity band (market/price_band.py)
    verdicts: dict[int, BandVerdict] = {}
    with transaction.atomic():
        new_rows: list[SampleIn] = []
        for symbol_id, items in by_symbol.items():
            rows = PriceSample.objects.filter(
                symbol_id=symbol_id,
                timestamp__gte=_minute(min(s.timestamp for s in items)),
                timestamp__lt=_minute(max(s.timestamp for s in items)) + ONE_MINUTE,
            ).values_list("pk", "timestamp", "price", "volume", "source")
            existing = {ts: (pk, price, volume, kind) for pk, ts, price, volume, kind in rows}
            minutes = {_minute(ts) for ts in existing}
            if fallback:  # a fallback never adds a second sample to a minute that has one
                items = [s for s in items if s.timestamp in existing or _minute(s.timestamp) not in minutes]
            elif source == PriceSample.Source.WORDPRESS:
                displaced[symbol_id] = _fallback_displace(existing, items)
            changed: list[PriceSample] = []
            changed_at: list[dt.datetime] = []
            new_before = len(new_rows)
            for s in items:
                current = existing.get(s.timestamp)
                if current is None:
                    new_rows.append(s)
                elif fallback and current[3] not in FALLBACK_SOURCES:
                    result.unchanged += 1  # WordPress wins its minute
                elif (current[1], current[2]) != (s.price, s.volume) or (
                    current[3] in FALLBACK_SOURCES and not fallback
                ):
                    changed.append(PriceSample(pk=current[0], price=s.price, volume=s.volume, source=source))
                    changed_at.append(s.timestamp)
                else:
                    result.unchanged += 1
            judged = band_judge(symbol_id=symbol_id, new=[(r.timestamp, r.price) for r in new_rows[new_before:]])
            if judged.quarantined:  # stored apart, flagged: never merged into a bar
                fresh = new_rows[new_before:]
                del new_rows[new_before:]
                new_rows.extend(r for r in fresh if r.timestamp not in judged.quarantined)
                quarantined_rows.extend(r for r in fresh if r.timestamp in judged.quarantined)
            verdicts[symbol_id] = judged
            if changed:
                now = timezone.now()
                for changed_sample in changed:
                    changed_sample.updated_at = now
                PriceSample.objects.bulk_update(changed, ["price", "volume", "source", "updated_at"], batch_size=500)
                bars_rebuild(symbol_id, changed_at)
                result.updated += len(changed)
            confirmed_at = [at for _, at in judged.confirmed]
            if len(new_rows) > new_before or changed or confirmed_at:
                result.symbol_ids.add(symbol_id)
                newest[symbol_id] = max([s.timestamp for s in new_rows[new_before:]] + changed_at + confirmed_at)

        if connection.vendor == "postgresql":
            _insert_new_and_merge(new_rows, source)
        else:
            PriceSample.objects.bulk_create(
                [
                    PriceSample(
                        symbol_id=s.symbol_id, timestamp=s.timestamp, price=s.price, volume=s.volume, source=source
                    )
                    for s in new_rows
                ],
                ignore_conflicts=True,
                batch_size=1000,
            )
            bars_merge(SampleRow(s.symbol_id, s.timestamp, s.price, s.volume) for s in new_rows)
        _quarantine_store(quarantined_rows, source, verdicts)
        result.quarantined = len(quarantined_rows)
        for symbol_id, gone in displaced.items():
            if gone:
                bars_rebuild(symbol_id, gone)
                result.symbol_ids.add(symbol_id)
        result.stored += len(new_rows)
        result.bars_closed = bars_close(newest=newest, live=live)
        if result.symbol_ids:
            transaction.on_commit(ledger_version_bump)
    return result


def _quarantine_store(rows: list[SampleIn], source: str, verdicts: dict[int, BandVerdict]) -> None:
    """Store the samples outside the band flagged (no bar sees them); accept the stored ones confirmed now and
    rebuild their bars. Counted and logged after commit."""
    PriceSample.objects.bulk_create(
        [
            PriceSample(
                symbol_id=s.symbol_id,
                timestamp=s.timestamp,
                price=s.price,
                volume=s.volume,
                source=source,
                quarantined=True,
            )
            for s in rows
        ],
        ignore_conflicts=True,
    )
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row.symbol_id, {"quarantined": 0, "confirmed": 0})["quarantined"] += 1
    for symbol_id, verdict in verdicts.items():
        if verdict.confirmed:
            PriceSample.objects.filter(pk__in=[pk for pk, _ in verdict.confirmed]).update(
                quarantined=False, updated_at=timezone.now()
            )
            bars_rebuild(symbol_id, [at for _, at in verdict.confirmed])
        confirmed = len(verdict.confirmed) + verdict.confirmed_new
        if confirmed:
            counts.setdefault(symbol_id, {"quarantined": 0, "confirmed": 0})["confirmed"] += confirmed
            counts[symbol_id]["quarantined"] += verdict.confirmed_new
    if counts:
        transaction.on_commit(lambda: _quarantine_report(counts, rows))


def _quarantine_report(counts: dict[int, dict[str, int]], rows: list[SampleIn]) -> None:
    tickers = dict(Symbol.objects.filter(pk__in=counts).values_list("pk", "ticker"))
    for symbol_id, by_verdict in counts.items():
        for verdict, count in by_verdict.items():
            if count:
                price_quarantine_count(tickers.get(symbol_id, "?"), verdict, count)
    for row in rows:
        logger.warning(
            "price of %s at %s quarantined: %s is outside the band around the last accepted sample",
            tickers.get(row.symbol_id, row.symbol_id),
            row.timestamp.isoformat(),
            row.price,
        )


_INSERT_UNNEST = """
    WITH new_samples AS (
        INSERT INTO {table} (symbol_id, timestamp, price, volume, source, created_at, updated_at)
        SELECT symbol_id, ts, price, volume, %b, %b, %b
        FROM unnest(%b::bigint[], %b::timestamptz[], %b::numeric[], %b::bigint[]) AS u(symbol_id, ts, price, volume)
        {on_conflict}
        RETURNING symbol_id, timestamp, price, volume
    )
"""
BULK_ROWS = 500  # a batch this large (a backfill's window) first tries the plain inserts


def _insert_new_and_merge(rows: list[SampleIn], source: str, *, chunk: int = 20000) -> None:
    """PostgreSQL: insert samples known to be new and merge them into their bars in one statement per chunk.
    Values travel as one binary array per column; the server aggregates the bars. A large chunk (history)
    is first inserted plainly, without conflict checks: the samples were just found missing, and so were the
    bars of the timeframes `bars_fresh_timeframes` names; a row a concurrent writer added meanwhile fails that
    statement, which is then undone (savepoint) and run as the upsert. The upsert skips a sample a concurrent
    writer inserted first (ON CONFLICT DO NOTHING; that writer merges it) and merges every bar."""
    table = PriceSample._meta.db_table
    upsert = _INSERT_UNNEST.format(table=table, on_conflict="ON CONFLICT (symbol_id, timestamp) DO NOTHING")
    now = timezone.now()
    # Every writer inserts in key order: two writers storing the same samples in different orders each wait on
    # the other's uncommitted row (ON CONFLICT) and deadlock.
    rows = sorted(rows, key=lambda s: (s.symbol_id, s.timestamp))
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        params = [
            source,
            now,
            now,
            [s.symbol_id for s in part],
            [s.timestamp for s in part],
            [s.price for s in part],
            [s.volume for s in part],
        ]
        if len(part) >= BULK_ROWS:
            spans: dict[int, tuple[dt.datetime, dt.datetime]] = {}
            for s in part:
                first, last = spans.get(s.symbol_id, (s.timestamp, s.timestamp))
                spans[s.symbol_id] = (min(first, s.timestamp), max(last, s.timestamp))
            fresh = bars_fresh_timeframes(spans)
            plain = _INSERT_UNNEST.format(table=table, on_conflict="") + bars_merge_from_sql("new_samples", fresh=fresh)
            try:
                with transaction.atomic():
                    execute_binary(plain, params)
                continue
            except psycopg.errors.UniqueViolation:
                logger.info("bulk insert met rows a concurrent writer added: merged by the upsert instead")
        execute_binary(upsert + bars_merge_from_sql("new_samples"), params)


def symbols_tradable_set(*, tradable: dict[str, bool]) -> list[str]:
    """Mark our symbols active or not as a broker's asset list says (a symbol it does not list is not tradable);
    returns the tickers that changed."""
    changed = []
    with transaction.atomic():
        for symbol in Symbol.objects.select_for_update().order_by("ticker"):
            active = tradable.get(symbol.ticker, False)
            if symbol.is_active != active:
                symbol.is_active = active
                symbol.save(update_fields=["is_active"])
                changed.append(symbol.ticker)
    return changed
