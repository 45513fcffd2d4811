import datetime as dt
from decimal import Decimal
from io import StringIO

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from market.models import Bar, PriceSample
from market.selectors import bar_list
from market.synthetic import synthetic_bars, synthetic_samples, synthetic_sessions

SYMBOLS = ["TSLA", "SPY"]
# Thanksgiving week 2025: Thursday 27 closed, Friday 28 closes at 13:00 New York; Christmas Eve closes early too.
START, END = dt.date(2025, 11, 24), dt.date(2025, 12, 31)


@pytest.fixture(scope="module")
def xnys():
    return xcals.get_calendar("XNYS", start="2025-01-01", end="2026-12-31")


@pytest.fixture(scope="module")
def generated():
    return synthetic_samples(symbols=SYMBOLS, start=START, end=END, seed=7, step_minutes=1)


def utc(stamps) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.asarray(stamps, dtype="datetime64[s]")).tz_localize("UTC")


def test_every_sample_and_bar_is_inside_a_session(generated, xnys):
    for samples in generated.values():
        minutes = utc(samples.timestamps)
        assert minutes.isin(xnys.minutes).all()
        sessions = xnys.schedule.loc[str(START) : str(END)]
        by_day = pd.Series(minutes).groupby(minutes.tz_convert("America/New_York").date)
        assert [str(d) for d in by_day.groups] == [str(d.date()) for d in sessions.index]
        for day, group in by_day:
            session = sessions.loc[str(day)]
            assert group.min() == session["open"]
            assert group.max() == session["close"] - pd.Timedelta(minutes=1)
        for timeframe, size in (("5Min", 5), ("15Min", 15), ("1Hour", 60)):
            bars = synthetic_bars(samples, timeframe=timeframe)
            for start in utc(bars.timestamps):
                session = sessions.loc[str(start.tz_convert("America/New_York").date())]
                end = start + pd.Timedelta(minutes=size)
                if size < 60:  # 5- and 15-minute buckets tile the session exactly
                    assert session["open"] <= start and end <= session["close"]
                else:  # hours are aligned on the clock: 14:00-15:00 UTC holds 14:30-14:59
                    assert session["open"] < end and start < session["close"]


def test_early_closes_end_early_and_holidays_are_empty(generated):
    days = generated["TSLA"].day.astype(str)
    stamps = generated["TSLA"].timestamps
    last = {d: str(stamps[days == d].max()) for d in ("2025-11-26", "2025-11-28", "2025-12-24", "2025-12-26")}
    assert last == {
        "2025-11-26": "2025-11-26T20:59:00",
        "2025-11-28": "2025-11-28T17:59:00",
        "2025-12-24": "2025-12-24T17:59:00",
        "2025-12-26": "2025-12-26T20:59:00",
    }
    for holiday in ("2025-11-27", "2025-12-25", "2025-11-29", "2025-11-30"):
        assert holiday not in set(days)
        local = utc(stamps).tz_convert("America/New_York").date.astype(str)
        assert holiday not in set(local)
    per_day = {d: int((days == d).sum()) for d in ("2025-11-26", "2025-11-28")}
    assert per_day == {"2025-11-26": 390, "2025-11-28": 210}


def test_sessions_follow_daylight_saving():
    sessions = synthetic_sessions(start=dt.date(2025, 3, 7), end=dt.date(2025, 3, 10))
    assert sessions.opens.astype(str).tolist() == ["2025-03-07T14:30:00", "2025-03-10T13:30:00"]
    assert sessions.closes.astype(str).tolist() == ["2025-03-07T21:00:00", "2025-03-10T20:00:00"]


def test_same_seed_same_data_and_another_seed_other_data(generated):
    again = synthetic_samples(symbols=SYMBOLS, start=START, end=END, seed=7, step_minutes=1)
    for symbol in SYMBOLS:
        assert np.array_equal(again[symbol].price, generated[symbol].price)
        assert np.array_equal(again[symbol].volume, generated[symbol].volume)
        assert np.array_equal(again[symbol].timestamps, generated[symbol].timestamps)
    alone = synthetic_samples(symbols=["SPY"], start=START, end=END, seed=7, step_minutes=1)
    assert np.array_equal(alone["SPY"].price, generated["SPY"].price)
    other = synthetic_samples(symbols=SYMBOLS, start=START, end=END, seed=8, step_minutes=1)
    assert not np.array_equal(other["TSLA"].price, generated["TSLA"].price)
    assert not np.array_equal(generated["SPY"].price / 600, generated["TSLA"].price / 250)


def test_prices_positive_with_four_decimals_and_a_real_walk(generated):
    for samples in generated.values():
        assert (samples.price > 0).all()
        assert np.array_equal(np.round(samples.price, 4), samples.price)
        returns = np.diff(np.log(samples.price))
        assert 0.0003 < returns.std() < 0.003
        assert (np.diff(samples.price) != 0).mean() > 0.9
    assert generated["TSLA"].price[0] == 250.0 and generated["SPY"].price[0] == 600.0


def test_volume_is_cumulative_within_each_session(generated):
    samples = generated["TSLA"]
    new_day = np.concatenate(([True], samples.day[1:] != samples.day[:-1]))
    rises = np.diff(samples.volume)
    assert (rises[~new_day[1:]] > 0).all()
    assert (samples.volume[new_day] < samples.volume[np.roll(new_day, -1)]).all()


def test_bars_roll_up_the_samples():
    samples = synthetic_samples(symbols=["TSLA"], start=dt.date(2025, 12, 1), end=dt.date(2025, 12, 2), seed=1)
    one = synthetic_samples(symbols=["TSLA"], start=dt.date(2025, 12, 1), end=dt.date(2025, 12, 2), seed=1)["TSLA"]
    bars = synthetic_bars(samples["TSLA"], timeframe="15Min")
    assert len(bars) == 2 * 26
    price = one.price
    assert bars.open[0] == price[0] and bars.close[0] == price[2]
    assert bars.high[0] == price[:3].max() and bars.low[0] == price[:3].min()
    assert bars.volume[0] == one.volume[2] and bars.volume[1] == one.volume[5] - one.volume[2]
    assert bars.volume[26] == one.volume[80]
    days = synthetic_bars(samples["TSLA"], timeframe="1Day")
    assert days.timestamps.astype(str).tolist() == ["2025-12-01T05:00:00", "2025-12-02T05:00:00"]
    assert days.close.tolist() == [price[77], price[-1]]
    with pytest.raises(ValueError, match="timeframe must be one of"):
        synthetic_bars(samples["TSLA"], timeframe="2Min")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"step_minutes": 2}, "step_minutes must be one of"),
        ({"annual_volatility": 0.0}, "annual_volatility must be"),
        ({"end": dt.date(2025, 11, 1)}, "is before start"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = {"symbols": ["TSLA"], "start": START, "end": END, "seed": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        synthetic_samples(**args)


def run(*args) -> str:
    out = StringIO()
    call_command("load_synthetic", *args, stdout=out)
    return out.getvalue()


def test_load_synthetic_stores_through_the_ingestion_service(db, symbols):
    output = run("--symbols", "tsla,SPY", "--start", "2025-11-26", "--end", "2025-12-01", "--seed", "3")
    assert output.strip() == (
        "TSLA, SPY: 3 sessions from 2025-11-26 to 2025-12-01, seed 3, every 5 min; stored 396, updated 0, unchanged 0"
    )
    assert PriceSample.objects.filter(source=PriceSample.Source.MANUAL).count() == 396
    expected = synthetic_samples(symbols=["TSLA"], start=dt.date(2025, 11, 26), end=dt.date(2025, 12, 1), seed=3)
    stored = list(PriceSample.objects.filter(symbol=symbols["TSLA"]).order_by("timestamp"))
    assert [s.price for s in stored] == [Decimal(f"{p:.4f}") for p in expected["TSLA"].price]
    assert [s.volume for s in stored] == expected["TSLA"].volume.tolist()
    assert stored[-1].timestamp == dt.datetime(2025, 12, 1, 20, 55, tzinfo=dt.UTC)

    page = bar_list(symbol=symbols["TSLA"], timeframe="5Min", limit=1000)
    rolled = synthetic_bars(expected["TSLA"], timeframe="5Min")
    assert [b.timestamp for b in page.bars] == [
        dt.datetime.fromtimestamp(int(t), tz=dt.UTC) for t in rolled.timestamps.astype(int)
    ]
    for column in ("open", "high", "low", "close"):
        assert [float(getattr(b, column)) for b in page.bars] == getattr(rolled, column).tolist()
    assert [b.volume for b in page.bars][1:] == rolled.volume[1:].astype(int).tolist()
    assert Bar.objects.filter(symbol=symbols["TSLA"], timeframe="1Day").count() == 3

    again = run("--symbols", "TSLA,SPY", "--start", "2025-11-26", "--end", "2025-12-01", "--seed", "3")
    assert again.strip().endswith("stored 0, updated 0, unchanged 396")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbols", "TSLA,ZZZ", "--start", "2025-12-01", "--end", "2025-12-01"], "Unknown symbol(s) ZZZ"),
        (["--start", "2025-12-02", "--end", "2025-12-01"], "--end 2025-12-01 is before --start 2025-12-02"),
        (["--start", "yesterday", "--end", "2025-12-01"], "'yesterday' is not a date"),
        (["--start", "2000-01-01", "--end", "2025-12-01"], "At most 3660 days"),
        (["--symbols", " , ", "--start", "2025-12-01", "--end", "2025-12-01"], "Give at least one symbol"),
    ],
)
def test_load_synthetic_bad_input_stores_nothing(db, args, message):
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert message in str(caught.value)
    assert PriceSample.objects.count() == 0


def test_synthetic_history_closes_bars_as_not_live(db, heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run("--symbols", "TSLA", "--start", "2025-11-26", "--end", "2025-11-28", "--seed", "3")
    closed = [e for e in heard if e["type"] == "bar_closed"]
    assert closed and {e["live"] for e in closed} == {False}
    days = [(e["start"], e["end"]) for e in closed if e["timeframe"] == "1Day"]
    # Thanksgiving (11-27) has no session; the 28th (early close) has no sample at or after its end yet.
    assert days == [(dt.datetime(2025, 11, 26, 5, 0, tzinfo=dt.UTC), dt.datetime(2025, 11, 26, 21, 0, tzinfo=dt.UTC))]
