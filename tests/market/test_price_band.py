"""Issue 13 item 23: the price sanity band (market/price_band.py). A sample more than PRICE_BAND_PERCENT from the last
accepted one is stored quarantined: no fill, no bar, no bar_closed, no price in the API, until the next sample decides
(near it: both accepted; near the old price: it stays out). A metric counts each verdict, the robot's own alert
and the shipped Prometheus rule (tests/ops/test_alert_rules.py) tell operators, the admin filters on it."""

import datetime as dt
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from market.models import Bar, PriceSample
from market.selectors import price_latest
from market.services import SampleIn, sample_upsert_many
from trading.models import Order
from trading.prices import prices_arrived

from ..conftest import MARKET_OPEN_AT

pytestmark = pytest.mark.django_db
T0 = MARKET_OPEN_AT - dt.timedelta(minutes=10)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def store(symbols, django_capture_on_commit_callbacks, settings):
    settings.PRICE_BAND_PERCENT = 20.0

    def store(at: dt.datetime, price: str, *, ticker: str = "TSLA"):
        with django_capture_on_commit_callbacks(execute=True):
            result = sample_upsert_many(
                samples=[SampleIn(symbols[ticker].pk, at, Decimal(price), None)], source=PriceSample.Source.MANUAL
            )
            prices_arrived(symbol_ids=result.symbol_ids)
        return result

    return store


def flags(ticker: str = "TSLA") -> list[tuple[str, bool]]:
    rows = PriceSample.objects.filter(symbol__ticker=ticker).order_by("timestamp")
    return [(str(price), flagged) for price, flagged in rows.values_list("price", "quarantined")]


def quarantine_metric(ticker: str, verdict: str) -> float:
    labels = {"symbol": ticker, "verdict": verdict}
    return REGISTRY.get_sample_value("tradingrobot_price_quarantine_total", labels) or 0.0


def bar_highs(ticker: str = "TSLA", timeframe: str = "1Min") -> list[str]:
    bars = Bar.objects.filter(symbol__ticker=ticker, timeframe=timeframe).order_by("start")
    return [str(b.high) for b in bars]


def closed(heard: list[dict]) -> list[tuple]:
    bars = [(e["timeframe"], e["start"]) for e in heard if e["type"] == "bar_closed" and e["timeframe"] == "1Min"]
    heard.clear()
    return bars


def test_a_spike_is_quarantined_then_left_out_when_the_next_sample_is_near_the_old_price(store, heard, symbols):
    before = quarantine_metric("TSLA", "quarantined")
    store(T0, "250.0000")
    store(T0 + MINUTE, "252.0000")
    heard.clear()
    result = store(T0 + 2 * MINUTE, "400.0000")  # +58.7%
    assert result.quarantined == 1 and result.stored == 0
    assert flags() == [("250.0000", False), ("252.0000", False), ("400.0000", True)]
    assert price_latest(symbol_id=symbols["TSLA"].pk).price == Decimal("252.0000")
    assert bar_highs() == ["250.0000", "252.0000"]  # no bar holds it
    assert closed(heard) == []  # nor did it close the 252 bar
    assert not [e for e in heard if e["type"] == "prices_stored"]
    assert quarantine_metric("TSLA", "quarantined") == before + 1

    store(T0 + 3 * MINUTE, "253.0000")  # near 252: the 400 was a bad tick
    assert flags()[-2:] == [("400.0000", True), ("253.0000", False)]
    assert bar_highs() == ["250.0000", "252.0000", "253.0000"]
    assert closed(heard) == [("1Min", T0 + MINUTE)]


def test_a_real_move_is_confirmed_by_the_next_sample_and_both_are_accepted(store, heard, symbols):
    before = quarantine_metric("NVDA", "confirmed")
    store(T0, "100.0000", ticker="NVDA")
    store(T0 + MINUTE, "130.0000", ticker="NVDA")  # +30%
    assert flags("NVDA") == [("100.0000", False), ("130.0000", True)]
    heard.clear()
    store(T0 + 2 * MINUTE, "131.0000", ticker="NVDA")  # within 20% of 130: the move was real
    assert flags("NVDA") == [("100.0000", False), ("130.0000", False), ("131.0000", False)]
    assert bar_highs("NVDA") == ["100.0000", "130.0000", "131.0000"]  # the confirmed sample's bar rebuilt
    assert price_latest(symbol_id=symbols["NVDA"].pk).price == Decimal("131.0000")
    assert closed(heard) == [("1Min", T0), ("1Min", T0 + MINUTE)]  # both bars close now, in order
    assert quarantine_metric("NVDA", "confirmed") == before + 1


def test_a_sample_far_from_both_is_quarantined_in_turn(store):
    store(T0, "100.0000")
    store(T0 + MINUTE, "150.0000")
    store(T0 + 2 * MINUTE, "60.0000")  # -40% from 100, -60% from 150
    assert flags() == [("100.0000", False), ("150.0000", True), ("60.0000", True)]
    store(T0 + 3 * MINUTE, "61.0000")  # confirms 60; 150 stays out
    assert flags() == [("100.0000", False), ("150.0000", True), ("60.0000", False), ("61.0000", False)]


def test_within_one_batch_the_next_sample_decides_too(symbols, settings, django_capture_on_commit_callbacks):
    settings.PRICE_BAND_PERCENT = 20.0
    tsla = symbols["TSLA"].pk
    batch = [
        SampleIn(tsla, T0 + i * MINUTE, Decimal(p), None) for i, p in enumerate(["100", "500", "101", "140", "141"])
    ]
    with django_capture_on_commit_callbacks(execute=True):
        result = sample_upsert_many(samples=batch, source=PriceSample.Source.MANUAL)
    assert result.quarantined == 1  # 500 stays out; 140 was confirmed by 141 in the same batch
    assert [q for _, q in flags()] == [False, True, False, False, False]
    assert bar_highs() == ["100.0000", "101.0000", "140.0000", "141.0000"]


def test_the_band_is_a_setting_and_zero_turns_it_off(store, settings):
    settings.PRICE_BAND_PERCENT = 50.0
    store(T0, "100.0000")
    store(T0 + MINUTE, "140.0000")  # +40%: inside a 50% band
    settings.PRICE_BAND_PERCENT = 0.0
    store(T0 + 2 * MINUTE, "1000.0000")
    assert [q for _, q in flags()] == [False, False, False]


def test_a_quarantined_price_never_fills_an_order(store, market_open, place, symbols):
    store(MARKET_OPEN_AT - 2 * MINUTE, "250.0000")
    sell = place(side="buy", qty="1")  # fills at once at 250 (plus slippage)
    assert sell.status == Order.Status.FILLED and sell.filled_avg_price < Decimal("260")
    resting = place(side="sell", qty="1", type="limit", limit_price="300")
    assert resting.status == Order.Status.ACCEPTED
    store(MARKET_OPEN_AT - MINUTE, "400.0000")  # quarantined: would cross the 300 limit
    market_buy = place(side="buy", qty="1")
    assert market_buy.filled_avg_price < Decimal("260")  # priced on 250, not on the quarantined 400
    resting.refresh_from_db()
    assert resting.status == Order.Status.ACCEPTED
    market_open.shift(60)
    store(MARKET_OPEN_AT + dt.timedelta(seconds=30), "399.0000")  # confirms the move: now the limit crosses
    resting.refresh_from_db()
    assert resting.status == Order.Status.FILLED


def test_backfilled_history_behind_the_live_edge_is_not_judged(store, symbols):
    store(T0, "100.0000")
    store(T0 + 5 * MINUTE, "101.0000")
    store(T0 + 2 * MINUTE, "300.0000")  # an older sample filling history: taken as it comes
    assert [q for _, q in flags()] == [False, False, False]


def test_operators_see_quarantined_samples(store, admin_client):
    from tradingrobot.ops.alerts import CONDITIONS

    store(T0, "100.0000")
    store(T0 + MINUTE, "200.0000")
    page = admin_client.get("/admin/market/pricesample/", {"quarantined__exact": "1"})
    assert page.status_code == 200
    rows = page.context["cl"].result_list
    assert [(r.price, r.quarantined) for r in rows] == [(Decimal("200.0000"), True)]
    alert = next(c for c in CONDITIONS if c.name == "price_quarantined")
    text = alert.evaluate(T0 + 2 * MINUTE)
    assert text is not None and "TSLA 200.0000" in text and "20% band" in text
    assert alert.evaluate(T0 + 30 * MINUTE) is None
