"""The admin screens through a real browser-like session: settings (key never shown in full), nonces,
test connection, and the trade form showing a robot refusal as final."""

import re

import pytest

from .conftest import login

pytestmark = pytest.mark.slow


def nonce_of(html: str, action: str) -> str:
    form = re.search(
        rf'name="action" value="{action}">\s*<input type="hidden" id="_wpnonce" name="_wpnonce" value="(\w+)"', html
    )
    assert form, f"no nonce for {action}"
    return form.group(1)


def test_settings_page_masks_the_key_and_test_connection_calls_the_robot(wordpress, robot_up):
    session = login(wordpress)
    page = session.get(f"{wordpress.url}/wp-admin/admin.php?page=trp-bridge-settings", timeout=30)
    assert page.status_code == 200
    for key in robot_up.site_keys.values():
        assert key not in page.text
        assert "••••••••" + key[-4:] in page.text
    assert robot_up.url in page.text

    answer = session.post(
        f"{wordpress.url}/wp-admin/admin-post.php",
        data={"action": "trp_bridge_test_connection", "_wpnonce": nonce_of(page.text, "trp_bridge_test_connection")},
        timeout=30,
    )
    assert answer.status_code == 200 and "page=trp-bridge-settings" in answer.url
    assert "Connected to the trading robot. Market open: yes" in answer.text


def test_forms_without_a_valid_nonce_are_refused(wordpress, robot_up):
    session = login(wordpress)
    for action in ("trp_bridge_trade", "trp_bridge_save_settings", "trp_bridge_test_connection"):
        answer = session.post(
            f"{wordpress.url}/wp-admin/admin-post.php",
            data={"action": action, "_wpnonce": "0123456789", "symbol": "TSLA", "side": "buy", "quantity": "1"},
            timeout=30,
        )
        assert answer.status_code == 403, (action, answer.status_code)
    # The settings stayed as they were.
    assert wordpress.php("echo get_option('trp_bridge_robot_url');") == robot_up.url


def test_subscriber_cannot_reach_the_admin_screens(wordpress, robot_up):
    session = login(wordpress, "reader")
    page = session.get(f"{wordpress.url}/wp-admin/admin.php?page=trp-bridge-settings", timeout=30)
    assert page.status_code == 403
    answer = session.post(f"{wordpress.url}/wp-admin/admin-post.php", data={"action": "trp_bridge_trade"}, timeout=30)
    assert answer.status_code == 403


def test_trade_form_shows_a_4xx_as_final(wordpress, robot_up):
    session = login(wordpress)
    page = session.get(f"{wordpress.url}/wp-admin/admin.php?page=trp-bridge", timeout=30)
    answer = session.post(
        f"{wordpress.url}/wp-admin/admin-post.php",
        data={
            "action": "trp_bridge_trade",
            "_wpnonce": nonce_of(page.text, "trp_bridge_trade"),
            "symbol": "TSLA",
            "side": "buy",
            "quantity": "0",
        },
        timeout=30,
    )
    assert answer.status_code == 200 and "page=trp-bridge" in answer.url
    assert "Trade refused (final, HTTP 400): quantity must be greater than zero" in answer.text
    latest = re.search(r'<tr data-request-id="(\d+)" data-status="(\w+)">', answer.text)
    assert latest and latest.group(2) == "failed"
    row_html = answer.text[latest.start() : answer.text.index("</tr>", latest.start())]
    assert "Failed (final)" in row_html and "SELL" not in row_html and "BUY 0 TSLA" in row_html
    assert robot_up.orders_with_key(wordpress.request_row(int(latest.group(1)))["idempotency_key"]) == []


def test_trade_form_places_a_trade(wordpress, robot_up):
    session = login(wordpress)
    page = session.get(f"{wordpress.url}/wp-admin/admin.php?page=trp-bridge", timeout=30)
    answer = session.post(
        f"{wordpress.url}/wp-admin/admin-post.php",
        data={
            "action": "trp_bridge_trade",
            "_wpnonce": nonce_of(page.text, "trp_bridge_trade"),
            "symbol": "spy",
            "side": "buy",
            "quantity": "1",
        },
        timeout=30,
    )
    notice = re.search(r'trp-bridge-notice"><p>([^<]*)', answer.text)
    assert notice and notice.group(1).startswith("Trade sent: robot order"), notice and notice.group(1)
    latest = re.search(r'<tr data-request-id="(\d+)" data-status="(\w+)">', answer.text)
    assert latest.group(2) == "executed"
    assert len(robot_up.orders_with_key(wordpress.request_row(int(latest.group(1)))["idempotency_key"])) == 1
