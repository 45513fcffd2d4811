from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from market.models import PriceSample


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
