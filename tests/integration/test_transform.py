"""Unit tests of integration.transform: pure functions, no database, no network."""

import contextlib
import datetime as dt
import json
import logging
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from integration.transform import (
    FetchFailed,
    body_decode,
    history_rows,
    local_to_utc,
    rows_to_samples,
    stock_data_rows,
    utc_to_local,
    zone_from_index,
    zone_from_name,
)
from market.services import SampleIn

NEW_YORK = ZoneInfo("America/New_York")
IDS = {"TSLA": 1, "QQQ": 2, "SPY": 3, "NVDA": 4}


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def row(symbol="TSLA", price="250.5000", timestamp="2025-12-26 10:30:00", volume="80312345", **extra) -> dict:
    return {"id": "17", "symbol": symbol, "price": price, "timestamp": timestamp, "volume": volume, **extra}


def test_numbers_as_strings_and_json_numbers_in_one_response():
    body = {
        "stock_data": [
            row("TSLA", "250.5000", volume="80312345"),
            {"id": None, "symbol": "SPY", "price": 590.12, "timestamp": "2025-12-26 10:30:00", "volume": 1234567},
            {"id": None, "symbol": "NVDA", "price": 135, "timestamp": "2025-12-26 10:30:00", "volume": 99.0},
        ],
        "symbols": ["TSLA", "QQQ", "SPY", "NVDA"],
        "timestamp": "2025-12-26 10:31:02",
    }
    result = rows_to_samples(stock_data_rows(body), symbol_ids=IDS, zone=NEW_YORK)

    at = utc(2025, 12, 26, 15, 30)  # 10:30 EST = 15:30 UTC
    assert result.skipped == []
    assert result.samples == [
        SampleIn(1, at, Decimal("250.5000"), 80312345),
        SampleIn(3, at, Decimal("590.1200"), 1234567),
        SampleIn(4, at, Decimal("135.0000"), 99),
    ]
    assert all(isinstance(s.price, Decimal) for s in result.samples)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"id": "1", "price": "1.0", "timestamp": "2025-12-26 10:30:00"}, "missing_symbol"),
        (row(symbol=""), "missing_symbol"),
        (row(symbol=None), "missing_symbol"),
        (row(symbol="AAPL"), "unknown_symbol"),
        (row(price="NaN"), "bad_price"),
        (row(price="Infinity"), "bad_price"),
        (row(price="-3.5"), "bad_price"),
        (row(price="0.0000"), "bad_price"),
        (row(price=0), "bad_price"),
        (row(price="abc"), "bad_price"),
        (row(price=None), "bad_price"),
        (row(price=True), "bad_price"),
        (row(price="0.00001"), "bad_price"),  # rounds to zero at 4 places
        (row(timestamp="0000-00-00 00:00:00"), "bad_timestamp"),
        (row(timestamp="yesterday"), "bad_timestamp"),
        (row(timestamp=""), "bad_timestamp"),
        (row(timestamp=None), "bad_timestamp"),
        (row(timestamp="2025-02-30 10:00:00"), "bad_timestamp"),
        (row(timestamp="2025-03-09 02:30:00"), "bad_timestamp"),  # skipped by the spring-forward in New York
        (row(volume="-5"), "bad_volume"),
        (row(volume="12.5"), "bad_volume"),
        (row(volume="lots"), "bad_volume"),
        ("not an object", "not_an_object"),
        (None, "not_an_object"),
    ],
)
def test_every_bad_row_kind_is_skipped_with_its_reason_and_good_rows_kept(bad, reason):
    good = row("QQQ", "480.2500", "2025-12-26 10:35:00", "1000")
    result = rows_to_samples([good, bad, good | {"timestamp": "2025-12-26 10:40:00"}], symbol_ids=IDS, zone=NEW_YORK)

    assert [s.reason for s in result.skipped] == [reason]
    assert result.skipped[0].index == 1
    assert result.reasons == {reason: 1}
    assert [s.timestamp for s in result.samples] == [utc(2025, 12, 26, 15, 35), utc(2025, 12, 26, 15, 40)]


def test_duplicates_are_skipped_and_the_first_kept():
    rows = [row(price="250.0000"), row(price="251.0000"), row(symbol="tsla", price="252.0000")]
    result = rows_to_samples(rows, symbol_ids=IDS, zone=NEW_YORK)

    assert [s.price for s in result.samples] == [Decimal("250.0000")]
    assert result.reasons == {"duplicate": 2}


def test_duplicates_are_warned_once_with_their_count(caplog):
    rows = [row(price="250.0000"), row(price="251.0000"), row(price="252.0000"), row(price="x")]
    with caplog.at_level(logging.WARNING, logger="integration.transform"):
        result = rows_to_samples(rows, symbol_ids=IDS, zone=NEW_YORK)

    assert result.reasons == {"duplicate": 2, "bad_price": 1}
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages  # the bad row on its own, the two duplicates together
    assert messages[0].startswith("skipped WordPress row 3 (bad_price)")
    assert messages[1].startswith("skipped 2 duplicate WordPress row(s) (TSLA 2), the first stored kept: TSLA")


def test_history_rows_for_another_symbol_are_refused():
    rows = [row("TSLA"), row("QQQ")]
    result = rows_to_samples(rows, symbol_ids=IDS, zone=NEW_YORK, symbol="TSLA")
    assert [s.symbol_id for s in result.samples] == [1]
    assert result.reasons == {"unknown_symbol": 1}


def test_prices_are_rounded_to_the_store_precision():
    result = rows_to_samples([row(price=250.123456)], symbol_ids=IDS, zone=NEW_YORK)
    assert result.samples[0].price == Decimal("250.1235")


def test_spring_forward_in_the_site_zone():
    rows = [row(timestamp="2025-03-09 01:55:00"), row(timestamp="2025-03-09 03:00:00")]
    result = rows_to_samples(rows, symbol_ids=IDS, zone=NEW_YORK)
    # 01:55 EST (-5) and 03:00 EDT (-4) are five minutes apart.
    assert [s.timestamp for s in result.samples] == [utc(2025, 3, 9, 6, 55), utc(2025, 3, 9, 7, 0)]


def test_fall_back_in_the_site_zone():
    rows = [row(timestamp=t) for t in ("2025-11-02 00:55:00", "2025-11-02 01:30:00", "2025-11-02 02:00:00")]
    result = rows_to_samples(rows, symbol_ids=IDS, zone=NEW_YORK)
    # 00:55 EDT, 01:30 is ambiguous (first occurrence, EDT), 02:00 EST.
    assert [s.timestamp for s in result.samples] == [
        utc(2025, 11, 2, 4, 55),
        utc(2025, 11, 2, 5, 30),
        utc(2025, 11, 2, 7, 0),
    ]


class HalfPastNoonShift(dt.tzinfo):
    """UTC, then UTC-1 from 12:30 wall time on 2025-06-01: a change of offset inside an hour."""

    def utcoffset(self, at: dt.datetime | None) -> dt.timedelta:
        shifted = at is not None and at.replace(tzinfo=None) >= dt.datetime(2025, 6, 1, 12, 30)
        return dt.timedelta(hours=-1 if shifted else 0)

    def dst(self, at: dt.datetime | None) -> dt.timedelta | None:
        return None

    def tzname(self, at: dt.datetime | None) -> str:
        return "SHIFT"


@pytest.mark.parametrize(
    "zone, day",
    [
        (HalfPastNoonShift(), dt.date(2025, 6, 1)),
        ("America/New_York", dt.date(2025, 3, 9)),
        ("America/New_York", dt.date(2025, 11, 2)),
        ("Australia/Lord_Howe", dt.date(2025, 4, 6)),  # a 30-minute change at 02:00
        ("Australia/Lord_Howe", dt.date(2025, 10, 5)),
        ("Pacific/Apia", dt.date(2011, 12, 30)),  # a whole day skipped
    ],
)
def test_a_window_converts_every_stamp_as_local_to_utc_does_one_by_one(zone, day):
    """A window works out one offset per wall-clock hour; across a change of offset or a gap it must agree,
    stamp by stamp, with `local_to_utc` (the hours of a change go row by row)."""
    site = ZoneInfo(zone) if isinstance(zone, str) else zone
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time())
    stamps = [start + dt.timedelta(minutes=5 * i) for i in range(3 * 288)]
    expected = {}
    for naive in stamps:
        with contextlib.suppress(ValueError):  # a wall time of a gap: skipped as a bad timestamp
            expected[naive] = local_to_utc(naive, site)
    rows = [row(timestamp=naive.isoformat(sep=" ")) for naive in stamps]
    result = rows_to_samples(rows, symbol_ids=IDS, zone=site)
    got = [s.timestamp for s in result.samples]
    assert got == list(expected.values()) and all(at.tzinfo is dt.UTC for at in got)
    assert [r.reason for r in result.skipped] == ["bad_timestamp"] * (len(stamps) - len(expected))


def test_a_zone_east_of_utc_and_a_fixed_offset():
    tokyo = rows_to_samples([row(timestamp="2025-12-27 00:30:00")], symbol_ids=IDS, zone=ZoneInfo("Asia/Tokyo"))
    assert tokyo.samples[0].timestamp == utc(2025, 12, 26, 15, 30)
    fixed = rows_to_samples([row(timestamp="2025-07-01 12:00:00")], symbol_ids=IDS, zone=zone_from_name("-5"))
    assert fixed.samples[0].timestamp == utc(2025, 7, 1, 17, 0)  # a gmt_offset has no DST


def test_cumulative_day_volume_is_kept_as_is_across_midnight():
    """The site sends the day's running total; it drops at the site's midnight. The transform keeps the
    totals (differences are taken later, within one day)."""
    rows = [
        row(timestamp="2025-12-15 23:50:00", volume="90000000"),
        row(timestamp="2025-12-15 23:55:00", volume="90001000"),
        row(timestamp="2025-12-16 00:00:00", volume="0"),
        row(timestamp="2025-12-16 00:05:00", volume="700"),
    ]
    samples = rows_to_samples(rows, symbol_ids=IDS, zone=NEW_YORK).samples
    assert [s.volume for s in samples] == [90000000, 90001000, 0, 700]
    assert samples[2].timestamp == utc(2025, 12, 16, 5, 0)  # New York midnight


def test_zone_from_the_rest_index():
    assert zone_from_index({"timezone_string": "Europe/Berlin", "gmt_offset": 1}) == ZoneInfo("Europe/Berlin")
    assert zone_from_index({"timezone_string": "", "gmt_offset": "5.5"}) == dt.timezone(dt.timedelta(hours=5.5))
    assert zone_from_index({"timezone_string": "", "gmt_offset": -4}) == dt.timezone(dt.timedelta(hours=-4))
    with pytest.raises(FetchFailed) as failed:
        zone_from_index({"timezone_string": "", "gmt_offset": None})
    assert failed.value.code == "timezone_unknown"


def test_local_dates_for_the_site_round_trip():
    at = utc(2025, 7, 1, 3, 59, 59)
    assert utc_to_local(at, NEW_YORK) == "2025-06-30 23:59:59"
    assert local_to_utc(dt.datetime(2025, 6, 30, 23, 59, 59), NEW_YORK) == at


# --- bodies ----------------------------------------------------------------------------------------------


def test_body_decode_accepts_json():
    assert body_decode(status=200, content=b'{"stock_data": []}') == {"stock_data": []}


def test_body_decode_html_critical_error_page():
    page = b"<html><body><p>There has been a critical error on this website.</p></body></html>"
    with pytest.raises(FetchFailed) as failed:
        body_decode(status=500, content=page)
    assert (failed.value.code, failed.value.status, failed.value.site_down) == ("critical_error", 500, True)
    assert "critical error on this website" in failed.value.message


def test_body_decode_non_json():
    with pytest.raises(FetchFailed) as failed:
        body_decode(status=200, content=b"<br /><b>Warning</b>: something")
    assert (failed.value.code, failed.value.site_down) == ("non_json", True)


def test_body_decode_wp_error_keeps_code_and_message():
    error = {"code": "invalid_symbol", "message": "Invalid symbol: AAPL", "data": {"status": 400}}
    with pytest.raises(FetchFailed) as failed:
        body_decode(status=400, content=json.dumps(error))
    assert failed.value.as_dict() == {"code": "invalid_symbol", "message": "Invalid symbol: AAPL", "status": 400}
    assert failed.value.site_down is False


def test_body_decode_rest_no_route():
    error = {"code": "rest_no_route", "message": "No route was found", "data": {"status": 404}}
    with pytest.raises(FetchFailed) as failed:
        body_decode(status=404, content=json.dumps(error))
    assert (failed.value.code, failed.value.status) == ("rest_no_route", 404)


@pytest.mark.parametrize("body", [[], {"items": []}, {"stock_data": "nope"}, "text", 3])
def test_wrong_shapes_are_failed_fetches(body):
    with pytest.raises(FetchFailed) as failed:
        stock_data_rows(body)
    assert failed.value.code == "bad_shape"
    with pytest.raises(FetchFailed):
        history_rows(body)
