import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from market.models import PriceSample
from tests.conftest import MARKET_OPEN_AT
from trading.models import Order
from trading.order_request import OrderRequest
from trading.services import order_place


def run(tmp_path, text):
    path = tmp_path / "prices.csv"
    path.write_text(text)
    out = StringIO()
    call_command("load_prices", str(path), stdout=out)
    return out.getvalue()


def test_loads_good_rows_and_reports_skipped_ones(tmp_path, db):
    output = run(
        tmp_path,
        "\n".join(
            [
                "symbol,timestamp,price,volume",
                "TSLA,2025-12-16T15:00:00Z,250.5,1000",
                "tsla,2025-12-16 15:01:00,251,",
                "NVDA,2025-12-16T10:02:00-05:00,140.25,5000",
                "ZZZ,2025-12-16T15:00:00Z,1,1",
                "TSLA,yesterday,1,1",
                "TSLA,2025-12-16T15:03:00Z,-3,1",
                "TSLA,2025-12-16T15:04:00Z,NaN,1",
                "TSLA,2025-12-16T15:05:00Z,abc,1",
                "TSLA,2025-12-16T15:06:00Z,250,-1",
            ]
        )
        + "\n",
    )
    assert "stored 3, updated 0, unchanged 0, skipped 6" in output
    assert "unknown symbol 'ZZZ'" in output
    assert "unparseable timestamp 'yesterday'" in output
    assert PriceSample.objects.count() == 3
    nvda = PriceSample.objects.get(symbol__ticker="NVDA")
    assert nvda.timestamp.isoformat() == "2025-12-16T15:02:00+00:00"

    again = run(tmp_path, "symbol,timestamp,price,volume\nTSLA,2025-12-16T15:00:00Z,250.5,1000\n")
    assert "stored 0, updated 0, unchanged 1" in again


def test_missing_columns_and_missing_file(tmp_path, db):
    with pytest.raises(CommandError, match="lacks the column"):
        run(tmp_path, "ticker,when\nTSLA,now\n")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("load_prices", str(tmp_path / "absent.csv"))


def test_loading_prices_fills_resting_orders_and_announces_like_the_poller(
    tmp_path, db, market_open, heard, django_capture_on_commit_callbacks
):
    market_open.move_to(MARKET_OPEN_AT - dt.timedelta(minutes=10))
    order, _ = order_place(
        request=OrderRequest(ticker="TSLA", side="buy", qty=Decimal("2"), type="limit", limit_price=Decimal("300")),
        placed_by="test",
    )
    assert order.status == Order.Status.ACCEPTED  # no price yet: it rests
    market_open.move_to(MARKET_OPEN_AT)
    csv = "symbol,timestamp,price,volume\nTSLA,2025-12-16T15:28:00Z,250,1000\nTSLA,2025-12-16T15:29:00Z,251,1200\n"
    with django_capture_on_commit_callbacks(execute=True):
        output = run(tmp_path, csv)

    assert "stored 2, updated 0, unchanged 0, skipped 0; resting orders filled: 1" in output
    order.refresh_from_db()
    assert order.status == Order.Status.FILLED
    assert order.fills.get().price == Decimal("250.0000")  # the first price after placement that crosses
    types = [e["type"] for e in heard]
    assert types == ["bar_closed", "order_filled", "prices_stored"]  # in commit order
    assert heard[-1] == {"type": "prices_stored", "symbols": ["TSLA"], "source": "csv"}
    bar = heard[0]
    assert (bar["timeframe"], bar["start"], bar["close"], bar["live"]) == (
        "1Min",
        dt.datetime(2025, 12, 16, 15, 28, tzinfo=dt.UTC),
        Decimal("250"),
        True,
    )


def test_history_loaded_from_a_file_is_not_live(tmp_path, db, heard, django_capture_on_commit_callbacks):
    csv = "symbol,timestamp,price\nSPY,2025-12-16T15:28:00Z,600\nSPY,2025-12-16T15:29:00Z,601\n"
    path = tmp_path / "history.csv"
    path.write_text(csv)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_prices", str(path), "--history", stdout=StringIO())
    assert [(e["type"], e.get("live")) for e in heard] == [("bar_closed", False), ("prices_stored", None)]
