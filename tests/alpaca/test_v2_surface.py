"""Issue 16: alpaca-py's own TradingClient, pointed at the robot's /v2/ surface (a live server on loopback),
submits, lists, gets and cancels orders and reads the account, positions, clock and assets, every answer parsed by
its own models and checked against Alpaca's OpenAPI description; the conformance script passes through it too."""

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.models import Clock, Order, Position, TradeAccount
from alpaca.trading.requests import GetOrdersRequest, LimitOrderRequest, MarketOrderRequest

from tests.alpaca.spec import spec_check
from trading.models import Order as RobotOrder
from tradingrobot.security.services import api_key_create

from .test_conformance import EXPECTED_CASH, PaperDriver, ledger, order_script

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def client_for(live_server, plain: str, *, raw: bool = False) -> TradingClient:
    prefix, _, secret = plain.partition(".")
    return TradingClient(api_key=prefix, secret_key=secret, url_override=live_server.url, raw_data=raw)


@pytest.fixture
def robot(live_server, api_key):
    return client_for(live_server, api_key[1])


@pytest.fixture
def raw(live_server, api_key):
    return client_for(live_server, api_key[1], raw=True)


def test_alpaca_client_trades_against_the_robot(robot, raw, priced):
    account = robot.get_account()
    assert isinstance(account, TradeAccount) and account.cash == "100000"
    spec_check("Account", raw.get_account())

    bought = robot.submit_order(
        MarketOrderRequest(symbol="TSLA", qty=10, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    assert isinstance(bought, Order)
    assert (bought.status, bought.filled_qty, bought.filled_avg_price) == (OrderStatus.FILLED, "10", "250")

    resting = robot.submit_order(
        LimitOrderRequest(
            symbol="NVDA",
            qty=2,
            side=OrderSide.BUY,
            limit_price=90,
            time_in_force=TimeInForce.GTC,
            client_order_id="my-1",
        )
    )
    assert resting.status == OrderStatus.ACCEPTED and resting.client_order_id == "my-1"
    assert robot.get_order_by_id(resting.id).limit_price == "90"
    assert robot.get_order_by_client_id("my-1").id == resting.id
    assert [o.id for o in robot.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))] == [resting.id]
    assert len(robot.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL))) == 2
    spec_check("Order", raw.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL)))

    robot.cancel_order_by_id(resting.id)
    assert robot.get_order_by_id(resting.id).status == OrderStatus.CANCELED
    with pytest.raises(APIError) as refused:
        robot.cancel_order_by_id(resting.id)
    assert (refused.value.status_code, refused.value.code) == (409, "order_not_cancelable")

    [position] = robot.get_all_positions()
    assert isinstance(position, Position) and (position.symbol, position.qty, position.avg_entry_price) == (
        "TSLA",
        "10",
        "250",
    )
    assert robot.get_open_position("TSLA").market_value == "2500"
    spec_check("Position", raw.get_all_positions())

    clock = robot.get_clock()
    assert isinstance(clock, Clock) and clock.is_open is True
    spec_check("Clock", raw.get_clock())
    assert robot.get_asset("TSLA").tradable is True
    spec_check("Assets", raw.get_all_assets())


def test_a_rejection_is_an_alpaca_error_and_books_nothing(robot, priced):
    with pytest.raises(APIError) as refused:
        robot.submit_order(
            MarketOrderRequest(symbol="TSLA", qty=1000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
        )
    assert (refused.value.status_code, refused.value.code) == (422, "insufficient_cash")
    assert robot.get_account().cash == "100000"
    assert RobotOrder.objects.get().status == "rejected"


def test_unknown_order_id_is_404(robot, live_server, api_key, priced):
    with pytest.raises(APIError) as missing:
        robot.get_order_by_id("00000000-0000-4000-8000-000000000999")
    assert (missing.value.status_code, missing.value.code) == (404, "order_not_found")
    prefix, _, secret = api_key[1].partition(".")
    headers = {"APCA-API-KEY-ID": prefix, "APCA-API-SECRET-KEY": secret}
    answer = requests.get(f"{live_server.url}/v2/orders/not-a-uuid", headers=headers, timeout=10)
    assert (answer.status_code, answer.json()["code"]) == (404, "order_not_found")


def test_credentials_in_alpaca_headers(live_server, api_key, priced):
    prefix, _, secret = api_key[1].partition(".")
    for key_id, key_secret in ((prefix, "x" * 32), ("zzzzzzzz", secret)):
        with pytest.raises(APIError) as refused:
            TradingClient(api_key=key_id, secret_key=key_secret, url_override=live_server.url).get_account()
        assert refused.value.status_code == 401
    _, read_only = api_key_create(name="reader", scopes="read", created_by="tests")
    reader = client_for(live_server, read_only)
    assert reader.get_account().status.value == "ACTIVE"
    with pytest.raises(APIError) as forbidden:
        reader.submit_order(MarketOrderRequest(symbol="TSLA", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    assert forbidden.value.status_code == 403


class V2Driver(PaperDriver):
    """The conformance script, its orders and cancels sent by alpaca-py to /v2/."""

    def __init__(self, add_price, traveller, capture, client: TradingClient):
        super().__init__(add_price, traveller, capture)
        self.client = client

    def place(self, **fields) -> RobotOrder:
        common = {"symbol": fields["ticker"], "qty": float(fields["qty"]), "side": OrderSide(fields["side"])}
        common["time_in_force"] = TimeInForce(fields.get("time_in_force", "day"))
        if fields.get("type") == "limit":
            request = LimitOrderRequest(limit_price=float(fields["limit_price"]), **common)
        else:
            request = MarketOrderRequest(**common)
        try:
            placed = self.client.submit_order(request)
        except APIError as refused:
            assert refused.status_code == 422
            return RobotOrder.objects.latest("id")
        return RobotOrder.objects.get(client_order_id=placed.client_order_id)

    def cancel(self, order: RobotOrder) -> None:
        self.client.cancel_order_by_id(f"00000000-0000-4000-8000-{order.pk:012x}")


def test_conformance_script_through_the_v2_surface(
    robot, priced, add_price, market_open, django_capture_on_commit_callbacks
):
    order_script(V2Driver(add_price, market_open, django_capture_on_commit_callbacks, robot))
    through_v2 = ledger()
    assert through_v2["cash"] == EXPECTED_CASH
    assert [o[5] for o in through_v2["orders"]] == [
        "filled",
        "filled",
        "canceled",
        "filled",
        "rejected",
        "canceled",
        "filled",
        "filled",
    ]
