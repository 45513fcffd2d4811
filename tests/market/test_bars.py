import datetime as dt
from decimal import Decimal

from market.models import Bar, PriceSample
from market.services import SampleIn, sample_upsert_many

T0 = dt.datetime(2025, 12, 16, 15, 0, tzinfo=dt.UTC)  # 10:00 New York


def store(symbols, rows, ticker="TSLA"):
    samples = [SampleIn(symbols[ticker].pk, T0 + dt.timedelta(seconds=s), Decimal(p), v) for s, p, v in rows]
    return sample_upsert_many(samples=samples, source=PriceSample.Source.MANUAL)


def bars(api, query):
    response = api.get(f"/api/market_data/TSLA?{query}")
    assert response.status_code == 200, response.content
    return response.json()["data"]


def test_bars_are_first_max_min_last_with_volume_rises(api, symbols, market_open):
    store(
        symbols,
        [
            (0, "100", 1000),
            (60, "103", 1500),
            (120, "99", 1600),
            (299, "101", 2000),  # 15:00-15:05
            (300, "102", 2600),
            (599, "104", 3000),  # 15:05-15:10
        ],
    )
    data = bars(api, "timeframe=5Min")
    assert data == [
        {
            "timestamp": "2025-12-16T15:00:00Z",
            "open": 100.0,
            "high": 103.0,
            "low": 99.0,
            "close": 101.0,
            "volume": None,
            "sources": ["manual"],
        },  # nothing earlier that day is stored: the rise inside this bar is unknown
        {
            "timestamp": "2025-12-16T15:05:00Z",
            "open": 102.0,
            "high": 104.0,
            "low": 102.0,
            "close": 104.0,
            "volume": 1000,
            "sources": ["manual"],
        },
    ]
    assert bars(api, "timeframe=1Day") == [
        {
            "timestamp": "2025-12-16T05:00:00Z",
            "open": 100.0,
            "high": 104.0,
            "low": 99.0,
            "close": 104.0,
            "volume": 3000,
            "sources": ["manual"],
        },
    ]


def test_samples_arriving_out_of_order_give_the_same_bars(api, symbols, market_open):
    store(symbols, [(299, "101", 2000), (0, "100", 1000)])
    store(symbols, [(120, "99", 1600), (60, "103", 1500)])
    bar = bars(api, "timeframe=5Min")[0]
    assert (bar["open"], bar["high"], bar["low"], bar["close"]) == (100.0, 103.0, 99.0, 101.0)


def test_the_same_data_twice_is_stored_once(symbols, market_open):
    first = store(symbols, [(0, "100", 1000), (60, "101", 1100)])
    again = store(symbols, [(0, "100", 1000), (60, "101", 1100)])
    assert (first.stored, first.unchanged, again.stored, again.unchanged) == (2, 0, 0, 2)
    assert PriceSample.objects.count() == 2


def test_a_changed_sample_updates_in_place_and_rebuilds_its_bars(api, symbols, market_open):
    store(symbols, [(0, "100", 1000), (60, "110", 1100), (120, "101", 1200)])
    result = store(symbols, [(60, "102", 1100)])  # the site corrected a spike
    assert (result.stored, result.updated) == (0, 1)
    assert PriceSample.objects.count() == 3
    for timeframe in ("1Min", "5Min", "1Day"):
        assert max(b["high"] for b in bars(api, f"timeframe={timeframe}")) == 102.0


def test_volume_resets_on_a_new_exchange_day(api, symbols, market_open):
    late = dt.datetime(2025, 12, 16, 20, 55, tzinfo=dt.UTC)  # 15:55 New York
    next_day = dt.datetime(2025, 12, 17, 14, 35, tzinfo=dt.UTC)
    samples = [
        SampleIn(symbols["TSLA"].pk, late, Decimal("100"), 90_000),
        SampleIn(symbols["TSLA"].pk, late + dt.timedelta(minutes=4), Decimal("100"), 95_000),
        SampleIn(symbols["TSLA"].pk, next_day, Decimal("101"), 4_000),
    ]
    sample_upsert_many(samples=samples, source="manual")
    data = bars(api, "timeframe=1Min&end=2025-12-18T00:00:00Z")
    assert [b["volume"] for b in data] == [None, 5_000, 4_000]
    assert [b["volume"] for b in bars(api, "timeframe=1Day&end=2025-12-18T00:00:00Z")] == [95_000, 4_000]


def test_limit_start_and_end(api, symbols, market_open):
    store(symbols, [(60 * i, str(100 + i), 1000 + i) for i in range(10)])
    newest = bars(api, "timeframe=1Min&limit=3")
    assert [b["timestamp"][11:16] for b in newest] == ["15:07", "15:08", "15:09"]
    assert [b["volume"] for b in newest] == [1, 1, 1]
    window = bars(api, "timeframe=1Min&limit=2&start=2025-12-16T15:03:00Z")
    assert [b["timestamp"][11:16] for b in window] == ["15:03", "15:04"]
    assert window[0]["volume"] == 1
    before = bars(api, "timeframe=1Min&end=2025-12-16T15:02:00%2B00:00")
    assert [b["timestamp"][11:16] for b in before] == ["15:00", "15:01"]
    assert Bar.objects.filter(timeframe="1Min").count() == 10


def test_as_of_and_stale(api, symbols, market_open, time_machine):
    store(symbols, [(0, "100", None)])  # 30 minutes before the frozen "now"
    body = api.get("/api/market_data/TSLA?timeframe=1Hour").json()
    assert body["as_of"] == "2025-12-16T15:00:00Z"
    assert body["stale"] is True
    assert body["data"][0]["volume"] is None


def test_bad_market_data_queries(api, symbols):
    def error(query, status=400):
        response = api.get(f"/api/market_data/{query}")
        assert response.status_code == status, response.content
        return response.json()

    assert "1Min, 5Min, 15Min, 1Hour, 1Day" in error("TSLA?timeframe=2Min")["message"]
    assert error("TSLA?limit=0")["code"] == "invalid_limit"
    assert error("TSLA?limit=10001")["code"] == "invalid_limit"
    assert error("TSLA?limit=abc")["code"] == "invalid_limit"
    assert error("TSLA?start=not-a-date")["code"] == "invalid_start"
    assert error("TSLA?start=2025-12-17T00:00:00Z&end=2025-12-16T00:00:00Z")["code"] == "invalid_range"
    assert error("NOPE", 404)["code"] == "unknown_symbol"


def test_market_data_memo_serves_repeats_and_sees_new_samples(
    api, symbols, market_open, settings, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    from tradingrobot.snapshot_cache import memo_clear

    settings.STATUS_CACHE_SECONDS = 60
    memo_clear()
    store(symbols, [(0, "100", 1000)])
    first = api.get("/api/market_data/TSLA?timeframe=5Min").json()
    with django_assert_max_num_queries(1):  # the credential check only: the page comes from the memo
        assert api.get("/api/market_data/TSLA?timeframe=5Min").json() == first
    with django_capture_on_commit_callbacks(execute=True):
        store(symbols, [(60, "107", 1500)])
    assert api.get("/api/market_data/TSLA?timeframe=5Min").json()["data"][0]["high"] == 107.0
    memo_clear()
