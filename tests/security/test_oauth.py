"""OAuth 2.0 client credentials (django-oauth-toolkit), mapped to the same scopes as API keys."""

import pytest
from oauth2_provider.models import Application

from trading.models import Order
from tradingrobot.security.models import AuditEvent, OAuthClientScopes

from .conftest import assert_error

SECRET = "client-secret-for-tests-only-0123456789"


@pytest.fixture
def oauth_client(db):
    def make(scopes: str | None, name="ops-server") -> Application:
        app = Application.objects.create(
            name=name,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            client_secret=SECRET,
        )
        if scopes is not None:
            OAuthClientScopes.objects.create(application=app, scopes=scopes)
        return app

    return make


def token_request(client, app: Application, scope: str | None = None):
    data = {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": SECRET}
    if scope:
        data["scope"] = scope
    return client.post("/o/token/", data, format="multipart")  # a form, as RFC 6749 asks


def test_a_client_gets_a_token_with_its_scopes_and_calls_the_api(anon_api, oauth_client, client_from):
    app = oauth_client("read admin")
    response = token_request(anon_api, app)
    assert response.status_code == 200, response.content
    token = response.json()
    assert (token["token_type"], sorted(token["scope"].split())) == ("Bearer", ["admin", "read"])
    bearer = client_from()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
    assert bearer.get("/api/status").status_code == 200
    assert_error(bearer.post("/api/trade/TSLA/buy?quantity=1"), 403, "missing_scope", "'trade'")
    assert not Order.objects.exists()
    assert bearer.post("/api/stop_trading").status_code == 200
    assert AuditEvent.objects.get(action="trading_halt").actor == "oauth:ops-server"


def test_a_client_cannot_ask_for_a_scope_it_was_not_granted(anon_api, oauth_client):
    response = token_request(anon_api, oauth_client("read"), scope="read trade")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    response = token_request(anon_api, oauth_client(None, name="no-grants"), scope="read")
    assert response.status_code == 400


def test_a_narrower_token_than_granted(anon_api, oauth_client, client_from):
    token = token_request(anon_api, oauth_client("read trade"), scope="read").json()["access_token"]
    bearer = client_from()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bearer.get("/api/orders").status_code == 200
    assert_error(bearer.post("/api/trade/TSLA/buy?quantity=1"), 403, "missing_scope")


def test_a_bad_or_wrong_secret_bearer_token_is_401(anon_api, oauth_client):
    response = anon_api.get("/api/status", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_error(response, 401, "not_authenticated")
    bad = anon_api.post(
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": oauth_client("read").client_id, "client_secret": "wrong"},
        format="multipart",
    )
    assert bad.status_code == 401


def test_client_scopes_are_validated_against_the_known_scopes(admin_client, oauth_client):
    """Issue 13, item 21: the admin refuses unknown scopes; a row written past it grants only known ones."""
    app = oauth_client(None, name="typo-client")
    response = admin_client.post(
        "/admin/security/oauthclientscopes/add/", {"application": app.pk, "scopes": "read superuser"}
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Unknown scope(s) superuser" in response.content.decode()
    assert not OAuthClientScopes.objects.filter(application=app).exists()
    admin_client.post("/admin/security/oauthclientscopes/add/", {"application": app.pk, "scopes": "TRADE,read"})
    assert OAuthClientScopes.objects.get(application=app).scopes == "read trade"


def test_a_stored_unknown_scope_is_never_granted(anon_api, oauth_client):
    app = oauth_client("read superuser")  # written without validation (a data migration, a shell)
    assert token_request(anon_api, app, scope="superuser").status_code == 400
    granted = token_request(anon_api, app)
    assert granted.status_code == 200, granted.content
    assert granted.json()["scope"] == "read"
