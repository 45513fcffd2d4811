"""The fast path's prepared reply (tradingrobot/fast_reply.py): once the lean chain has answered two requests of a
kind alike, later ones reuse its headers, with the request id, the metrics and Django's request signals still
done per request by their owners; anything else keeps going through the chain."""

import pytest
from django.core import signals
from django.http import HttpResponse
from prometheus_client import REGISTRY

from tests.security.test_lean_path import WP, _environ, call
from tradingrobot.fast_path import FastPath, lean_dispatch
from tradingrobot.fast_reply import MAX_KINDS, FastReply, Prepared
from tradingrobot.lean import LeanWSGIHandler
from tradingrobot.ops.logs import request_id_var
from tradingrobot.wsgi import django_wsgi_app


@pytest.fixture
def key(make_key):
    return make_key("read")[1]


@pytest.fixture
def app() -> FastPath:
    """A fast path of its own: nothing learned by earlier tests."""
    fast = lean_dispatch(django_wsgi_app)
    assert isinstance(fast, FastPath)
    return fast


def _responses_200() -> float:
    labels = {"status": "200", "view": "status", "method": "GET"}
    return REGISTRY.get_sample_value("django_http_responses_total_by_status_view_method_total", labels) or 0.0


def test_the_third_request_of_a_kind_is_prepared_and_answers_as_the_chain(priced, key, app, time_machine):
    headers = {"HTTP_X_API_KEY": key, "HTTP_ORIGIN": WP}
    first, _second = (call(app, **headers, HTTP_X_REQUEST_ID=f"probe-{n}") for n in (1, 2))
    assert [p for p in app.reply.kinds.values() if isinstance(p, Prepared)], "two alike answers: prepared"
    before = _responses_200()
    prepared = call(app, **headers, HTTP_X_REQUEST_ID="probe-3")
    assert _responses_200() == before + 1  # django_prometheus counted the prepared reply
    lean = call(LeanWSGIHandler(), **headers, HTTP_X_REQUEST_ID="probe-3")
    assert (prepared.status_code, prepared.content) == (lean.status_code, lean.content)
    assert prepared.headers == lean.headers  # CORS, security headers, Vary, Allow, the request id
    assert prepared["X-Request-ID"] == "probe-3" and first["X-Request-ID"] == "probe-1"
    assert prepared["Access-Control-Allow-Origin"] == WP


def test_a_request_without_an_id_gets_a_new_one_each_time(priced, key, app):
    ids = {call(app, HTTP_X_API_KEY=key)["X-Request-ID"] for _ in range(4)}
    assert len(ids) == 4


def test_each_origin_is_its_own_kind(priced, key, app):
    for _ in range(3):
        with_origin = call(app, HTTP_X_API_KEY=key, HTTP_ORIGIN=WP)
        without = call(app, HTTP_X_API_KEY=key)
        stranger = call(app, HTTP_X_API_KEY=key, HTTP_ORIGIN="https://evil.example")
    assert with_origin["Access-Control-Allow-Origin"] == WP
    assert "Access-Control-Allow-Origin" not in without and "Access-Control-Allow-Origin" not in stranger
    assert sum(isinstance(p, Prepared) for p in app.reply.kinds.values()) == 3


def test_the_prepared_reply_sends_the_request_signals_and_ends_the_request_id(priced, key, app):
    for _ in range(2):
        call(app, HTTP_X_API_KEY=key)
    sent: list[str] = []

    def started(**kwargs):
        sent.append("started")

    def finished(**kwargs):
        sent.append("finished")

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        answer = call(app, HTTP_X_API_KEY=key, HTTP_X_REQUEST_ID="signals-probe")
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert answer.status_code == 200 and answer["X-Request-ID"] == "signals-probe"
    assert sent[0] == "started" and sent[-1] == "finished"
    assert request_id_var.get() is None


class _Chain:
    """A stand-in chain (a unit test of FastReply alone): answers `response` with the status and headers it is
    told to, as the lean chain answers the fast path's response."""

    def __init__(self):
        self.calls = 0
        self.status = "200 OK"
        self.extra: list[tuple[str, str]] = []
        self.response = HttpResponse(b"{}", content_type="application/json")

    def __call__(self, environ, start_response):
        self.calls += 1
        start_response(self.status, [("Content-Type", "application/json"), ("X-Request-ID", "x"), *self.extra])
        return self.response


def _reply(chain: _Chain) -> FastReply:
    return FastReply(chain, ["tradingrobot.ops.logs.RequestIdMiddleware", "corsheaders.middleware.CorsMiddleware"])


def _ask(reply: FastReply, chain: _Chain, **headers) -> None:
    reply(_environ(**headers), lambda *args: None, None, chain.response)


def test_two_alike_answers_make_a_kind_prepared(db):
    chain = _Chain()
    reply = _reply(chain)
    for _ in range(2):
        _ask(reply, chain)
    assert [type(p) for p in reply.kinds.values()] == [Prepared]


def test_a_kind_whose_headers_differ_between_two_answers_is_never_prepared(db):
    chain = _Chain()
    reply = _reply(chain)
    for n in range(5):
        chain.extra = [("X-Varies", str(n))]
        _ask(reply, chain)
    assert chain.calls == 5 and list(reply.kinds.values()) == [None]


def test_an_error_answer_of_the_chain_is_not_learned(db):
    """The chain answered 500 for a response of 200 (a middleware failed): never reused for a plain success."""
    chain = _Chain()
    reply = _reply(chain)
    chain.status = "500 Internal Server Error"
    for _ in range(3):
        _ask(reply, chain)
    assert chain.calls == 3 and not reply.kinds
    chain.status = "200 OK"
    for _ in range(2):
        _ask(reply, chain)
    assert [type(p) for p in reply.kinds.values()] == [Prepared]


def test_an_answer_in_place_of_the_response_is_not_learned(db):
    chain = _Chain()
    reply = _reply(chain)
    for _ in range(3):
        reply(_environ(), lambda *args: None, None, HttpResponse(b"{}", content_type="application/json"))
    assert chain.calls == 3 and not reply.kinds  # the chain answered its own response, not the one given


def test_a_chain_with_other_middleware_is_never_prepared(db):
    chain = _Chain()
    reply = FastReply(chain, ["tradingrobot.ops.logs.RequestIdMiddleware", "django.middleware.common.CommonMiddleware"])
    for _ in range(4):
        _ask(reply, chain)
    assert chain.calls == 4 and reply.hooks is None and not reply.kinds


def test_kinds_beyond_the_bound_keep_going_through_the_chain(db):
    chain = _Chain()
    reply = _reply(chain)
    for n in range(MAX_KINDS + 10):
        for _ in range(2):
            _ask(reply, chain, HTTP_ORIGIN=f"https://site{n}.example")
    assert len(reply.kinds) == MAX_KINDS and len(reply.seen) == 0
