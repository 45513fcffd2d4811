"""The plugin trades through the real robot: the ledger, the queue when the robot is down, final 4xx."""

import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .conftest import execute_trade, login

pytestmark = pytest.mark.slow


def test_trade_through_plugin_appears_in_robot_ledger(wordpress, robot_up):
    result = execute_trade(wordpress, "TSLA", "buy", "3")

    assert result["status"] == "executed", result
    assert result["http_status"] == 201
    row = wordpress.request_row(result["request_id"])
    assert row["status"] == "executed" and row["attempts"] == "1"
    orders = robot_up.orders_with_key(row["idempotency_key"])
    assert len(orders) == 1
    assert orders[0]["id"] == result["order"]["id"] == int(row["robot_order_id"])
    assert (orders[0]["symbol"], orders[0]["side"], orders[0]["status"]) == ("TSLA", "buy", "filled")
    assert Decimal(str(orders[0]["qty"])) == 3


def spy_held(robot) -> Decimal:
    positions = robot.api("GET", "/api/portfolio").json()["positions"]
    return sum((Decimal(str(p["qty"])) for p in positions if p["symbol"] == "SPY"), Decimal(0))


def test_client_functions_status_portfolio_and_shortcodes(wordpress, robot_up):
    held = spy_held(robot_up)
    assert execute_trade(wordpress, "SPY", "buy", "2")["status"] == "executed"
    out = wordpress.php_json(
        """
        wp_set_current_user(1);
        delete_transient('trp_bridge_status');
        delete_transient('trp_bridge_portfolio');
        $status = trp_bridge_get_status();
        $portfolio = trp_bridge_get_portfolio();
        echo wp_json_encode([
            'status' => $status,
            'portfolio' => $portfolio,
            'status_html' => do_shortcode('[trp_status]'),
            'portfolio_html' => do_shortcode('[trp_portfolio]'),
            'cached' => is_array(get_transient('trp_bridge_status')) && is_array(get_transient('trp_bridge_portfolio')),
        ]);
        """
    )
    assert out["status"]["market_open"] is True
    spy = [p for p in out["portfolio"]["positions"] if p["symbol"] == "SPY"]
    assert spy and Decimal(str(spy[0]["qty"])) == held + 2
    assert '<dl class="trp-bridge-status">' in out["status_html"]
    assert str(out["status"]["portfolio_value"]) in out["status_html"]
    assert "<td>SPY</td>" in out["portfolio_html"]
    assert out["cached"] is True


def test_shortcode_output_is_escaped_and_served_from_the_transient(wordpress, robot_up):
    out = wordpress.php_json(
        """
        $evil = ['positions' => [['symbol' => '<script>x</script>', 'qty' => '1&2']]];
        set_transient('trp_bridge_portfolio', $evil, 30);
        $html = do_shortcode('[trp_portfolio]');
        delete_transient('trp_bridge_portfolio');
        echo wp_json_encode(['html' => $html]);
        """
    )
    assert "<script>" not in out["html"]
    assert "&lt;script&gt;x&lt;/script&gt;" in out["html"] and "1&amp;2" in out["html"]


def test_quantity_zero_is_refused_as_final_and_never_retried(wordpress, robot_up):
    result = execute_trade(wordpress, "TSLA", "buy", "0")

    error = result["error"]
    assert error["code"] == "invalid_quantity"
    assert "greater than zero" in error["message"]
    assert error["data"]["status"] == 400 and error["data"]["final"] is True
    request_id = error["data"]["request_id"]
    wordpress.run_cron()
    row = wordpress.request_row(request_id)
    assert (row["status"], row["attempts"], row["http_status"]) == ("failed", "1", "400")
    assert robot_up.orders_with_key(row["idempotency_key"]) == []


def test_unknown_symbol_is_final_404(wordpress, robot_up):
    error = execute_trade(wordpress, "ZZZZ", "buy", "1")["error"]
    assert error["data"]["status"] == 404 and error["data"]["final"] is True


def wait_until_due(wordpress, request_id: int, seconds: float = 10.0) -> dict:
    """Sleep until the request's next attempt is due (the backoff base is 1 s in these tests)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        due = wordpress.php_json(
            f"$r = trp_bridge_get_request({int(request_id)}, false);"
            "echo wp_json_encode(['due' => $r['next_attempt_at'] <= trp_bridge_now(), 'row' => $r]);"
        )
        if due["due"]:
            return due["row"]
        time.sleep(0.5)
    raise AssertionError("the queued request never became due")


def test_robot_down_queues_the_trade_then_cron_executes_it_exactly_once(wordpress, robot_up):
    robot = robot_up
    robot.stop()
    try:
        queued = execute_trade(wordpress, "NVDA", "buy", "4")
        assert queued["status"] == "queued", queued
        request_id = queued["request_id"]
        assert "delayed" in queued["message"]
        row = wordpress.request_row(request_id)
        assert (row["status"], row["attempts"], row["error_code"]) == ("queued", "1", "trp_bridge_unreachable")

        notices = wordpress.php_json("echo wp_json_encode(trp_bridge_user_notices(1));")
        assert any(
            n["type"] == "warning" and f"#{request_id}" in n["message"] and "delayed" in n["message"] for n in notices
        )
        # The admin sees it on any admin page, and the request list says so.
        page = login(wordpress).get(f"{wordpress.url}/wp-admin/admin.php?page=trp-bridge", timeout=30).text
        assert f"Trade #{request_id} BUY 4 NVDA is delayed" in page
        assert f'data-request-id="{request_id}" data-status="queued"' in page
        assert "Delayed: queued for retry" in page
        # The shortcodes say the robot is unavailable (once their last answer, kept at least 5 s, is gone).
        html = wordpress.php("delete_transient('trp_bridge_status'); echo do_shortcode('[trp_status]');")
        assert html.startswith('<p class="trp-bridge-error">Trading data is unavailable right now.')

        # Still down: a cron run retries, fails, and backs off again (1 s, then 2 s).
        wait_until_due(wordpress, request_id)
        wordpress.run_cron()
        row = wordpress.request_row(request_id)
        assert (row["status"], row["attempts"]) == ("queued", "2")
    finally:
        robot.start()
    robot.load_fresh_prices({"NVDA": "140.75"})

    wait_until_due(wordpress, request_id)
    wordpress.run_cron()
    row = wordpress.request_row(request_id)
    assert (row["status"], row["attempts"]) == ("executed", "3")
    orders = robot.orders_with_key(row["idempotency_key"])
    assert len(orders) == 1 and orders[0]["status"] == "filled" and Decimal(str(orders[0]["qty"])) == 4

    # Told again, once.
    notices = wordpress.php_json("echo wp_json_encode(trp_bridge_user_notices(1));")
    mine = [n for n in notices if f"#{request_id}" in n["message"]]
    assert [n["type"] for n in mine] == ["success"] and "has now executed" in mine[0]["message"]
    again = wordpress.php_json("echo wp_json_encode(trp_bridge_user_notices(1));")
    assert not [n for n in again if f"#{request_id}" in n["message"]]

    # More cron runs change nothing: still one order.
    wordpress.run_cron()
    assert wordpress.request_row(request_id)["attempts"] == "3"
    assert len(robot.orders_with_key(row["idempotency_key"])) == 1


def test_a_lost_answer_retried_with_the_same_key_does_not_trade_twice(wordpress, robot_up):
    """An attempt cut off after the robot executed it (the answer lost): the retry under the same
    Idempotency-Key gets the first order back (200), no second order."""
    first = execute_trade(wordpress, "QQQ", "buy", "1")
    request_id = first["request_id"]
    wordpress.php(
        f"""
        global $wpdb;
        $wpdb->update(trp_bridge_table('requests'),
            ['status' => 'sending', 'locked_until' => gmdate('Y-m-d H:i:s', time() - 1)], ['id' => {request_id}]);
        // A minute has passed: the queue sweep is due.
        wp_clear_scheduled_hook(TRP_BRIDGE_CRON_HOOK);
        wp_schedule_event(time() - 1, 'trp_bridge_minute', TRP_BRIDGE_CRON_HOOK);
        """
    )
    wordpress.run_cron()
    row = wordpress.request_row(request_id)
    assert (row["status"], row["http_status"], row["attempts"]) == ("executed", "200", "2")
    assert len(robot_up.orders_with_key(row["idempotency_key"])) == 1


def test_stop_trading_then_trades_are_refused_as_final(wordpress, robot_up):
    try:
        stop = "wp_set_current_user(1); echo wp_json_encode(trp_bridge_stop_trading('bridge test'));"
        stopped = wordpress.php_json(stop)
        assert stopped["status"] == "success" and stopped["trading_halted"] is True
        error = execute_trade(wordpress, "TSLA", "buy", "1")["error"]
        assert error["code"] == "trading_halted" and error["data"]["status"] == 423
    finally:
        assert robot_up.api("POST", "/api/resume_trading").status_code == 200


def test_bad_api_key_is_a_wp_error_with_the_robots_message(wordpress, robot_up):
    out = wordpress.php_json(
        """
        wp_set_current_user(1);
        $saved = get_option('trp_bridge_read_key');
        update_option('trp_bridge_read_key', 'not-a-key');
        $r = trp_bridge_get_status();
        update_option('trp_bridge_read_key', $saved);
        echo wp_json_encode(
            ['code' => $r->get_error_code(), 'message' => $r->get_error_message(), 'data' => $r->get_error_data()]
        );
        """
    )
    assert out["data"]["status"] == 401 and out["data"]["retryable"] is False
    assert out["message"]


class StandIn(ThreadingHTTPServer):
    """A loopback server in front of nothing: answers 502 like a proxy whose backend is down, or too slowly."""

    mode = "bad_gateway"


class StandInHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.server.mode == "slow":
            time.sleep(3)
        body = b"<html><body>502 Bad Gateway</body></html>"
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_5xx_and_timeouts_are_queued_then_executed_once_by_the_real_robot(wordpress, robot_up):
    stand_in = StandIn(("127.0.0.1", 8482), StandInHandler)
    threading.Thread(target=stand_in.serve_forever, daemon=True).start()
    try:
        wordpress.point_robot_at("http://127.0.0.1:8482")
        wordpress.php("update_option('trp_bridge_timeout', 1);")
        bad_gateway = execute_trade(wordpress, "TSLA", "buy", "1")
        stand_in.mode = "slow"
        timed_out = execute_trade(wordpress, "SPY", "buy", "1")
    finally:
        wordpress.point_robot_at(robot_up.url)
        wordpress.php("update_option('trp_bridge_timeout', 5);")
        stand_in.shutdown()
        stand_in.server_close()

    assert bad_gateway["status"] == "queued" and timed_out["status"] == "queued"
    first = wordpress.request_row(bad_gateway["request_id"])
    assert (first["status"], first["http_status"], first["error_code"]) == ("queued", "502", "trp_bridge_http_502")
    second = wordpress.request_row(timed_out["request_id"])
    assert (second["status"], second["error_code"]) == ("queued", "trp_bridge_unreachable")
    assert "timed out" in second["last_error"].lower()

    for request in (first, second):
        wait_until_due(wordpress, int(request["id"]))
    wordpress.run_cron()
    for request in (first, second):
        row = wordpress.request_row(int(request["id"]))
        assert (row["status"], row["attempts"]) == ("executed", "2")
        assert len(robot_up.orders_with_key(row["idempotency_key"])) == 1


def test_still_unreachable_after_the_last_attempt_fails_for_good_and_says_so(wordpress, robot_up):
    wordpress.point_robot_at("http://127.0.0.1:8483")
    wordpress.php("update_option('trp_bridge_max_attempts', 2);")
    try:
        queued = execute_trade(wordpress, "TSLA", "buy", "1")
        assert queued["status"] == "queued"
        request_id = queued["request_id"]
        wait_until_due(wordpress, request_id)
        wordpress.run_cron()
    finally:
        wordpress.point_robot_at(robot_up.url)
        wordpress.php("update_option('trp_bridge_max_attempts', 5);")
    row = wordpress.request_row(request_id)
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("failed", "2", None)
    assert row["last_error"].startswith("Gave up after 2 attempts: The trading robot could not be reached")
    notices = wordpress.php_json("echo wp_json_encode(trp_bridge_user_notices(1));")
    mine = [n for n in notices if f"#{request_id}" in n["message"]]
    assert [n["type"] for n in mine] == ["error"] and "finally failed" in mine[0]["message"]
    # Final: the robot back does not revive it.
    wordpress.run_cron()
    assert wordpress.request_row(request_id)["status"] == "failed"
    assert robot_up.orders_with_key(row["idempotency_key"]) == []
