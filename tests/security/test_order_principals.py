"""Issue 13 items 3 and 4: idempotency keys belong to a principal, and orders to the principal that placed them."""

import json

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.test import Client

from trading.models import Order
from trading.order_request import order_request_parse
from trading.services import order_place, trading_halt

from ..conftest import MARKET_CLOSED_AT
from .conftest import assert_error


def trade(client, body: dict, side: str = "buy"):
    return client.post(f"/api/trade/TSLA/{side}", data=json.dumps(body), content_type="application/json")


@pytest.fixture
def alice(make_key, client_from):
    return client_from(make_key("read,trade", name="alice")[1])


@pytest.fixture
def bob(make_key, client_from):
    return client_from(make_key("read,trade", name="bob")[1])


@pytest.fixture
def operator(make_key, client_from):
    return client_from(make_key("read,trade,admin", name="operator")[1])


# --- item 3: idempotency keys per principal --------------------------------------------------------


def test_another_principal_reusing_a_key_gets_its_own_order(alice, bob, priced):
    first = trade(alice, {"quantity": 1, "client_order_id": "wp-42"})
    same_body = trade(bob, {"quantity": 1, "client_order_id": "wp-42"})
    other_body = trade(bob, {"quantity": 2}, side="buy")  # a fresh order, to compare ids against
    assert (first.status_code, same_body.status_code, other_body.status_code) == (201, 201, 201)
    alice_id, bob_id = first.json()["order"]["id"], same_body.json()["order"]["id"]
    assert alice_id != bob_id
    assert same_body.json()["order"]["placed_by"] == "key:bob"
    assert Order.objects.filter(client_order_id="wp-42").count() == 2
    assert Order.objects.get(pk=alice_id).principal != Order.objects.get(pk=bob_id).principal


def test_another_principal_with_another_body_is_not_told_the_first_order(alice, bob, priced):
    first = trade(alice, {"quantity": 1, "client_order_id": "k1"}).json()["order"]["id"]
    response = trade(bob, {"quantity": 5, "client_order_id": "k1"})
    assert response.status_code == 201, response.content  # no 422 naming Alice's order
    assert f"#{first}" not in response.content.decode()
    assert Order.objects.get(pk=response.json()["order"]["id"]).qty == 5


def test_idempotency_still_holds_within_one_principal(alice, bob, priced):
    first = trade(alice, {"quantity": 1, "client_order_id": "k2"})
    trade(bob, {"quantity": 1, "client_order_id": "k2"})
    again = trade(alice, {"quantity": 1, "client_order_id": "k2"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["order"]["id"] == first.json()["order"]["id"]
    body = assert_error(trade(alice, {"quantity": 3, "client_order_id": "k2"}), 422, "idempotency_key_reused")
    assert f"#{first.json()['order']['id']}" in body["message"]  # its own order: fine to name
    assert Order.objects.filter(client_order_id="k2").count() == 2


def test_strategy_client_order_id_stays_exactly_once_beside_an_api_key_with_the_same_id(alice, priced):
    request = order_request_parse(
        ticker="TSLA", side="buy", qty="1", client_order_id="STRATEGY-X:TSLA:5Min:1", strategy_id="STRATEGY-X"
    )
    taken = trade(alice, {"quantity": 1, "client_order_id": "STRATEGY-X:TSLA:5Min:1"})
    assert taken.status_code == 201
    first, created = order_place(request=request, placed_by="engine", source=Order.Source.STRATEGY)
    again, created_again = order_place(request=request, placed_by="engine", source=Order.Source.STRATEGY)
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk != taken.json()["order"]["id"]
    assert first.principal == "strategy:STRATEGY-X"


def test_list_and_detail_show_a_client_order_id_only_to_its_principal_or_an_admin(alice, bob, operator, priced):
    mine = trade(alice, {"quantity": 1, "client_order_id": "secret-1"}).json()["order"]["id"]
    trade(bob, {"quantity": 1, "client_order_id": "bob-1"})

    def seen(client) -> dict:
        return {o["id"]: o["client_order_id"] for o in client.get("/api/orders").json()["orders"]}

    assert seen(bob)[mine] is None
    assert "bob-1" in seen(bob).values()
    assert seen(alice)[mine] == "secret-1"
    assert "bob-1" not in seen(alice).values()
    assert set(seen(operator).values()) == {"secret-1", "bob-1"}
    assert bob.get(f"/api/orders/{mine}").json()["client_order_id"] is None
    assert alice.get(f"/api/orders/{mine}").json()["client_order_id"] == "secret-1"
    assert "secret-1" not in bob.get("/api/orders").content.decode()


# --- item 4: object-level authorization on cancel --------------------------------------------------


@pytest.fixture
def resting(alice, priced):
    """Alice's resting limit buy."""
    response = trade(alice, {"quantity": 1, "type": "limit", "limit_price": 100})
    assert response.json()["order"]["status"] == "accepted"
    return response.json()["order"]["id"]


def test_a_trade_key_cancels_its_own_order(alice, resting):
    response = alice.delete(f"/api/orders/{resting}")
    assert response.status_code == 200, response.content
    assert Order.objects.get(pk=resting).status == Order.Status.CANCELED


def test_a_trade_key_cannot_cancel_another_principals_order(bob, resting):
    assert_error(bob.delete(f"/api/orders/{resting}"), 403, "order_not_yours", "admin scope")
    assert Order.objects.get(pk=resting).status == Order.Status.ACCEPTED


def test_an_admin_key_cancels_another_principals_order(operator, resting):
    assert operator.delete(f"/api/orders/{resting}").status_code == 200
    assert Order.objects.get(pk=resting).status == Order.Status.CANCELED


@pytest.fixture
def liquidation(alice, priced):
    """Alice bought 2 TSLA while the market was open; at the weekend the operator halts and liquidates: the sell
    rests (market closed) as a liquidation order."""
    assert trade(alice, {"quantity": 2}).json()["order"]["status"] == "filled"
    with time_machine.travel(MARKET_CLOSED_AT, tick=False):
        _, _, orders = trading_halt(reason="test", halted_by="key:operator", liquidate=True)
    assert [o.status for o in orders] == [Order.Status.ACCEPTED]
    return orders[0]


def test_liquidation_orders_need_admin_even_for_a_trade_key(alice, operator, liquidation):
    assert_error(alice.delete(f"/api/orders/{liquidation.pk}"), 403, "order_not_yours", "liquidation")
    assert Order.objects.get(pk=liquidation.pk).status == Order.Status.ACCEPTED
    assert operator.delete(f"/api/orders/{liquidation.pk}").status_code == 200
    assert Order.objects.get(pk=liquidation.pk).status == Order.Status.CANCELED


def staff(*codenames: str) -> Client:
    user = User.objects.create_user("desk", password="unused-password-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_order", *codenames]))
    client = Client()
    client.force_login(user)
    return client


def cancel_in_admin(client: Client, order_id: int) -> None:
    client.post("/admin/trading/order/", {"action": "cancel_orders", "_selected_action": [order_id]})


def test_admin_action_needs_cancel_any_order_for_liquidation_orders(liquidation):
    cancel_in_admin(staff("cancel_order"), liquidation.pk)
    assert Order.objects.get(pk=liquidation.pk).status == Order.Status.ACCEPTED
    User.objects.filter(username="desk").delete()
    cancel_in_admin(staff("cancel_order", "cancel_any_order"), liquidation.pk)
    assert Order.objects.get(pk=liquidation.pk).status == Order.Status.CANCELED


def test_admin_action_with_cancel_order_alone_leaves_another_principals_order(resting):
    cancel_in_admin(staff("cancel_order"), resting)
    assert Order.objects.get(pk=resting).status == Order.Status.ACCEPTED


def test_cancel_command_is_the_operator(liquidation, capsys):
    call_command("cancel_order", str(liquidation.pk))
    assert Order.objects.get(pk=liquidation.pk).status == Order.Status.CANCELED
    with pytest.raises(CommandError, match="order_not_cancelable"):
        call_command("cancel_order", str(liquidation.pk))
