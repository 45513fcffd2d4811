"""Issue 13, item 24: the plugin's own security, on the real WordPress and the real robot. A recording stand-in
(a loopback HTTP server) shows which key each call carries, and that nothing is sent where nothing may go."""

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests import scratch

from .conftest import execute_trade, login
from .test_admin import nonce_of

pytestmark = pytest.mark.slow

PORTS = range(8484, 8500)  # this suite's own stand-ins (8480 WordPress, 8481 the robot)
SITE_KEYS = {"read": "stand-in-read-key", "trade": "stand-in-trade-key", "stop": "stand-in-stop-key"}


class Recorder(ThreadingHTTPServer):
    """Answers every call 200 with a robot-like document and records (method, path, X-API-Key)."""

    def __init__(self, port: int):
        super().__init__(("127.0.0.1", port), RecorderHandler)
        self.calls: list[tuple[str, str, str]] = []
        self.url = f"http://127.0.0.1:{port}"


class RecorderHandler(BaseHTTPRequestHandler):
    def answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.calls.append((self.command, self.path, self.headers.get("X-API-Key", "")))
        document = {"status": "success", "ticket": "t-123", "expires_in": 30, "order": {"id": 1, "status": "filled"}}
        body = json.dumps(document).encode()
        self.send_response(201 if self.path == "/api/ws-ticket" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = answer
    do_POST = answer

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder(wordpress, robot_up):
    """The plugin pointed at a recorder with the stand-in keys; the robot and its keys back afterwards."""
    server = Recorder(scratch.free_port(PORTS))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    wordpress.point_robot_at(server.url, SITE_KEYS)
    wordpress.php("delete_transient('trp_bridge_status'); delete_transient('trp_bridge_portfolio');")
    try:
        yield server
    finally:
        wordpress.point_robot_at(robot_up.url, robot_up.site_keys)
        wordpress.php(
            "delete_transient('trp_bridge_status'); delete_transient('trp_bridge_portfolio');"
            "update_option('trp_test_allow_loopback', '1');"
        )
        server.shutdown()
        server.server_close()


def wp_error(wordpress, call: str, user_id: int = 0) -> dict:
    """A plugin call as user `user_id` (0: a visitor): its WP_Error as {code, message, data}, or {ok: result}."""
    return wordpress.php_json(
        f"""
        wp_set_current_user({int(user_id)});
        $r = {call};
        echo wp_json_encode(is_wp_error($r)
            ? ['code' => $r->get_error_code(), 'message' => $r->get_error_message(), 'data' => $r->get_error_data()]
            : ['ok' => $r]);
        """
    )


# --- visitors see a generic message, never the robot's text ------------------------------------------------------


def test_visitors_see_a_generic_message_never_the_robots_error_text(wordpress, robot_up):
    robot_says = requests.get(f"{robot_up.url}/api/status", headers={"X-API-Key": "not-a-key"}, timeout=30).json()
    assert robot_says["message"]
    page_id = int(
        wordpress.php(
            "echo wp_insert_post(['post_title' => 'Robot', 'post_content' => '[trp_status]',"
            " 'post_status' => 'publish', 'post_type' => 'page']);"
        )
    )
    saved = robot_up.site_keys["read"]
    try:
        wordpress.point_robot_at(robot_up.url, {"read": "not-a-key"})
        wordpress.php("delete_transient('trp_bridge_status');")
        # The page as a visitor gets it (the test site has no theme: its content through the REST API).
        page = requests.get(f"{wordpress.url}/wp-json/wp/v2/pages/{page_id}", timeout=30)
        assert page.status_code == 200, page.text
        html = page.json()["content"]["rendered"]
        assert "Trading data is unavailable right now." in html
        assert robot_says["message"] not in html and robot_says["code"] not in html
        # An administrator sees why (to fix it): the same cached failure, with its reason.
        admin_html = wordpress.php("wp_set_current_user(1); echo do_shortcode('[trp_status]');")
        assert robot_says["message"] in admin_html and robot_says["code"] in admin_html
    finally:
        wordpress.point_robot_at(robot_up.url, {"read": saved})
        wordpress.php(f"wp_delete_post({page_id}, true); delete_transient('trp_bridge_status');")


# --- a minimum shortcode cache ---------------------------------------------------------------------------------


def test_shortcode_cache_has_a_floor_of_a_few_seconds_for_answers_and_failures(wordpress, recorder):
    out = wordpress.php_json(
        """
        $calls = 0;
        add_action('http_api_debug', function () use (&$calls) { $calls++; });
        $first = do_shortcode('[trp_status cache="0"]');
        $second = do_shortcode('[trp_status cache="0"]');
        $ttl = (int) get_option('_transient_timeout_trp_bridge_status') - time();
        echo wp_json_encode(['calls' => $calls, 'ttl' => $ttl, 'same' => $first === $second]);
        """
    )
    assert out["calls"] == 1 and out["same"] is True
    assert 4 <= out["ttl"] <= 5
    assert [c[1] for c in recorder.calls] == ["/api/status"]

    # A failure is kept as long: an outage costs one call per few seconds, not one per page view.
    recorder.shutdown()
    out = wordpress.php_json(
        """
        delete_transient('trp_bridge_portfolio');
        $calls = 0;
        add_action('http_api_debug', function () use (&$calls) { $calls++; });
        $a = do_shortcode('[trp_portfolio cache="0"]');
        $b = do_shortcode('[trp_portfolio cache="0"]');
        echo wp_json_encode(['calls' => $calls, 'a' => $a, 'b' => $b]);
        """
    )
    assert out["calls"] == 1
    assert "Trading data is unavailable right now." in out["a"] and out["a"] == out["b"]


# --- one key per role -------------------------------------------------------------------------------------------


def test_each_call_carries_the_key_of_its_role(wordpress, recorder):
    wordpress.php_json(
        """
        wp_set_current_user(1);
        do_shortcode('[trp_status]');
        do_shortcode('[trp_portfolio]');
        trp_bridge_ws_ticket();
        trp_bridge_execute_trade('TSLA', 'buy', '1');
        trp_bridge_stop_trading('test');
        echo '{}';
        """
    )
    assert recorder.calls == [
        ("GET", "/api/status", SITE_KEYS["read"]),
        ("GET", "/api/portfolio", SITE_KEYS["read"]),
        ("POST", "/api/ws-ticket", SITE_KEYS["read"]),
        ("POST", "/api/trade/TSLA/buy", SITE_KEYS["trade"]),
        ("POST", "/api/stop_trading", SITE_KEYS["stop"]),
    ]


def test_the_real_robot_refuses_the_read_key_a_trade(wordpress, robot_up):
    """The read key (scope read) the shortcodes carry cannot trade at the robot: the split is real."""
    read_key = robot_up.site_keys["read"]
    answer = requests.post(
        f"{robot_up.url}/api/trade/TSLA/buy", json={"quantity": 1}, headers={"X-API-Key": read_key}, timeout=30
    )
    assert answer.status_code == 403, answer.text
    # And the site's own calls work with the keys of their roles.
    assert wp_error(wordpress, "trp_bridge_get_status()", user_id=1)["ok"]["market_open"] is True


def test_keys_may_come_from_wp_config_constants(wordpress, recorder):
    out = wordpress.php_json(
        f"""
        define('TRP_BRIDGE_READ_KEY', 'constant-read-key');
        wp_set_current_user(1);
        $without_url = trp_bridge_get_status();
        define('TRP_BRIDGE_ROBOT_URL', {json.dumps(recorder.url)});
        $with_url = trp_bridge_get_status();
        require_once TRP_BRIDGE_DIR . 'includes/admin.php';
        ob_start();
        trp_bridge_render_key_row('read', 'Read key', '');
        $row = ob_get_clean();
        echo wp_json_encode([
            'without_url' => $without_url->get_error_code(),
            'with_url' => is_wp_error($with_url) ? $with_url->get_error_code() : 'ok',
            'source' => trp_bridge_key_source('read'),
            'row' => $row,
        ]);
        """
    )
    # A key in wp-config.php goes only to the URL in wp-config.php.
    assert out["without_url"] == "trp_bridge_key_not_for_url"
    assert out["with_url"] == "ok" and out["source"] == "constant"
    assert recorder.calls == [("GET", "/api/status", "constant-read-key")]
    assert "Set in wp-config.php (TRP_BRIDGE_READ_KEY)" in out["row"]
    assert "constant-read-key" not in out["row"] and 'name="read_key"' not in out["row"]


# --- changing the robot URL requires re-entering the key ------------------------------------------------------------


def test_a_new_robot_url_needs_the_keys_again(wordpress, robot_up, recorder):
    session = login(wordpress)
    page = session.get(f"{wordpress.url}/wp-admin/admin.php?page=trp-bridge-settings", timeout=30)
    form = {"action": "trp_bridge_save_settings", "_wpnonce": nonce_of(page.text, "trp_bridge_save_settings")}
    elsewhere = "http://127.0.0.1:9"

    refused = session.post(
        f"{wordpress.url}/wp-admin/admin-post.php", data={**form, "robot_url": elsewhere}, timeout=30
    )
    assert "Nothing was saved: a new robot URL needs its keys entered again" in refused.text
    assert wordpress.php("echo get_option('trp_bridge_robot_url');") == recorder.url
    assert wordpress.php("echo get_option('trp_bridge_trade_key');") == SITE_KEYS["trade"]

    # One key entered is not enough while the others would follow the URL.
    partial = {**form, "robot_url": elsewhere, "read_key": "new-read"}
    answer = session.post(f"{wordpress.url}/wp-admin/admin-post.php", data=partial, timeout=30)
    assert "Enter the trade, stop key(s) with the new URL." in answer.text
    assert wordpress.php("echo get_option('trp_bridge_read_key');") == SITE_KEYS["read"]

    keys = {"read_key": "new-read", "trade_key": "new-trade", "clear_stop_key": "1"}
    saved = session.post(
        f"{wordpress.url}/wp-admin/admin-post.php", data={**form, "robot_url": recorder.url + "/", **keys}, timeout=30
    )
    assert "Settings saved." in saved.text  # the same URL (a trailing slash is no change)
    assert wordpress.php("echo get_option('trp_bridge_read_key') . ' ' . get_option('trp_bridge_stop_key', '-');") == (
        "new-read -"
    )

    # Code that changes the URL behind the settings page's back gets no key sent anywhere.
    wordpress.php(f"update_option('trp_bridge_robot_url', {json.dumps(recorder.url + '/elsewhere')});")
    error = wp_error(wordpress, "trp_bridge_get_status()", user_id=1)
    assert error["code"] == "trp_bridge_key_not_for_url"
    assert recorder.calls == []


# --- wp_safe_remote_request ---------------------------------------------------------------------------------------


def test_calls_go_through_wp_safe_remote_request(wordpress, recorder):
    """Without the site's permission (the http_allowed_safe_ports / http_request_host_is_external filters of the
    test site's mu-plugin) a loopback robot is refused before anything is sent: the plugin uses
    wp_safe_remote_request(), not wp_remote_request()."""
    wordpress.php("update_option('trp_test_allow_loopback', '0');")
    error = wp_error(wordpress, "trp_bridge_get_status()", user_id=1)
    assert error["code"] == "trp_bridge_url_refused" and error["data"]["retryable"] is False
    refused = execute_trade(wordpress, "TSLA", "buy", "1")["error"]
    assert refused["code"] == "trp_bridge_url_refused" and refused["data"]["final"] is True
    assert recorder.calls == []
    wordpress.php("update_option('trp_test_allow_loopback', '1');")
    assert "ok" in wp_error(wordpress, "trp_bridge_get_status()", user_id=1)
    assert len(recorder.calls) == 1


# --- public helpers check capabilities ------------------------------------------------------------------------------


def test_public_helpers_check_capabilities_unless_told_not_to(wordpress, robot_up, recorder):
    reader = wordpress.users["reader"]["id"]
    count = 'global $wpdb; echo (int) $wpdb->get_var("SELECT COUNT(*) FROM {$wpdb->prefix}trp_bridge_requests");'
    before = int(wordpress.php(count))
    for call, capability in (
        ("trp_bridge_execute_trade('TSLA', 'buy', '1')", "trp_bridge_trade"),
        ("trp_bridge_stop_trading('no')", "trp_bridge_stop"),
        ("trp_bridge_get_status()", "trp_bridge_view"),
        ("trp_bridge_get_portfolio()", "trp_bridge_view"),
        ("trp_bridge_get_request(1)", "trp_bridge_trade"),
    ):
        for user in (0, reader):
            error = wp_error(wordpress, call, user_id=user)
            assert error.get("code") == "trp_bridge_forbidden", (call, user, error)
            assert error["data"]["status"] == 403 and capability in error["message"]
    assert recorder.calls == [] and int(wordpress.php(count)) == before  # nothing sent, nothing recorded

    # The explicit argument skips the check: the site's own code (a CLI command, a cron job) decided for itself.
    assert wp_error(wordpress, "trp_bridge_execute_trade('TSLA', 'buy', '1', false)")["ok"]["status"] == "executed"
    assert wp_error(wordpress, "trp_bridge_stop_trading('cli', false)")["ok"]["status"] == "success"
    assert wp_error(wordpress, "trp_bridge_get_status(false)")["ok"]["status"] == "success"
    assert [c[1] for c in recorder.calls] == ["/api/trade/TSLA/buy", "/api/stop_trading", "/api/status"]


# --- the WebSocket ticket AJAX action ---------------------------------------------------------------------------


def visitor_nonce(wordpress) -> str:
    return wordpress.php("wp_set_current_user(0); echo trp_bridge_ws_client_config()['nonce'];")


def test_ws_ticket_ajax_gives_a_page_a_ticket_and_never_a_key(wordpress, robot_up):
    ajax = f"{wordpress.url}/wp-admin/admin-ajax.php"
    answer = requests.post(ajax, data={"action": "trp_bridge_ws_ticket", "nonce": visitor_nonce(wordpress)}, timeout=30)
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert answer.json()["success"] is True and data["expires_in"] == 30
    assert re.fullmatch(r"[A-Za-z0-9_\-]{20,100}", data["ticket"])
    assert data["url"] == robot_up.url.replace("http://", "ws://") + "/ws/updates?ticket=" + data["ticket"]
    for key in (*robot_up.site_keys.values(), robot_up.api_key):
        assert key not in answer.text
    # The ticket is the robot's own, issued to the read key (redeemable once, as a browser would).
    if "REDIS_URL" in robot_up.env:  # a ticket lives in the robot's cache: shared between processes only in Redis
        code = (
            "from tradingrobot.security.services import ws_ticket_redeem; from tradingrobot.security.models import "
            f"ApiKey; p = ws_ticket_redeem({data['ticket']!r}); "
            "print(p and ApiKey.objects.get(pk=p['id']).name, ws_ticket_redeem(" + repr(data["ticket"]) + "))"
        )
        assert robot_up.manage("shell", "-c", code).strip().splitlines()[-1] == "wordpress-read None"

    bad = requests.post(ajax, data={"action": "trp_bridge_ws_ticket", "nonce": "0123456789"}, timeout=30)
    assert bad.status_code == 403 and bad.json()["data"]["code"] == "trp_bridge_bad_nonce"


def test_ws_ticket_ajax_failures_are_generic_and_tickets_are_rate_limited(wordpress, recorder):
    recorder.shutdown()  # the robot unreachable
    ajax = f"{wordpress.url}/wp-admin/admin-ajax.php"
    answer = requests.post(ajax, data={"action": "trp_bridge_ws_ticket", "nonce": visitor_nonce(wordpress)}, timeout=30)
    assert answer.status_code == 503
    assert answer.json()["data"] == {
        "code": "trp_bridge_unavailable",
        "message": "Live updates are unavailable right now. Please try again later.",
    }
    allowed = wordpress.php_json(
        """
        $_SERVER['REMOTE_ADDR'] = '198.51.100.7';
        $out = [];
        for ($i = 0; $i < 21; $i++) { $out[] = trp_bridge_ws_ticket_allowed(); }
        echo wp_json_encode($out);
        """
    )
    assert allowed == [True] * 20 + [False]


# --- the receiver: widths, dates, conflicts, offsets -------------------------------------------------------------


def trade(**fields) -> dict:
    return {
        "trade_id": "T-sec-" + fields.pop("suffix", "x"),
        "symbol": "TSLA",
        "side": "BUY",
        "quantity": "2",
        "price": "250.5",
        "pnl": "0",
        "execution_time": "2025-12-26 15:30:00",
        **fields,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", "123456789012345"),  # decimal(18,4): 14 digits before the point
        ("price", "123456789012"),  # decimal(15,4): 11
        ("pnl", "-123456789012"),
        ("price", "250.12345"),  # 4 after the point (MariaDB would round it silently)
        ("quantity", 1e15),
        ("execution_time", "2025-02-30 10:00:00"),
        ("execution_time", "2025-12-26 24:00:00"),
        ("execution_time", "2025-12-26 23:59:60"),
        ("execution_time", "2025-12-26T10:00:00+99:00"),
        ("execution_time", "2025-03-09 02:30:00"),  # never happened in New York (clocks jumped 02:00 -> 03:00)
        ("execution_time", "0000-01-01 00:00:00"),
        ("execution_time", "9999-12-31T23:59:59-12:00"),
    ],
)
def test_receiver_refuses_what_its_columns_cannot_hold(wordpress, field, value):
    sent = trade(suffix=uuid.uuid4().hex[:12], **{field: value})
    answer = wordpress.rest("POST", "/trades", user="robot", json=sent)
    assert answer.status_code == 400, (field, value, answer.status_code, answer.text)
    assert answer.json()["data"]["params"] == {field: answer.json()["data"]["params"][field]}
    stored = wordpress.rest("GET", "/trades", params={"limit": 500}).json()["trades"]
    assert sent["trade_id"] not in {t["trade_id"] for t in stored}


def test_receiver_widths_accept_what_fits(wordpress):
    sent = trade(suffix="fits", quantity="12345678901234.1234", price="12345678901.5000", pnl="-99999999999.9999")
    answer = wordpress.rest("POST", "/trades", user="robot", json=sent)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["quantity"], answer.json()["price"], answer.json()["pnl"]) == (
        "12345678901234.1234",
        "12345678901.5000",
        "-99999999999.9999",
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("win_rate", "1234567"), ("sharpe_ratio", "123456789"), ("total_trades", "4294967296"), ("losing_trades", 10**12)],
)
def test_performance_metrics_fit_their_columns(wordpress, name, value):
    answer = wordpress.rest(
        "POST", "/performance", user="robot", json={"strategy_id": "SEC-WIDTH", "metrics": {name: value}}
    )
    assert answer.status_code == 400, answer.text
    assert name in answer.json()["data"]["params"]


def test_a_trade_id_again_with_other_content_is_a_409(wordpress):
    first = trade(suffix="again")
    assert wordpress.rest("POST", "/trades", user="robot", json=first).status_code == 201
    # The same trade again, its numbers written otherwise: the same content, 200.
    same = {**first, "quantity": "2.0000", "price": 250.5, "pnl": "0.00", "symbol": "tsla"}
    repeat = wordpress.rest("POST", "/trades", user="robot", json=same)
    assert repeat.status_code == 200, repeat.text
    assert repeat.json()["price"] == "250.5000"

    other = wordpress.rest("POST", "/trades", user="robot", json={**first, "price": "251", "side": "SELL"})
    assert other.status_code == 409, other.text
    assert other.json()["code"] == "trp_bridge_trade_conflict"
    assert other.json()["data"]["fields"] == ["side", "price"]
    stored = [
        t
        for t in wordpress.rest("GET", "/trades", params={"limit": 500}).json()["trades"]
        if t["trade_id"] == first["trade_id"]
    ]
    assert [(t["side"], t["price"]) for t in stored] == [("BUY", "250.5000")]


def test_trades_offset_is_capped(wordpress):
    assert wordpress.rest("GET", "/trades", params={"offset": 10000}).status_code == 200
    for offset in (10001, 1000000000, "99999999999999999999"):
        answer = wordpress.rest("GET", "/trades", params={"offset": offset})
        assert answer.status_code == 400, (offset, answer.text)
        assert answer.json()["data"]["params"] == {"offset": "must be a whole number from 0 to 10000"}


def test_upgrade_from_the_single_key_keeps_trading_and_stopping_but_not_shortcodes(wordpress, robot_up):
    """Version 1.0 had one key (scopes read, trade, admin): it becomes the trade and stop keys, bound to the URL it
    was used with; the shortcodes wait for a read-only key; administrators get the new capabilities."""
    try:
        out = wordpress.php_json(
            """
            foreach (['read', 'trade', 'stop'] as $role) { trp_bridge_store_key($role, '', ''); }
            update_option('trp_bridge_api_key', 'old-single-key', false);
            update_option('trp_bridge_db_version', '3');
            get_role('administrator')->remove_cap('trp_bridge_stop');
            trp_bridge_maybe_upgrade();
            $read = trp_bridge_credentials('read');
            echo wp_json_encode([
                'trade' => trp_bridge_credentials('trade'),
                'stop' => trp_bridge_credentials('stop'),
                'read' => is_wp_error($read) ? $read->get_error_code() : $read,
                'old' => get_option('trp_bridge_api_key', null),
                'cap' => get_role('administrator')->has_cap('trp_bridge_stop'),
            ]);
            """
        )
    finally:
        wordpress.point_robot_at(robot_up.url, robot_up.site_keys)
    assert out["trade"] == {"url": robot_up.url, "key": "old-single-key"}
    assert out["stop"] == {"url": robot_up.url, "key": "old-single-key"}
    assert out["read"] == "trp_bridge_not_configured"
    assert out["old"] is None and out["cap"] is True
