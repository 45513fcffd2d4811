"""End to end in one process: the development feed's prices, polled as WordPress, close 5-minute bars; an
enabled sma_crossover strategy places its order; its fill reaches the push-back under its strategy_id.
(The engine runs in process here, STRATEGY_ENGINE_INLINE; bench/strategies.py runs it in a real worker.)"""

import datetime as dt

import pytest
import time_machine

from integration.pushback import outbox_deliver
from integration.services import stock_data_poll
from tests.conftest import MARKET_OPEN_AT
from trading.engine.services import strategy_create
from trading.models import Order, StrategyDecision

pytestmark = pytest.mark.django_db
STEP = dt.timedelta(minutes=5)


def test_devfeed_bars_drive_a_strategy_order_to_the_wordpress_pushback(
    devfeed, settings, django_capture_on_commit_callbacks
):
    settings.STRATEGY_ENGINE_INLINE = True
    settings.WP_TIMEZONE = "America/New_York"
    settings.WP_APP_USER, settings.WP_APP_PASSWORD = "robot", "abcd efgh ijkl mnop"
    receiver = devfeed.server.feed.receiver
    receiver.user, receiver.password = "robot", "abcd efgh ijkl mnop"
    with time_machine.travel(MARKET_OPEN_AT, tick=False):  # the push-back mark it writes is stamped with "now"
        strategy_create(
            strategy_id="STRATEGY-TSLA",
            ticker="TSLA",
            fields={"params": {"fast": 2, "slow": 3}, "enabled": True, "sizing_value": "3"},
            by="test",
        )
    order = None
    for i in range(40):
        with (
            time_machine.travel(MARKET_OPEN_AT + i * STEP, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            assert stock_data_poll().ok
        order = Order.objects.filter(source=Order.Source.STRATEGY).first()
        if order is not None:
            break
    assert order is not None, list(StrategyDecision.objects.values_list("outcome", "reason"))
    assert order.status == Order.Status.FILLED and order.strategy_id == "STRATEGY-TSLA"
    reasons = list(StrategyDecision.objects.order_by("bar_end").values_list("reason", flat=True))
    assert reasons[:2] == ["warming_up", "warming_up"] and reasons[-1] == "entry"
    with time_machine.travel(MARKET_OPEN_AT + i * STEP, tick=False):
        assert outbox_deliver().delivered >= 1
    [trade] = [t for t in receiver.trades.values() if t["side"] == "BUY"]
    assert (trade["strategy_id"], trade["symbol"], trade["quantity"]) == ("STRATEGY-TSLA", "TSLA", "3.0000")
