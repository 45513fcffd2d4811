"""Issue 13 item 6: each admin action needs its own permission; view permission alone changes nothing."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from trading.models import Order, OutboxMessage, TradingState
from tradingrobot.security.models import ApiKey

VIEW = ["view_tradingstate", "view_order", "view_outboxmessage", "view_apikey"]
ACTIONS = ["halt_trading", "resume_trading", "cancel_order", "cancel_any_order", "retry_outboxmessage", "revoke_apikey"]


def staff_client(*codenames: str) -> Client:
    user = User.objects.create_user("viewer", password="unused-password-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def targets(priced, place, make_key):
    """An open order, a failed outbox record and a live key for the actions to act on."""
    TradingState.objects.get_or_create(pk=TradingState.SINGLETON_ID)
    resting = place(type="limit", limit_price="100")
    place(qty="1")
    record = OutboxMessage.objects.get()
    OutboxMessage.objects.filter(pk=record.pk).update(status=OutboxMessage.Status.FAILED)
    api_key, _ = make_key("read")
    return resting, record, api_key


def run_all(client: Client, resting: Order, record: OutboxMessage, api_key: ApiKey) -> None:
    singleton = [TradingState.SINGLETON_ID]
    client.post("/admin/trading/order/", {"action": "cancel_orders", "_selected_action": [resting.pk]})
    client.post("/admin/trading/outboxmessage/", {"action": "retry_now", "_selected_action": [record.pk]})
    client.post("/admin/security/apikey/", {"action": "revoke_keys", "_selected_action": [api_key.pk]})
    client.post("/admin/trading/tradingstate/", {"action": "halt_trading", "_selected_action": singleton})


def test_view_only_staff_sees_no_action_and_changes_nothing(targets):
    client = staff_client(*VIEW)
    for url in ["/admin/trading/tradingstate/", "/admin/trading/order/", "/admin/trading/outboxmessage/"]:
        response = client.get(url)
        assert response.status_code == 200
        assert response.context["action_form"] is None, url  # no action offered
    run_all(client, *targets)
    resting, record, api_key = targets
    resting.refresh_from_db()
    record.refresh_from_db()
    api_key.refresh_from_db()
    assert resting.status == Order.Status.ACCEPTED
    assert record.status == OutboxMessage.Status.FAILED
    assert not api_key.revoked
    assert not TradingState.objects.get().halted


def test_each_action_works_with_its_own_permission(targets):
    client = staff_client(*VIEW, *ACTIONS)
    run_all(client, *targets)
    resting, record, api_key = targets
    resting.refresh_from_db()
    record.refresh_from_db()
    api_key.refresh_from_db()
    assert resting.status == Order.Status.CANCELED
    assert record.status == OutboxMessage.Status.PENDING
    assert api_key.revoked
    assert TradingState.objects.get().halted
    client.post(
        "/admin/trading/tradingstate/", {"action": "resume_trading", "_selected_action": [TradingState.SINGLETON_ID]}
    )
    assert not TradingState.objects.get().halted


def test_halt_permission_does_not_grant_resume(targets):
    client = staff_client(*VIEW, "halt_trading")
    client.post(
        "/admin/trading/tradingstate/", {"action": "halt_trading", "_selected_action": [TradingState.SINGLETON_ID]}
    )
    assert TradingState.objects.get().halted
    client.post(
        "/admin/trading/tradingstate/", {"action": "resume_trading", "_selected_action": [TradingState.SINGLETON_ID]}
    )
    assert TradingState.objects.get().halted
