"""The edges without credentials (issue 13, items 7, 14, 17, 20): admin logins limited per address and per
username, the token endpoint's own bucket and cheap secret check, the schema built once, Swagger UI served here,
the new API key kept out of cookies, production refusing weak settings."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.staticfiles import finders
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from oauth2_provider.models import Application

from tradingrobot.security.models import ApiKey, OAuthClientScopes

from .conftest import assert_error
from .test_production import PRODUCTION_ENV, manage

pytestmark = pytest.mark.django_db
PASSWORD = "the-right-password-0123"


@pytest.fixture
def boss(db):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)


def login(ip: str, username: str, password: str):
    return Client(REMOTE_ADDR=ip).post("/admin/login/?next=/admin/", {"username": username, "password": password})


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_admin_login_is_locked_per_username_across_addresses(settings, boss):
    statuses = [login(f"192.0.2.{n}", "boss", "wrong").status_code for n in range(1, 7)]
    assert statuses == [200, 200, 200, 200, 429, 429]  # AXES_FAILURE_LIMIT = 5: the fifth failure locks
    locked = login("192.0.2.77", "boss", PASSWORD)  # a fresh address, the right password: still locked
    assert locked.status_code == 429
    assert not logged_in(locked)


def test_admin_login_is_locked_per_address_across_usernames(settings, boss):
    for n in range(5):
        login("198.51.100.20", f"guess{n}", "wrong")
    assert login("198.51.100.20", "boss", PASSWORD).status_code == 429
    assert logged_in(login("198.51.100.21", "boss", PASSWORD))  # another address is not punished


def test_a_right_password_logs_in_and_forgets_earlier_failures(boss):
    for _ in range(3):
        login("203.0.113.5", "boss", "wrong")
    assert logged_in(login("203.0.113.5", "boss", PASSWORD))
    assert [login("203.0.113.5", "boss", "wrong").status_code for _ in range(4)] == [200] * 4


def test_admin_and_metrics_have_the_per_address_limit(settings, client_from):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "ip": "2/min"}
    outsider = client_from()
    assert [outsider.get("/admin/login/").status_code for _ in range(2)] == [200, 200]
    assert_error(outsider.get("/admin/login/"), 429, "throttled")
    assert_error(outsider.get("/metrics"), 429, "throttled")


def test_the_token_endpoint_has_its_own_bucket(settings, client_from, make_key):
    settings.THROTTLE_RATE_TOKEN = "2/min"
    _, plain = make_key("read")
    caller = client_from()
    form = {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}
    assert [caller.post("/o/token/", form, format="multipart").status_code for _ in range(2)] == [401, 401]
    refused = caller.post("/o/token/", form, format="multipart")
    assert_error(refused, 429, "throttled")
    assert int(refused["Retry-After"]) >= 1
    caller.credentials(HTTP_X_API_KEY=plain)
    assert caller.get("/api/status").status_code == 200  # the API's own allowance is untouched


def test_client_secrets_are_checked_with_the_cheap_hasher(anon_api):
    secret = "s" * 10 + "ecret-of-128-random-characters-in-real-life-0123456789"
    app = Application.objects.create(
        name="cheap",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
    )
    OAuthClientScopes.objects.create(application=app, scopes="read")
    app.refresh_from_db()
    assert app.client_secret.startswith("client_secret_sha256$1$")
    started = time.perf_counter()
    assert check_password(secret, app.client_secret)
    assert time.perf_counter() - started < 0.01
    form = {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": secret}
    assert anon_api.post("/o/token/", form, format="multipart").status_code == 200
    # user passwords keep the configured (stretching) hasher
    assert not make_password("pw").startswith("client_secret_sha256$")


def test_the_schema_is_built_once_per_process(client, monkeypatch):
    from tradingrobot.security.schema import CachedSchemaView

    built = []
    original = SchemaGenerator.get_schema
    monkeypatch.setattr(SchemaGenerator, "get_schema", lambda self, **kw: built.append(1) or original(self, **kw))
    monkeypatch.setattr(CachedSchemaView, "_built", {})
    first, second = client.get("/api/schema/"), client.get("/api/schema/?format=json")
    assert (first.status_code, second.status_code) == (200, 200)
    assert len(built) == 1
    assert b"/api/trade/" in first.content and b"/api/trade/" in second.content


def test_swagger_ui_is_served_from_here_not_a_cdn(client):
    page = client.get("/api/docs/").content.decode()
    assert "cdn.jsdelivr.net" not in page and "@latest" not in page and "unpkg" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")  # collectstatic ships it


def test_a_new_api_key_never_travels_in_a_cookie(admin_client):
    created = admin_client.post("/admin/security/apikey/add/", {"name": "cookie-check", "scope_choices": ["read"]})
    assert created.status_code == 302
    assert "messages" not in created.cookies
    page = admin_client.get(created["Location"])
    shown = [str(m) for m in page.context["messages"] if "will not be shown again" in str(m)]
    plain = shown[0].split(" is: ")[1].split(" ")[0]
    assert plain.startswith(ApiKey.objects.get(name="cookie-check").prefix + ".")
    assert all(plain not in morsel.value for morsel in page.cookies.values())
    assert all(plain not in morsel.value for morsel in admin_client.cookies.values())


START = ["check"]  # what every process does first: load the settings


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"SECRET_KEY": "short-but-set"}, "SECRET_KEY has 13 characters"),
        ({"SECRET_KEY": "ab" * 40}, "fewer than 5 different characters"),
        ({"SECRET_KEY": "django-insecure-" + "k3y" * 20}, "placeholder"),
        ({"DEBUG": "1"}, "DEBUG is on"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS must name"),
    ],
)
def test_production_refuses_to_start_with_weak_settings(extra, reason):
    result = manage(*START, env_extra={**PRODUCTION_ENV, **extra})
    assert result.returncode != 0
    assert "Production refuses to start" in result.stderr and reason in result.stderr, result.stderr[-2000:]


def test_production_starts_with_strong_settings():
    result = manage(*START, env_extra=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr[-2000:]
