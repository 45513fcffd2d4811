"""Who may call the API: no key, a bad, revoked or expired key get 401; a key without the scope gets 403."""

import datetime as dt
import io
import json

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from trading.models import Order, TradingState
from tradingrobot.security.models import ApiKey, AuditEvent
from tradingrobot.security.services import api_key_revoke, ws_ticket_redeem

from .conftest import assert_error

PROTECTED = [
    ("get", "/api/status"),
    ("get", "/api/portfolio"),
    ("get", "/api/market_data/TSLA"),
    ("get", "/api/orders"),
    ("get", "/api/orders/1"),
    ("delete", "/api/orders/1"),
    ("post", "/api/trade/TSLA/buy"),
    ("post", "/api/stop_trading"),
    ("post", "/api/resume_trading"),
    ("post", "/api/ws-ticket"),
]


def call(api, method: str, url: str, **extra):
    if method == "get":
        return api.get(url, **extra)
    return getattr(api, method)(url, data=json.dumps({"quantity": 1}), content_type="application/json", **extra)


@pytest.mark.parametrize(("method", "url"), PROTECTED)
def test_no_credentials_is_401_json_on_every_operation(anon_api, method, url):
    response = call(anon_api, method, url)
    assert_error(response, 401, "not_authenticated", "Api-Key")
    assert response["WWW-Authenticate"].startswith("Api-Key")
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_API_KEY": "abcdefgh.not-the-secret"},
        {"HTTP_AUTHORIZATION": "Api-Key abcdefgh.not-the-secret"},
        {"HTTP_X_API_KEY": "no-dot-at-all"},
        {"HTTP_X_API_KEY": "abc\x00defg.secret"},
        {"HTTP_AUTHORIZATION": "Api-Key "},
    ],
)
def test_a_bad_key_is_401(anon_api, make_key, headers):
    make_key("read")
    response = anon_api.get("/api/status", **headers)
    empty = headers.get("HTTP_AUTHORIZATION") == "Api-Key "
    assert_error(response, 401, "invalid_credentials" if empty else "invalid_api_key")


def test_a_right_prefix_with_a_wrong_secret_is_401(anon_api, make_key):
    _api_key, plain = make_key("read")
    forged = plain.split(".")[0] + ".x" + plain.split(".")[1][1:]
    assert_error(anon_api.get("/api/status", HTTP_X_API_KEY=forged), 401, "invalid_api_key", "Invalid API key")


def test_both_headers_work_and_must_agree(anon_api, make_key):
    _, plain = make_key("read")
    _, other = make_key("read")
    assert anon_api.get("/api/status", HTTP_AUTHORIZATION=f"Api-Key {plain}").status_code == 200
    assert anon_api.get("/api/status", HTTP_AUTHORIZATION=f"api-key {plain}").status_code == 200
    assert anon_api.get("/api/status", HTTP_X_API_KEY=plain).status_code == 200
    both = anon_api.get("/api/status", HTTP_X_API_KEY=plain, HTTP_AUTHORIZATION=f"Api-Key {other}")
    assert_error(both, 401, "invalid_credentials", "different keys")


def test_a_revoked_key_is_401_at_once(anon_api, make_key):
    api_key, plain = make_key("read")
    assert anon_api.get("/api/status", HTTP_X_API_KEY=plain).status_code == 200
    api_key_revoke(api_key=api_key, revoked_by="tests")
    assert_error(anon_api.get("/api/status", HTTP_X_API_KEY=plain), 401, "revoked_api_key", "revoked")


def test_an_expired_key_is_401(anon_api, make_key):
    _api_key, plain = make_key("read", expires_at=timezone.now() + dt.timedelta(hours=1))
    assert anon_api.get("/api/status", HTTP_X_API_KEY=plain).status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1, seconds=1)):
        assert_error(anon_api.get("/api/status", HTTP_X_API_KEY=plain), 401, "expired_api_key", "expired")


@pytest.mark.parametrize(
    ("scopes", "method", "url", "missing"),
    [
        ("read", "post", "/api/trade/TSLA/buy", "trade"),
        ("read,admin", "delete", "/api/orders/1", "trade"),
        ("trade", "get", "/api/status", "read"),
        ("trade", "get", "/api/orders", "read"),
        ("read,trade", "post", "/api/stop_trading", "admin"),
        ("read,trade", "post", "/api/resume_trading", "admin"),
        ("admin", "get", "/api/market_data/TSLA", "read"),
    ],
)
def test_a_key_without_the_scope_is_403_naming_it(anon_api, make_key, scopes, method, url, missing):
    _, plain = make_key(scopes)
    response = call(anon_api, method, url, HTTP_X_API_KEY=plain)
    assert_error(response, 403, "missing_scope", f"'{missing}' scope")
    assert not Order.objects.exists()
    assert not TradingState.objects.filter(halted=True).exists()


def test_each_scope_opens_its_own_operations(anon_api, make_key):
    _, admin = make_key("admin")
    assert anon_api.post("/api/stop_trading", HTTP_X_API_KEY=admin).status_code == 200
    assert anon_api.post("/api/resume_trading", HTTP_X_API_KEY=admin).status_code == 200
    _, reader = make_key("read")
    for url in ("/api/status", "/api/portfolio", "/api/orders", "/api/market_data/TSLA"):
        assert anon_api.get(url, HTTP_X_API_KEY=reader).status_code == 200, url


def test_last_use_is_recorded(anon_api, make_key):
    api_key, plain = make_key("read")
    assert api_key.last_used_at is None
    anon_api.get("/api/status", HTTP_X_API_KEY=plain)
    api_key.refresh_from_db()
    assert timezone.now() - api_key.last_used_at < dt.timedelta(seconds=5)


def test_keys_are_stored_hashed(make_key):
    api_key, plain = make_key("read")
    stored = ApiKey.objects.values_list("id", "prefix", "hashed_key").get(pk=api_key.pk)
    assert plain.split(".")[0] == api_key.prefix
    assert all(plain not in value and plain.split(".")[1] not in value for value in stored)


def test_schema_and_docs_are_public(anon_api):
    assert anon_api.get("/api/schema/").status_code == 200
    assert anon_api.get("/api/docs/").status_code == 200


def test_the_schema_declares_the_key_and_the_security_answers(anon_api):
    schema = anon_api.get("/api/schema/?format=json").json()
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key; `Authorization: Api-Key <key>` works too.",
    }
    trade = schema["paths"]["/api/trade/{symbol}/{side}/"]["post"]
    assert {"401", "403", "429"} <= set(trade["responses"])


# --- the management command ----------------------------------------------------------


def test_create_api_key_prints_the_key_once_on_its_last_line(anon_api, db):
    out = io.StringIO()
    call_command("create_api_key", "--name", "wp-plugin", "--scopes", "read,trade", stdout=out)
    lines = out.getvalue().strip().splitlines()
    plain = lines[-1]
    assert plain not in "\n".join(lines[:-1])
    api_key = ApiKey.objects.get(name="wp-plugin")
    assert api_key.scopes == "read trade"
    assert anon_api.get("/api/status", HTTP_X_API_KEY=plain).status_code == 200
    event = AuditEvent.objects.get(action="key_create")
    assert (event.actor, event.key_prefix) == ("cli:create_api_key", api_key.prefix)
    assert event.detail["scopes"] == ["read", "trade"]


def test_create_api_key_with_expiry_and_bad_scopes(db):
    out = io.StringIO()
    call_command("create_api_key", "--name", "temp", "--scopes", "read", "--expires", "7d", stdout=out)
    expiry = ApiKey.objects.get(name="temp").expiry_date
    assert dt.timedelta(days=6, hours=23) < expiry - timezone.now() <= dt.timedelta(days=7)
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_api_key", "--name", "x", "--scopes", "read,root", stdout=io.StringIO())
    assert ApiKey.objects.count() == 1


def test_local_api_key_is_created_once_and_reused(tmp_path, anon_api, db):
    path = tmp_path / "local-api-key"
    first, second = io.StringIO(), io.StringIO()
    call_command("local_api_key", "--file", str(path), stdout=first)
    call_command("local_api_key", "--file", str(path), stdout=second)
    plain = first.getvalue().strip().splitlines()[-1]
    assert second.getvalue().strip().splitlines()[-1] == plain
    assert ApiKey.objects.count() == 1
    assert path.stat().st_mode & 0o077 == 0
    assert anon_api.post("/api/stop_trading", HTTP_X_API_KEY=plain).status_code == 200
    api_key_revoke(api_key=ApiKey.objects.get(), revoked_by="tests")
    third = io.StringIO()
    call_command("local_api_key", "--file", str(path), stdout=third)
    assert third.getvalue().strip().splitlines()[-1] != plain


def test_ws_ticket_endpoint_issues_a_single_use_ticket(api, api_key):
    response = api.post("/api/ws-ticket")
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["expires_in"]) == ("success", 30)
    assert api_key[1] not in body["ticket"]
    assert ws_ticket_redeem(body["ticket"]) == {"kind": "key", "id": api_key[0].pk}
    assert ws_ticket_redeem(body["ticket"]) is None


def test_a_verified_key_is_remembered_until_any_key_changes(db, django_assert_num_queries, settings):
    from tradingrobot.security.keys import KeyRejected, api_key_check
    from tradingrobot.security.services import api_key_create, api_key_revoke

    settings.API_KEY_MEMO = "on"  # the memo's own logic, whatever the cache
    api_key, plain = api_key_create(name="memo", scopes="read", created_by="tests")
    api_key_check(plain)
    with django_assert_num_queries(0):
        assert api_key_check(plain).pk == api_key.pk
    api_key_revoke(api_key=api_key, revoked_by="tests")
    with pytest.raises(KeyRejected) as rejected:
        api_key_check(plain)
    assert rejected.value.reason == "revoked"


def test_without_a_shared_cache_a_revocation_elsewhere_is_seen_at_once(db, settings):
    """Issue 13, item 16: no Redis, so no version every process sees: the memo is skipped (API_KEY_MEMO=auto)."""
    from tradingrobot.security.keys import KeyRejected, api_key_check, cache_is_shared
    from tradingrobot.security.services import api_key_create

    settings.API_KEY_MEMO = "auto"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert not cache_is_shared()
    api_key, plain = api_key_create(name="elsewhere", scopes="read", created_by="tests")
    assert api_key_check(plain).pk == api_key.pk
    ApiKey.objects.filter(pk=api_key.pk).update(revoked=True)  # as another process does: no signal reaches us
    with pytest.raises(KeyRejected) as rejected:
        api_key_check(plain)
    assert rejected.value.reason == "revoked"


def test_with_a_shared_cache_the_memo_is_used(settings):
    from tradingrobot.security.keys import cache_is_shared, memo_max_age

    settings.API_KEY_MEMO = "auto"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}}
    assert cache_is_shared() and memo_max_age() == 30.0
    settings.API_KEY_MEMO = "off"
    assert memo_max_age() == 0.0
