"""The audit trail: orders, cancels, halts, resumes, key creation and revocation; who, what, when, from where."""

import json

import pytest
from django.contrib.auth import get_user_model

from trading.models import Order, TradingState
from tradingrobot.security.models import ApiKey, AuditEvent
from tradingrobot.security.services import api_key_revoke


def only_event(action: str) -> AuditEvent:
    events = list(AuditEvent.objects.filter(action=action))
    assert len(events) == 1, events
    return events[0]


def test_an_order_and_its_cancel_are_recorded_with_key_address_and_outcome(priced, make_key, client_from, address):
    api_key, plain = make_key("read,trade", name="wp-plugin")
    api = client_from(plain)
    placed = api.post(
        "/api/trade/TSLA/buy",
        data=json.dumps({"quantity": 1, "type": "limit", "limit_price": 1}),
        content_type="application/json",
    )
    assert placed.status_code == 201, placed.content
    order_id = placed.json()["order"]["id"]
    event = only_event("order_place")
    assert (event.actor, event.api_key, event.key_prefix, event.ip, event.outcome) == (
        "key:wp-plugin",
        api_key,
        api_key.prefix,
        address,
        201,
    )
    assert event.target == f"TSLA/buy order:{order_id}"
    assert Order.objects.get(pk=order_id).placed_by == "key:wp-plugin"

    assert api.delete(f"/api/orders/{order_id}").status_code == 200
    cancel = only_event("order_cancel")
    assert (cancel.target, cancel.outcome, cancel.actor) == (f"order:{order_id}", 200, "key:wp-plugin")


def test_a_refused_order_is_recorded_with_its_error(priced, make_key, client_from):
    _, plain = make_key("trade")
    response = client_from(plain).post("/api/trade/TSLA/buy?quantity=-5")
    assert response.status_code == 400
    event = only_event("order_place")
    assert event.outcome == 400
    assert event.detail["code"] == response.json()["code"]


def test_halt_and_resume_are_recorded(make_key, client_from):
    _, plain = make_key("admin", name="ops")
    api = client_from(plain)
    assert api.post("/api/stop_trading", data={"reason": "drill"}).status_code == 200
    assert api.post("/api/resume_trading").status_code == 200
    assert only_event("trading_halt").actor == "key:ops"
    assert only_event("trading_resume").outcome == 200
    assert TradingState.objects.get().changed_by == "key:ops"


def test_unauthenticated_and_read_requests_leave_no_record(anon_api, api):
    anon_api.post("/api/trade/TSLA/buy?quantity=1")
    api.get("/api/status")
    assert not AuditEvent.objects.exclude(action="key_create").exists()


def test_key_creation_and_revocation_are_recorded_and_kept_after_the_key_is_deleted(make_key):
    api_key, _ = make_key("read", name="temp")
    api_key_revoke(api_key=api_key, revoked_by="user:alice", ip="192.0.2.1")
    prefix = api_key.prefix
    ApiKey.objects.filter(pk=api_key.pk).delete()
    created, revoked = only_event("key_create"), only_event("key_revoke")
    assert (created.key_prefix, created.api_key, created.detail["scopes"]) == (prefix, None, ["read"])
    assert (revoked.actor, revoked.ip, revoked.key_prefix, revoked.target) == (
        "user:alice",
        "192.0.2.1",
        prefix,
        f"key:temp ({prefix})",
    )


# --- the admin ------------------------------------------------------------------------


@pytest.fixture
def staff(admin_client):
    admin_client.defaults["REMOTE_ADDR"] = "192.0.2.9"
    return admin_client


def test_admin_creates_a_key_and_shows_it_once(staff):
    response = staff.post(
        "/admin/security/apikey/add/", {"name": "from-admin", "scope_choices": ["read", "admin"]}, follow=True
    )
    assert response.status_code == 200
    api_key = ApiKey.objects.get(name="from-admin")
    shown = [str(m) for m in response.context["messages"] if "will not be shown again" in str(m)]
    assert len(shown) == 1
    plain = shown[0].split(" is: ")[1].split(" ")[0]
    assert plain.startswith(api_key.prefix + ".")
    assert api_key.scopes == "read admin"
    event = only_event("key_create")
    assert (event.actor, event.ip) == ("admin:admin", "192.0.2.9")
    assert plain not in staff.get(f"/admin/security/apikey/{api_key.pk}/change/").content.decode()


def test_admin_revoke_action_is_recorded(staff, make_key):
    api_key, _ = make_key("read")
    staff.post("/admin/security/apikey/", {"action": "revoke_keys", "_selected_action": [api_key.pk]})
    api_key.refresh_from_db()
    assert api_key.revoked and api_key.revoked_at is not None
    assert only_event("key_revoke").actor == "admin:admin"


def test_admin_trading_actions_are_recorded(staff):
    TradingState.objects.get_or_create(pk=TradingState.SINGLETON_ID)
    staff.post(
        "/admin/trading/tradingstate/", {"action": "halt_trading", "_selected_action": [TradingState.SINGLETON_ID]}
    )
    assert TradingState.objects.get().halted
    event = only_event("trading_halt")
    assert (event.actor, event.ip, event.detail["admin_action"]) == ("admin:admin", "192.0.2.9", "halt_trading")


def test_the_audit_log_is_read_only_in_the_admin(staff, make_key):
    make_key("read")
    event = AuditEvent.objects.get()
    assert staff.get("/admin/security/auditevent/").status_code == 200
    assert staff.get("/admin/security/auditevent/add/").status_code == 403
    assert staff.post(f"/admin/security/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_admin_never_shows_the_wordpress_password(staff, settings):
    settings.WP_APP_PASSWORD = "abcd EFGH ijkl MNOP qrst UVWX"
    for url in ("/admin/", "/admin/security/apikey/", "/admin/security/auditevent/"):
        assert settings.WP_APP_PASSWORD not in staff.get(url).content.decode()
    assert get_user_model().objects.count() == 1
