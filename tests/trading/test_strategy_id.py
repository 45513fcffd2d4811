"""Issue 13 item 10: strategy_id follows the WordPress receiver's rule [A-Za-z0-9_.:-]{1,64}, checked at order time."""

import pytest

from trading.models import Order

from .test_trade_api import assert_error, post_json


@pytest.mark.parametrize("strategy_id", ["MEAN-REVERSION", "v1.2:alpha_beta", "a", "x" * 64])
def test_receiver_ids_are_accepted(api, priced, strategy_id):
    response = post_json(api, "/api/trade/TSLA/buy", {"quantity": 1, "strategy_id": strategy_id})
    assert response.status_code == 201
    assert Order.objects.get().strategy_id == strategy_id


@pytest.mark.parametrize(
    "strategy_id",
    ["mean reversion", "STRATEGY/TSLA", "café", "\uff21\uff22\uff23", "x" * 65, "a+b", "<script>", "a,b", "ü-1"],
)
def test_ids_the_receiver_refuses_are_a_400_and_nothing_is_stored(api, priced, strategy_id):
    response = post_json(api, "/api/trade/TSLA/buy", {"quantity": 1, "strategy_id": strategy_id})
    assert_error(response, 400, "invalid_strategy_id", "strategy_id")
    assert not Order.objects.exists()


def test_the_query_string_is_checked_too(api, priced):
    response = api.post("/api/trade/TSLA/buy?quantity=1&strategy_id=a%20b")
    assert_error(response, 400, "invalid_strategy_id", "A")
    assert not Order.objects.exists()
