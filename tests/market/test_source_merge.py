"""One sample per symbol and minute across sources: WordPress wins, the bar is rebuilt, nothing is duplicated."""

import datetime as dt
from decimal import Decimal

from market.models import Bar, PriceSample
from market.services import SampleIn, sample_upsert_many

T0 = dt.datetime(2025, 12, 16, 15, 0, tzinfo=dt.UTC)


def put(symbols, source, rows, ticker="TSLA"):
    samples = [SampleIn(symbols[ticker].pk, T0 + dt.timedelta(seconds=s), Decimal(p), v) for s, p, v in rows]
    return sample_upsert_many(samples=samples, source=source)


def samples():
    return list(PriceSample.objects.order_by("timestamp").values_list("timestamp", "price", "source"))


def bar_5min():
    bar = Bar.objects.get(timeframe="5Min", start=T0)
    return bar.open, bar.high, bar.low, bar.close


def test_a_wordpress_sample_replaces_the_fallbacks_of_its_minute_and_the_bar_is_rebuilt(symbols):
    put(symbols, "alpaca", [(0, "100", None), (60, "110", None), (120, "102", None)])
    assert bar_5min() == (Decimal("100"), Decimal("110"), Decimal("100"), Decimal("102"))

    result = put(symbols, "wordpress", [(77, "101", 5000)])  # 15:01:17, inside the fallback's 15:01 minute

    assert samples() == [
        (T0, Decimal("100"), "alpaca"),
        (T0 + dt.timedelta(seconds=77), Decimal("101"), "wordpress"),
        (T0 + dt.timedelta(seconds=120), Decimal("102"), "alpaca"),
    ]
    assert bar_5min() == (Decimal("100"), Decimal("102"), Decimal("100"), Decimal("102"))  # the 110 is gone
    assert Bar.objects.filter(timeframe="1Min", start=T0 + dt.timedelta(minutes=1)).get().close == Decimal("101")
    assert result.symbol_ids == {symbols["TSLA"].pk}


def test_the_same_instant_becomes_wordpress_even_at_the_same_price(symbols):
    put(symbols, "yahoo", [(60, "101", None)])
    result = put(symbols, "wordpress", [(60, "101", None)])
    assert (result.stored, result.updated) == (0, 1)
    assert samples() == [(T0 + dt.timedelta(seconds=60), Decimal("101"), "wordpress")]


def test_a_fallback_adds_nothing_to_a_minute_wordpress_has(symbols):
    put(symbols, "wordpress", [(30, "100", 1000)])
    result = put(symbols, "alpaca", [(0, "999", None), (30, "998", None), (60, "101", None)])
    assert (result.stored, result.updated, result.unchanged) == (1, 0, 1)
    assert samples() == [
        (T0 + dt.timedelta(seconds=30), Decimal("100"), "wordpress"),
        (T0 + dt.timedelta(seconds=60), Decimal("101"), "alpaca"),
    ]
    assert bar_5min() == (Decimal("100"), Decimal("101"), Decimal("100"), Decimal("101"))


def test_other_sources_are_left_alone(symbols):
    """Fallback off: a CSV or manual sample in the minute of a WordPress one stays (today's behaviour)."""
    put(symbols, "csv", [(0, "100", None)])
    put(symbols, "wordpress", [(30, "101", None)])
    assert [s[2] for s in samples()] == ["csv", "wordpress"]
