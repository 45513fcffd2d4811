"""The bulk store used by ingestion keeps the bars equal to a rollup computed from the stored samples,
whichever path writes them (PostgreSQL: one statement per chunk with server-side aggregation; others: Python)."""

import datetime as dt
import random
from decimal import Decimal

import pytest

from market.models import Bar, PriceSample
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
