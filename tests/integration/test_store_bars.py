"""The bulk store used by ingestion keeps the bars equal to a rollup computed from the stored samples,
whichever path writes them (PostgreSQL: one statement per chunk with server-side aggregation; others: Python)."""

import datetime as dt
import logging
import random
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from market.models import Bar, PriceSample, Symbol
from market.rollup import SampleRow, drafts_from_samples
from market.services import SampleIn, sample_upsert_many

pytestmark = pytest.mark.django_db


def bars_in_db() -> set[tuple]:
    return set(
        Bar.objects.values_list(
            "symbol_id",
            "timeframe",
            "start",
            "day",
            "open",
            "high",
            "low",
            "close",
            "open_at",
            "close_at",
            "close_volume",
        )
    )


def bars_from_samples() -> set[tuple]:  # the accepted samples: a quarantined one is in no bar
    rows = [
        SampleRow(*values)
        for values in PriceSample.objects.filter(quarantined=False).values_list(
            "symbol_id", "timestamp", "price", "volume"
        )
    ]
    return {
        (
            d.symbol_id,
            d.timeframe,
            d.start,
            d.day,
            d.open,
            d.high,
            d.low,
            d.close,
            d.open_at,
            d.close_at,
            d.close_volume,
        )
        for d in drafts_from_samples(sorted(rows, key=lambda r: r.timestamp))
    }


def test_bars_match_the_samples_after_batches_out_of_order_and_an_update(symbols):
    rng = random.Random(5)
    start = dt.datetime(2025, 11, 1, 20, 0, tzinfo=dt.UTC)  # spans New York midnights and the fall-back day
    samples = [
        SampleIn(
            symbols[ticker].pk,
            start + dt.timedelta(seconds=97 * i),
            Decimal(rng.randint(10000, 20000)) / 100,
            rng.randint(0, 10**7),
        )
        for i in range(3000)
        for ticker in ("TSLA", "SPY")
    ]
    rng.shuffle(samples)
    for i in range(0, len(samples), 1700):  # batches overlap buckets, arrive out of order
        sample_upsert_many(samples=samples[i : i + 1700], source=PriceSample.Source.WORDPRESS)
    again = sample_upsert_many(samples=samples[:500], source=PriceSample.Source.WORDPRESS)
    assert (again.stored, again.updated, again.unchanged) == (0, 0, 500)

    changed = [SampleIn(s.symbol_id, s.timestamp, s.price + 1, s.volume) for s in samples[:50]]
    result = sample_upsert_many(samples=changed, source=PriceSample.Source.WORDPRESS)
    assert result.updated == 50

    assert PriceSample.objects.count() == 6000
    assert bars_in_db() == bars_from_samples()


def test_symbol_ids_name_only_symbols_with_new_or_changed_rows(symbols):
    at = dt.datetime(2025, 12, 16, 15, 30, tzinfo=dt.UTC)
    tsla, spy = symbols["TSLA"].pk, symbols["SPY"].pk
    sample_upsert_many(samples=[SampleIn(spy, at, Decimal("500"), 1)], source=PriceSample.Source.WORDPRESS)
    result = sample_upsert_many(
        samples=[SampleIn(tsla, at, Decimal("250"), 1), SampleIn(spy, at, Decimal("500"), 1)],
        source=PriceSample.Source.WORDPRESS,
    )
    assert result.symbol_ids == {tsla}


def test_bulk_plain_inserts_give_the_upserts_bars_and_market_data_on_a_dst_window_and_a_gap(
    api, symbols, require_postgres
):
    """A backfill's windows take the plain inserts (no bar of theirs exists yet; the second window shares a day
    with the first, whose 1Day bar it merges); the same samples in small batches take the upsert, as every
    batch did before. Both give the bars the Python rollup gives, and the same /api/market_data."""
    rng = random.Random(18)
    start = dt.datetime(2025, 10, 31, 0, 0, tzinfo=dt.UTC)  # five days over the New York fall-back (Nov 2)
    price, rows = Decimal("250"), []
    for i in range(5 * 288):
        at = start + dt.timedelta(minutes=5 * i)
        if dt.datetime(2025, 11, 3, 14, tzinfo=dt.UTC) <= at < dt.datetime(2025, 11, 3, 17, 40, tzinfo=dt.UTC):
            continue  # a gap of hours inside a session day
        price += Decimal(rng.randint(-50, 50)) / 100
        rows.append((at, price, 1000 * i))
    tsla, spy = symbols["TSLA"].pk, symbols["SPY"].pk
    split = 700  # not on a day boundary: the second window meets the first inside a day
    for part in (rows[:split], rows[split:]):
        assert len(part) >= 500  # market.services.BULK_ROWS
        sample_upsert_many(samples=[SampleIn(tsla, *row) for row in part], source=PriceSample.Source.WORDPRESS)
    for i in range(0, len(rows), 300):
        batch = [SampleIn(spy, *row) for row in rows[i : i + 300]]
        sample_upsert_many(samples=batch, source=PriceSample.Source.WORDPRESS)

    assert PriceSample.objects.filter(quarantined=False).count() == 2 * len(rows)
    assert bars_in_db() == bars_from_samples()
    by_symbol = {symbol_id: {bar[1:] for bar in bars_in_db() if bar[0] == symbol_id} for symbol_id in (tsla, spy)}
    assert by_symbol[tsla] == by_symbol[spy] and len(by_symbol[tsla]) > 2 * len(rows)
    for timeframe in ("1Min", "5Min", "15Min", "1Hour", "1Day"):
        query = f"timeframe={timeframe}&limit=1000&start=2025-10-30T00:00:00Z&end=2025-11-06T00:00:00Z"
        answers = [api.get(f"/api/market_data/{ticker}?{query}") for ticker in ("TSLA", "SPY")]
        assert [a.status_code for a in answers] == [200, 200]
        tsla_data, spy_data = (a.json()["data"] for a in answers)
        assert tsla_data == spy_data and tsla_data, timeframe


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_bulk_insert_meeting_a_concurrent_writers_rows_falls_back_to_the_upsert(require_postgres, caplog):
    """Writer B finds none of the samples (A's are not committed yet) and inserts them plainly; A commits, B's
    insert fails on the unique index, is undone to its savepoint and merged by the upsert: no error, no sample
    twice, the bars those of the samples."""
    tsla = Symbol.objects.get(ticker="TSLA").pk
    start = dt.datetime(2025, 11, 10, 0, 0, tzinfo=dt.UTC)
    samples = [
        SampleIn(tsla, start + dt.timedelta(minutes=5 * i), Decimal(200) + Decimal(i % 40) / 10, i) for i in range(600)
    ]
    stored = threading.Event()
    errors: list[BaseException] = []

    def writer_a() -> None:
        try:
            with transaction.atomic():
                sample_upsert_many(samples=samples[:550], source=PriceSample.Source.WORDPRESS)
                stored.set()
                time.sleep(1.0)  # B is waiting on these rows' index entries by now
        except BaseException as error:
            errors.append(error)
            stored.set()
        finally:
            connection.close()

    def writer_b() -> None:
        try:
            stored.wait(timeout=30)
            sample_upsert_many(samples=samples, source=PriceSample.Source.WORDPRESS)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer_a), threading.Thread(target=writer_b)]
    with caplog.at_level(logging.INFO, logger="market.services"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert "merged by the upsert instead" in caplog.text
    assert PriceSample.objects.count() == 600
    assert bars_in_db() == bars_from_samples()
