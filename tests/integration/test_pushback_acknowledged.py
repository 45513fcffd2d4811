"""Issue 13 item 9: push-back counts a record delivered only when the site says it stored it. A real loopback HTTP
server stands in front of the development feed and answers what a misconfigured front can: a 301/302 (requests
would follow it as a GET to the feed's `GET /trades`, whose 200 stored nothing), a 204, or a 200 that does not echo
the record's id. Each leaves the record pending with an error that says why (a redirect names its Location), and
nothing reaches the receiver; plain http:// to a remote host is refused with DEBUG off unless WP_ALLOW_HTTP."""

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integration.client import WordPressClient
from integration.pushback import outbox_deliver
from trading.models import OutboxMessage
from trading.performance import performance_push_enqueue
from tradingrobot.security.production import production_refusals

from ..conftest import MARKET_OPEN_AT


class Front(ThreadingHTTPServer):
    """Answers every POST with `answer` (status, headers, body); GETs go to the feed by a 302 (not used by POST)."""

    daemon_threads = True

    def __init__(self, target: str):
        super().__init__(("127.0.0.1", 0), _FrontHandler)
        self.target = target
        self.answer: tuple[int, dict, bytes] = (200, {}, b"{}")
        self.posts: list[tuple[str, dict]] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _FrontHandler(BaseHTTPRequestHandler):
    server: Front

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.posts.append((self.path, json.loads(self.rfile.read(length) or b"null")))
        status, headers, body = self.server.answer
        if body == b"ECHO":  # the receiver's own behaviour: the stored document back
            body = json.dumps(self.server.posts[-1][1]).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value.replace("{target}", self.server.target + self.path))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", self.server.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def front(devfeed, settings):
    server = Front(devfeed.url)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    settings.WP_BASE_URL = server.url  # the robot talks to the front; the site (the feed) is behind it
    settings.WP_REST_STYLE = "pretty"
    settings.WP_TIMEZONE = "America/New_York"
    settings.PUSHBACK_BACKOFF_SECONDS = 10
    yield server
    server.shutdown()
    server.server_close()


def pending_with_error() -> list[tuple[str, str]]:
    return [(m.status, m.last_error) for m in OutboxMessage.objects.order_by("id")]


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_in_front_of_wordpress_is_a_failure_naming_its_location(status, priced, place, front, devfeed):
    front.answer = (status, {"Location": "{target}"}, b"")
    place(qty="3")
    report = outbox_deliver()
    assert (report.delivered, report.deferred, report.failed) == (0, 1, 0)
    ((outcome, error),) = pending_with_error()
    assert outcome == "pending"
    location = f"{devfeed.url}/wp-json/tradingrobotplug/v1/trades"
    assert error.startswith(f"redirected: HTTP {status} to {location}"), error
    assert devfeed.server.feed.receiver.trades == {}  # not followed: no GET, no second POST reached the site
    assert len(front.posts) == 1


def test_after_the_redirect_is_fixed_the_record_goes_out_once(priced, place, front, devfeed, settings, time_machine):
    front.answer = (301, {"Location": "{target}"}, b"")
    place(qty="3")
    assert outbox_deliver().deferred == 1
    settings.WP_BASE_URL = devfeed.url  # the operator points WP_BASE_URL at the address the site answers at
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(hours=1), tick=False)
    assert outbox_deliver().delivered == 1
    assert [m.status for m in OutboxMessage.objects.all()] == ["delivered"]
    assert len(devfeed.server.feed.receiver.trades) == 1


@pytest.mark.parametrize(
    "answer, why",
    [
        ((204, {}, b""), "not_acknowledged: HTTP 204: only 200/201 say stored"),
        ((202, {}, b'{"trade_id": "TRP-1"}'), "not_acknowledged: HTTP 202"),
        ((200, {}, b'{"trades": [], "total": 0}'), "not_acknowledged: expected trade_id 'TRP-"),
        ((201, {}, b'{"trade_id": "TRP-999999"}'), "not_acknowledged: expected trade_id 'TRP-"),
        ((200, {"Content-Type": "text/html"}, b"<html>cached front page</html>"), "non_json"),
    ],
    ids=["204", "202", "200-no-echo", "201-other-id", "200-html"],
)
def test_an_answer_that_does_not_echo_the_trade_is_not_delivered(answer, why, priced, place, front, devfeed):
    front.answer = answer
    place(qty="3")
    assert outbox_deliver().delivered == 0
    ((outcome, error),) = pending_with_error()
    assert outcome == "pending" and error.startswith(why), error


def test_only_the_echoed_trade_id_counts(priced, place, front):
    place(qty="3")
    (message,) = OutboxMessage.objects.all()
    trade_id = message.payload["trade_id"]
    front.answer = (201, {}, json.dumps({"trade_id": trade_id, "stored": True}).encode())
    assert outbox_deliver().delivered == 1


def test_a_performance_document_needs_its_strategy_id_echoed(priced, place, front, time_machine):
    place(qty="3")
    front.answer = (201, {}, b"ECHO")
    assert outbox_deliver().delivered == 1  # the trade
    performance_push_enqueue()
    documents = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.PERFORMANCE).order_by("id")
    assert documents.count() >= 1
    front.answer = (201, {}, b'{"strategy_id": "STRATEGY-OTHER"}')
    assert outbox_deliver().delivered == 0
    first = documents.first()
    assert first.status == "pending" and "not_acknowledged: expected strategy_id" in first.last_error
    front.answer = (201, {}, b"ECHO")
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(hours=1), tick=False)
    assert outbox_deliver().delivered == documents.count()
    assert set(documents.values_list("status", flat=True)) == {"delivered"}


def test_plain_http_to_a_remote_site_is_refused_with_debug_off(priced, place, settings):
    settings.DEBUG, settings.WP_ALLOW_HTTP = False, False
    settings.WP_BASE_URL = "http://wordpress.example"  # never contacted: refused before any connection
    settings.WP_APP_USER, settings.WP_APP_PASSWORD = "robot", "abcd efgh ijkl mnop"
    with pytest.raises(Exception) as refused:
        WordPressClient().post("/tradingrobotplug/v1/trades", {"trade_id": "TRP-1"})
    assert getattr(refused.value, "code", None) == "insecure_url"
    assert "Application Password would travel in clear" in str(refused.value)
    settings.WP_ALLOW_HTTP = True
    from tradingrobot.security.outbound import wordpress_plain_http_refusal

    assert wordpress_plain_http_refusal("http://wordpress.example/wp-json/x") is None
    settings.WP_ALLOW_HTTP = False
    assert wordpress_plain_http_refusal("https://wordpress.example/wp-json/x") is None
    assert wordpress_plain_http_refusal("http://127.0.0.1:8080/wp-json/x") is None  # loopback: never on the wire


def test_production_refuses_to_start_with_an_http_site_unless_allowed():
    good = {"secret_key": "k" * 20 + "abcdefghijklmnopqrstuvwxyz0123456789", "debug": False, "allowed_hosts": ["a"]}
    assert production_refusals(**good, wp_base_url="https://tradingrobotplug.com") == []
    (refusal,) = production_refusals(**good, wp_base_url="http://tradingrobotplug.com")
    assert "WP_BASE_URL is plain http://" in refusal and "WP_ALLOW_HTTP=true" in refusal
    assert production_refusals(**good, wp_base_url="http://10.0.0.5", wp_allow_http=True) == []
