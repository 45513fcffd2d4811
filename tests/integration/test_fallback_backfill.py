"""`backfill_wordpress --source alpaca`: history from a fallback for a window WordPress lacks, resumable."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from integration.models import BackfillWindow
from market.models import PriceSample

pytestmark = pytest.mark.django_db
DAY = dt.datetime(2025, 12, 16, tzinfo=dt.UTC)


def test_backfill_from_alpaca_is_history_and_resumable(market_data, market_open):
    out = StringIO()
    call_command(
        "backfill_wordpress", days=1, symbol=["tsla"], window_days=1, source="alpaca", no_progress=True, stdout=out
    )

    rows = list(PriceSample.objects.order_by("timestamp").values_list("timestamp", "price", "source"))
    assert rows == [
        (DAY.replace(hour=15, minute=27), Decimal("475.1000"), "alpaca"),
        (DAY.replace(hour=15, minute=28), Decimal("475.2000"), "alpaca"),
        (DAY.replace(hour=15, minute=29), Decimal("475.3300"), "alpaca"),
    ]
    paths = [p for p in market_data.seen if p.startswith("/v2/stocks/bars?")]
    assert len(paths) == 2 and all("feed=iex" in p and "timeframe=1Min" in p for p in paths)  # two day windows
    done = list(BackfillWindow.objects.values_list("start", "source"))
    assert done == [(DAY - dt.timedelta(days=1), "alpaca")]  # the window holding "now" is never complete

    call_command(
        "backfill_wordpress", days=1, symbol=["TSLA"], window_days=1, source="alpaca", no_progress=True, stdout=out
    )
    assert "1 window(s) already done" in out.getvalue()
    assert PriceSample.objects.count() == 3


def test_a_rate_limited_fallback_stops_the_backfill_and_stores_nothing(market_data, market_open):
    market_data.answer("/v2/stocks/bars", 429, "alpaca/error_429.json")
    with pytest.raises(CommandError, match="rate_limited"):
        call_command(
            "backfill_wordpress", days=1, symbol=["TSLA"], source="alpaca", no_progress=True, stdout=StringIO()
        )
    assert PriceSample.objects.count() == 0 and BackfillWindow.objects.count() == 0


def test_an_unknown_source_is_refused(market_data):
    with pytest.raises(CommandError, match=r"unknown_source: --source .alphavantage.: one of wordpress, alpaca, yahoo"):
        call_command("backfill_wordpress", days=1, source="alphavantage", stdout=StringIO())
    assert market_data.seen == []
