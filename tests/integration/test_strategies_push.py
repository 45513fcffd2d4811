"""The strategy list pushed to WordPress through the outbox (devfeed receiver: a real HTTP server on loopback)."""

import datetime as dt

import pytest

from integration.pushback import outbox_deliver
from trading.engine.services import strategy_create, strategy_update
from trading.models import Order, OutboxMessage, StrategyDecision
from trading.order_request import order_request_parse
from trading.services import order_place
from tradingrobot.events import announce

from ..conftest import MARKET_OPEN_AT

ITEM_KEYS = {"strategy_id", "symbol", "kind", "enabled", "mode", "timeframe", "last_decision", "pnl"}


@pytest.fixture
def receiver(devfeed, settings):
    settings.WP_TIMEZONE = "America/New_York"
    settings.WP_APP_USER, settings.WP_APP_PASSWORD = "robot", "abcd efgh ijkl mnop"
    devfeed.server.feed.receiver.user = "robot"
    devfeed.server.feed.receiver.password = "abcd efgh ijkl mnop"
    return devfeed.server.feed.receiver


def marks() -> list[str]:
    return list(OutboxMessage.objects.filter(kind="strategies").order_by("id").values_list("key", flat=True))


def decision_event(strategy_id="STRATEGY-TSLA", bar_end="2025-12-16T15:30:00Z", outcome="hold") -> dict:
    return {
        "type": "strategy_decision",
        "strategy_id": strategy_id,
        "symbol": "TSLA",
        "timeframe": "5Min",
        "bar_end": bar_end,
        "outcome": outcome,
        "reason": "no_change",
        "message": "",
        "order_id": None,
        "indicators": {"sma_fast": 1.0},
    }


def test_enabling_marks_the_list_and_the_site_gets_it_in_the_plugins_shape(db, receiver):
    strategy = strategy_create(strategy_id="STRATEGY-TSLA", ticker="TSLA", by="tests")
    strategy_update(strategy_id="STRATEGY-TSLA", changes={"enabled": True, "mode": "signal"}, by="tests")
    assert len(marks()) == 2  # created, then enabled + mode
    end = dt.datetime(2025, 12, 16, 15, 30, tzinfo=dt.UTC)
    StrategyDecision.objects.create(
        strategy=strategy, bar_end=end, decided_at=end + dt.timedelta(seconds=2), outcome="buy", reason="crossed_up"
    )
    report = outbox_deliver()
    assert (report.delivered, report.failed, report.deferred) == (2, 0, 0), report.errors
    document = receiver.strategies
    assert set(document) == {"strategies", "timestamp"}
    assert document["timestamp"].endswith("Z")
    (item,) = document["strategies"]
    assert set(item) == ITEM_KEYS
    assert item == {
        "strategy_id": "STRATEGY-TSLA",
        "symbol": "TSLA",
        "kind": "sma_crossover",
        "enabled": True,
        "mode": "signal",
        "timeframe": "5Min",
        "last_decision": {
            "outcome": "buy",
            "reason": "crossed_up",
            "bar_end": "2025-12-16T15:30:00Z",
            "decided_at": "2025-12-16T15:30:02Z",
        },
        "pnl": None,
    }
    assert set(OutboxMessage.objects.filter(kind="strategies").values_list("status", flat=True)) == {"delivered"}


def test_the_site_status_alone_and_a_change_to_the_same_value_mark_nothing(db, receiver):
    strategy_create(strategy_id="STRATEGY-TSLA", ticker="TSLA", by="tests")
    strategy_update(strategy_id="STRATEGY-TSLA", changes={"site_status": "paused"}, by="site sync")
    strategy_update(strategy_id="STRATEGY-TSLA", changes={"enabled": False}, by="tests")
    assert len(marks()) == 1


def test_decisions_of_one_bar_mark_once(db, receiver, django_capture_on_commit_callbacks):
    strategy_create(strategy_id="STRATEGY-TSLA", ticker="TSLA", by="tests")
    strategy_create(strategy_id="STRATEGY-TSLA-2", ticker="TSLA", by="tests")
    outbox_deliver()
    with django_capture_on_commit_callbacks(execute=True):
        announce(decision_event(), decision_event("STRATEGY-TSLA-2"))
    with django_capture_on_commit_callbacks(execute=True):
        announce(decision_event())  # the same bar delivered again
    assert marks()[2:] == ["strategies:bar:TSLA:5Min:2025-12-16T15:30:00Z"]
    with django_capture_on_commit_callbacks(execute=True):
        announce(decision_event(bar_end="2025-12-16T15:35:00Z"))
    assert len(marks()) == 4
    assert outbox_deliver().delivered == 2


def test_site_down_the_mark_waits_and_the_newest_list_goes_out(db, receiver, devfeed):
    strategy_create(strategy_id="STRATEGY-TSLA", ticker="TSLA", by="tests")
    devfeed.fault("http500")
    assert outbox_deliver().deferred == 1
    devfeed.fault("ok")
    strategy_update(strategy_id="STRATEGY-TSLA", changes={"enabled": True}, by="tests")
    OutboxMessage.objects.update(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert outbox_deliver().delivered == 2
    assert receiver.strategies["strategies"][0]["enabled"] is True


def by_strategy(side: str, qty: str) -> None:
    request = order_request_parse(ticker="TSLA", side=side, qty=qty, strategy_id="STRATEGY-TSLA")
    order, _ = order_place(request=request, placed_by="tests", source=Order.Source.STRATEGY)
    assert order.status == "filled", order.reject_reason


def test_pnl_is_the_strategys_own_book_realized_plus_unrealized(db, receiver, priced, place, add_price):
    strategy_create(strategy_id="STRATEGY-TSLA", ticker="TSLA", by="tests")
    by_strategy("buy", "10")  # 10 at 250, in the strategy's book
    place(qty="5", strategy_id="STRATEGY-TSLA")  # a manual order filed under the id: the manual book
    add_price("TSLA", "260.00", MARKET_OPEN_AT)
    by_strategy("sell", "4")  # +40 realized
    outbox_deliver()
    (item,) = receiver.strategies["strategies"]
    assert item["pnl"] == "100.0000"  # 40 realized + 6 x (260 - 250) unrealized; the manual 5 shares not counted
