"""Which sources fed each bar: on PostgreSQL grouped by the server, elsewhere read sample by sample; the same."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from market.models import PriceSample
from market.rollup import bucket_of
from market.selectors import _bar_sources_read, bar_sources
from market.services import SampleIn, sample_upsert_many

T0 = dt.datetime(2025, 12, 16, 15, 0, tzinfo=dt.UTC)  # 10:00 New York


@pytest.mark.parametrize("timeframe", ["1Min", "5Min", "15Min", "1Hour", "1Day"])
def test_grouped_sources_are_the_ones_read_sample_by_sample(require_postgres, symbols, market_open, timeframe):
    tsla = symbols["TSLA"].pk
    for offset, source in [(0, "manual"), (30, "wordpress"), (90, "manual"), (400, "yahoo"), (4000, "wordpress")]:
        sample = SampleIn(tsla, T0 + dt.timedelta(seconds=offset), Decimal("100"), None)
        sample_upsert_many(samples=[sample], source=source)
    stamps = PriceSample.objects.filter(symbol_id=tsla).values_list("timestamp", flat=True)
    starts = sorted({bucket_of(timeframe, at)[0] for at in stamps})
    starts.append(starts[-1] + dt.timedelta(days=3))  # a bar with no sample left: no sources

    grouped = bar_sources(symbol_id=tsla, timeframe=timeframe, starts=starts)
    grouped = dict(sorted(grouped.items()))

    assert connection.vendor == "postgresql"
    assert grouped == _bar_sources_read(tsla, timeframe, starts)
    assert starts[-1] not in grouped
    assert list(grouped.values()) == EXPECTED[timeframe]


MANUAL, WORDPRESS, YAHOO = "manual", "wordpress", "yahoo"
EXPECTED = {  # bar by bar, oldest first
    "1Min": [[MANUAL, WORDPRESS], [MANUAL], [YAHOO], [WORDPRESS]],
    "5Min": [[MANUAL, WORDPRESS], [YAHOO], [WORDPRESS]],
    "15Min": [[MANUAL, WORDPRESS, YAHOO], [WORDPRESS]],
    "1Hour": [[MANUAL, WORDPRESS, YAHOO], [WORDPRESS]],
    "1Day": [[MANUAL, WORDPRESS, YAHOO]],
}
