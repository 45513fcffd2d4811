"""The lean WSGI path of GET /api/status (tradingrobot/lean.py) under the WSGI application: the same answer
as the full middleware list, with authentication, scopes, throttles, the IP allowlist, CORS, the request id,
the security headers and the audit still on; any other path or method goes through the full list."""

import json
import uuid
from wsgiref.util import setup_testing_defaults

import pytest
from django.core import signals
from django.db import close_old_connections
from django.test import RequestFactory

from trading.documents import status_document_bytes
from tradingrobot.fast_path import FastPath, lean_dispatch
from tradingrobot.lean import LEAN_SKIPPED_MIDDLEWARE, LeanWSGIHandler, lean_middleware
from tradingrobot.security.models import AuditEvent
from tradingrobot.wsgi import application, dispatch, django_wsgi_app

WP = "https://tradingrobotplug.com"


class Answer:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes):
        self.status_code = int(status.split()[0])
        self.headers = {name.lower(): value for name, value in headers}
        self.content = body

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]

    def __contains__(self, name: str) -> bool:
        return name.lower() in self.headers

    def json(self) -> dict:
        return json.loads(self.content)


def call(app, path: str = "/api/status", method: str = "get", **headers) -> Answer:
    environ = getattr(RequestFactory(), method)(path, **headers).environ
    setup_testing_defaults(environ)
    got: dict = {}

    def start_response(status, response_headers, exc_info=None):
        got.update(status=status, headers=response_headers)

    # As Django's test client does: the handler must not close the test's connection (its transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        chunks = app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return Answer(got["status"], got["headers"], body)


@pytest.fixture
def key(make_key):
    return make_key("read")[1]


def test_the_lean_list_is_the_full_one_without_the_skipped(settings):
    lean = lean_middleware(settings.MIDDLEWARE)
    assert lean == [m for m in settings.MIDDLEWARE if m not in LEAN_SKIPPED_MIDDLEWARE]
    for kept in (
        "tradingrobot.ops.logs.RequestIdMiddleware",
        "django.middleware.security.SecurityMiddleware",
        "corsheaders.middleware.CorsMiddleware",
        "tradingrobot.security.middleware.ClientIpMiddleware",
        "tradingrobot.security.middleware.AuditMiddleware",
    ):
        assert kept in lean
    assert "django.contrib.sessions.middleware.SessionMiddleware" not in lean


def test_status_through_the_lean_path_is_the_prepared_document(priced, key, settings, time_machine):
    answer = call(application, HTTP_X_API_KEY=key, HTTP_ORIGIN=WP, HTTP_X_REQUEST_ID="lean-probe-1")
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"] == "application/json"
    assert answer.content == status_document_bytes()  # the clock is frozen: the same instant
    assert answer.json()["prices"][0]["symbol"] in ("NVDA", "TSLA")
    assert answer["X-Request-ID"] == "lean-probe-1"
    assert answer["Access-Control-Allow-Origin"] == WP
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in answer and "X-Frame-Options" not in answer  # session and framing: skipped


def test_the_full_path_gives_the_same_body(priced, key, settings):
    full = call(_full(), HTTP_X_API_KEY=key)
    lean = call(LeanWSGIHandler(), HTTP_X_API_KEY=key)
    assert (full.status_code, lean.status_code) == (200, 200)
    assert full.content == lean.content
    assert full["X-Frame-Options"] == "DENY"  # what the skipped middleware adds


def _full():
    from django.core.handlers.wsgi import WSGIHandler

    return WSGIHandler()


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "not_authenticated"),
        ({"HTTP_X_API_KEY": "nope"}, 401, "invalid_api_key"),
        ({"HTTP_AUTHORIZATION": "Api-Key "}, 401, "invalid_credentials"),
    ],
)
def test_no_or_a_bad_key_is_refused_on_the_lean_path(db, headers, status, code):
    answer = call(application, **headers)
    assert answer.status_code == status, answer.content
    assert (answer.json()["status"], answer.json()["code"]) == ("error", code)


def test_a_key_without_the_read_scope_is_refused(make_key):
    _, plain = make_key("trade")
    answer = call(application, HTTP_X_API_KEY=plain)
    assert answer.status_code == 403 and answer.json()["code"] == "missing_scope", answer.content


def test_throttles_still_count_on_the_lean_path(priced, key, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "credential": "2/min"}
    assert [call(application, HTTP_X_API_KEY=key).status_code for _ in range(2)] == [200, 200]
    throttled = call(application, HTTP_X_API_KEY=key)
    assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
    assert 1 <= int(throttled["Retry-After"]) <= 60


def test_the_ip_allowlist_and_the_per_address_limit_hold(priced, key, settings):
    settings.API_IP_ALLOWLIST = ["192.0.2.0/24"]
    refused = call(application, HTTP_X_API_KEY=key, REMOTE_ADDR="198.51.100.7")
    assert refused.status_code == 403 and refused.json()["code"] == "ip_not_allowed"
    settings.API_IP_ALLOWLIST = []
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "ip": "1/min"}
    address = f"2001:db8::{uuid.uuid4().hex[:4]}"  # the counts live in the shared cache: a fresh address
    assert call(application, HTTP_X_API_KEY=key, REMOTE_ADDR=address).status_code == 200
    assert call(application, HTTP_X_API_KEY=key, REMOTE_ADDR=address).status_code == 429


def test_other_methods_and_paths_take_the_full_list(priced, key):
    slash = call(application, "/api/status/", HTTP_X_API_KEY=key)
    assert "X-Frame-Options" in slash  # the full list (CommonMiddleware, framing) answered it
    post = call(application, method="post", HTTP_X_API_KEY=key)
    assert post.status_code == 405 and "X-Frame-Options" in post


def test_the_lean_chain_still_audits(priced, make_key):
    """GET /api/status is not an audited action; the lean chain's audit middleware is proven on one that is."""
    _, admin = make_key("read,admin")
    answer = call(
        LeanWSGIHandler(), "/api/stop_trading", method="post", content_type="application/json", HTTP_X_API_KEY=admin
    )
    assert answer.status_code == 200, answer.content
    event = AuditEvent.objects.get(action="trading_halt")
    assert (event.action, event.outcome) == ("trading_halt", 200)


def test_no_lean_paths_sends_everything_through_the_full_list(priced, key, settings):
    settings.API_LEAN_PATHS = []
    answer = call(lean_dispatch(_full()), HTTP_X_API_KEY=key)
    assert answer.status_code == 200 and answer["X-Frame-Options"] == "DENY"


def _environ(path: str = "/api/status", **headers) -> dict:
    environ = RequestFactory().get(path, **headers).environ
    setup_testing_defaults(environ)
    return environ


def test_a_plain_success_is_answered_by_the_fast_path_as_the_lean_chain_answers(priced, key, time_machine):
    assert isinstance(dispatch, FastPath)
    assert dispatch.answer(_environ(HTTP_X_API_KEY=key), "/api/status") is not None
    headers = {"HTTP_X_API_KEY": key, "HTTP_ORIGIN": WP, "HTTP_X_REQUEST_ID": "fast-probe-1"}
    fast, lean = call(application, **headers), call(LeanWSGIHandler(), **headers)
    assert (fast.status_code, fast.content) == (lean.status_code, lean.content)
    assert fast.headers == lean.headers  # security headers, CORS, request id, DRF's Allow: the same
    assert fast["Allow"] == "GET, HEAD, OPTIONS" and fast["Access-Control-Allow-Origin"] == WP


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_API_KEY": "nope"},
        {"HTTP_AUTHORIZATION": "Api-Key "},
        {"HTTP_AUTHORIZATION": "Bearer some-oauth-token"},
        {"HTTP_ACCEPT": "text/html"},
    ],
)
def test_anything_but_a_plain_success_falls_through(priced, key, headers):
    environ = _environ(**({"HTTP_X_API_KEY": key} if headers.keys() == {"HTTP_ACCEPT"} else {}), **headers)
    assert dispatch.answer(environ, "/api/status") is None


def test_the_fast_path_does_not_serve_a_query_string_or_another_path(priced, key):
    assert dispatch.answer(_environ("/bench-no-such-path", HTTP_X_API_KEY=key), "/bench-no-such-path") is None
    with_query = call(application, "/api/status?x=1", HTTP_X_API_KEY=key)
    assert with_query.status_code == 200  # the lean path answered it


def test_a_refusal_after_counting_is_counted_once(make_key, settings):
    """The fast path counts, meets the missing scope, takes its counts back and hands over: the address's limit
    sees one request per request, not two."""
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "ip": "2/min"}
    _, trade_only = make_key("trade")
    address = f"2001:db8::{uuid.uuid4().hex[:4]}"
    codes = [call(application, HTTP_X_API_KEY=trade_only, REMOTE_ADDR=address).status_code for _ in range(3)]
    assert codes == [403, 403, 429]


def test_a_revoked_key_is_refused_by_the_full_path_even_when_remembered(priced, make_key):
    api_key, plain = make_key("read")
    assert call(application, HTTP_X_API_KEY=plain).status_code == 200  # now in the key memo
    api_key.revoked = True
    api_key.save()
    refused = call(application, HTTP_X_API_KEY=plain)
    assert refused.status_code in (401, 403) and refused.json()["code"] == "revoked_api_key", refused.content


def test_head_takes_the_fast_path_too(priced, key):
    environ = RequestFactory().head("/api/status", HTTP_X_API_KEY=key).environ
    setup_testing_defaults(environ)
    answered = dispatch.answer(environ, "/api/status")
    assert answered is not None and answered[1].status_code == 200
    assert call(application, method="head", HTTP_X_API_KEY=key).status_code == 200


@pytest.mark.parametrize("accept", ["application/json", "*/*", None, "application/json; indent=4", "text/html"])
def test_the_kept_renderer_choice_is_drf_s_for_each_accept_header(priced, key, accept):
    from rest_framework.exceptions import NotAcceptable

    from tradingrobot.lean import Probe

    fast = lean_dispatch(django_wsgi_app)  # nothing kept by earlier tests
    match = fast._match("/api/status", "GET")
    headers = {"HTTP_X_API_KEY": key, **({"HTTP_ACCEPT": accept} if accept else {})}
    for _ in range(2):  # chosen, then kept
        view = match.func.cls(**match.func.initkwargs)
        probe = Probe(_environ(**headers), "/api/status", "127.0.0.1")
        view.setup(probe)
        view.format_kwarg = None
        try:
            expected = view.perform_content_negotiation(probe)
        except NotAcceptable:
            with pytest.raises(NotAcceptable):
                fast._negotiated(view, probe)
            assert fast.answer(_environ(**headers), "/api/status") is None
            continue
        renderer, media_type = fast._negotiated(view, probe)
        assert (type(renderer), media_type) == (type(expected[0]), expected[1])
        assert fast.answer(_environ(**headers), "/api/status") is not None
