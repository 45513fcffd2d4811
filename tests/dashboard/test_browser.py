"""The live page in a real browser: Debian's Chromium, driven by Playwright, against daphne on loopback.

daphne runs on this test's PostgreSQL database and Redis, so what this process does (a price stored, a trade made
while the server is down) reaches the page the way a Celery worker's writes do. Every request the browser makes
is recorded; screenshots (desktop and phone width) are written under var/test-artifacts/dashboard/.
Fails (never skips) when REQUIRE_SERVICES=1 and PostgreSQL, Redis or Chromium is missing."""

import time
from decimal import Decimal

import pytest

from trading.order_request import order_request_parse
from trading.services import order_place

from .browser_kit import ARTIFACTS, DESKTOP, PASSWORD, PHONE, Server, api_call, open_page, store_price, wait_live

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def screenshots(browser, server: Server, username: str) -> None:
    """The page at desktop and phone width, as test artifacts (README's picture is a copy of desktop.png)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page, watch = open_page(browser, server, username, viewport=viewport)
        wait_live(page)
        page.wait_for_function("window.dashboard.markers && window.dashboard.markers.length > 0")
        page.wait_for_timeout(300)  # the chart paints on the next animation frame
        widest = page.evaluate("document.documentElement.scrollWidth")
        assert widest <= viewport["width"], f"the page is {widest} px wide on a {viewport['width']} px screen"
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        assert watch.console_errors == []
        assert watch.foreign() == []
        page.context.close()


def test_login_renders_with_no_console_error_and_nothing_leaving_the_host(browser, server, make_user, priced):
    make_user("op", staff=True, halt=True)
    page, watch = open_page(browser, server, "op")
    wait_live(page)
    page.wait_for_function("document.querySelectorAll('#prices tbody tr').length > 0")
    assert page.locator('#prices tr[data-symbol="TSLA"] td').first.inner_text() == "$250.00"
    assert page.locator('#prices tr[data-symbol="TSLA"] td.source').inner_text() == "manual"
    assert page.locator("#halt-banner").is_hidden()
    assert page.locator("footer").inner_text().startswith("Charts: TradingView Lightweight Charts™")
    page.wait_for_timeout(500)  # late requests and errors, if any, show up too
    assert watch.console_errors == []
    assert watch.requests, "no request recorded"
    assert watch.foreign() == []
    assert any(url.startswith(f"ws://127.0.0.1:{server.port}/ws/updates?ticket=") for url in watch.requests)
    assert not any("api_key" in url.lower() or "x-api-key" in url.lower() for url in watch.requests)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "requests.txt").write_text("\n".join(watch.requests) + "\n")


def test_trade_and_price_show_within_two_seconds_and_positions_equal_the_api(browser, server, make_user, key, priced):
    make_user("op", staff=True)
    page, watch = open_page(browser, server, "op")
    wait_live(page)
    assert page.locator("#chart-symbol").input_value() == "TSLA"  # the first symbol with data
    page.wait_for_function("window.dashboard.lastBar && window.dashboard.lastBar.close === 250")
    assert page.evaluate("window.dashboard.bars.length") >= 90

    status, answer = api_call(server, key, "POST", "/api/trade/TSLA/buy", {"quantity": 3})
    sent = time.monotonic()
    assert status == 201, answer
    order_id = answer["order"]["id"]
    page.wait_for_selector(f'#orders tr[data-order-id="{order_id}"][data-status="filled"]', timeout=2000)
    page.wait_for_function(
        f"window.dashboard.markers.some(m => m.id === '{order_id}' && m.shape === 'arrowUp')", timeout=2000
    )
    assert time.monotonic() - sent <= 2.0

    store_price("TSLA", "261.25")
    sent = time.monotonic()
    page.wait_for_function("window.dashboard.lastBar && window.dashboard.lastBar.close === 261.25", timeout=2000)
    assert time.monotonic() - sent <= 2.0

    _, portfolio = api_call(server, key, "GET", "/api/portfolio")
    page.wait_for_function(
        "document.querySelector('#positions tr[data-symbol=\"TSLA\"] td:nth-child(4)').textContent === '$261.25'",
        timeout=2000,
    )
    rows = page.locator("#positions tbody tr[data-symbol]")
    shown = [
        (
            row.get_attribute("data-symbol"),
            Decimal(row.get_attribute("data-qty")),
            row.locator("td").nth(3).inner_text(),
        )
        for row in rows.all()
    ]
    expected = [
        (p["symbol"], Decimal(str(p["qty"])), f"${Decimal(str(p['market_value'])):,.2f}")
        for p in portfolio["positions"]
    ]
    assert shown == expected == [("TSLA", Decimal("3"), "$783.75")]
    assert watch.console_errors == []
    assert watch.foreign() == []
    screenshots(browser, server, "op")


def assert_banner_within_a_second(page) -> None:
    """From the confirm click as the browser received it (the event's time) to the banner drawn, in the page's
    own clock: what the operator waits for. Playwright's delivery of the click to the browser is not in it (on a
    loaded 2-core machine that alone takes a few hundred ms; bench/dashboard_latency.py reports both)."""
    kill = page.evaluate("window.dashboard.kill")
    assert kill["shown"] - kill["clicked"] <= 1000, kill


def test_kill_switch_halts_shows_the_banner_survives_a_reload_and_resume_clears_it(
    browser, server, make_user, key, priced
):
    make_user("op", staff=True, halt=True)
    page, watch = open_page(browser, server, "op")
    wait_live(page)

    page.click("#stop-open")
    page.fill("#stop-reason", "browser drill")
    page.click("#stop-cancel")  # the confirm step: cancelling does nothing
    page.wait_for_timeout(300)
    assert api_call(server, key, "GET", "/api/status")[1]["trading_halted"] is False

    page.click("#stop-open")
    page.fill("#stop-reason", "browser drill")
    page.click("#stop-confirm")
    page.wait_for_selector("#halt-banner:not([hidden])", timeout=5000)
    assert_banner_within_a_second(page)
    banner = page.locator("#halt-banner").inner_text()
    assert "TRADING HALTED by user:op" in banner and "browser drill" in banner
    status, refused = api_call(server, key, "POST", "/api/trade/TSLA/buy", {"quantity": 1})
    assert (status, refused["code"]) == (423, "trading_halted")

    page.reload()
    page.wait_for_selector("#halt-banner:not([hidden])", timeout=5000)
    assert "browser drill" in page.locator("#halt-banner").inner_text()
    assert page.locator("#resume-open").is_visible() and page.locator("#stop-open").is_hidden()

    page.click("#resume-open")
    page.click("#resume-confirm")
    page.wait_for_selector("#halt-banner[hidden]", state="attached", timeout=5000)
    assert api_call(server, key, "GET", "/api/status")[1]["trading_halted"] is False
    assert api_call(server, key, "POST", "/api/trade/TSLA/buy", {"quantity": 1})[0] == 201
    assert watch.console_errors == []
    assert watch.foreign() == []


def test_the_stop_sends_no_read_until_answered_and_rereads_after(browser, server, make_user, priced):
    """Reads asked for while the stop is on its way (the frames of the orders it cancels) wait for its answer,
    so on the server the stop never queues behind the page's own re-reads; they are sent afterwards."""
    resting = [
        order_place(
            request=order_request_parse(ticker="TSLA", side="buy", qty="1", type="limit", limit_price=str(100 + i)),
            placed_by="tests",
        )[0]
        for i in range(3)
    ]
    make_user("op", staff=True, halt=True)
    page, watch = open_page(browser, server, "op")
    wait_live(page)
    for order in resting:
        page.wait_for_selector(f'#orders tr[data-order-id="{order.pk}"][data-status="accepted"]')
    seen: list[tuple[str, str, str]] = []
    page.on("request", lambda r: seen.append(("sent", r.method, r.url)))
    page.on("response", lambda r: seen.append(("answered", r.request.method, r.url)))
    page.click("#stop-open")
    page.click("#stop-confirm")
    for order in resting:  # canceled by the halt; the rows follow from the reads sent after the answer
        page.wait_for_selector(f'#orders tr[data-order-id="{order.pk}"][data-status="canceled"]', timeout=5000)
    stop = f"{server.base}/dashboard/api/stop_trading"
    start, end = seen.index(("sent", "POST", stop)), seen.index(("answered", "POST", stop))
    during = [url for kind, method, url in seen[start:end] if kind == "sent" and method == "GET"]
    after = [url for kind, method, url in seen[end:] if kind == "sent" and method == "GET"]
    assert during == []
    assert any(url.startswith(f"{server.base}/dashboard/api/orders") for url in after)
    assert page.evaluate("window.dashboard.kill.frame") is not None
    assert watch.console_errors == []


def test_keyboard_alone_reaches_and_confirms_the_kill_switch(browser, server, make_user, key, priced):
    make_user("op", staff=True, halt=True)
    page, _ = open_page(browser, server, "op")
    wait_live(page)
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "stop-open":
            break
    else:
        raise AssertionError("Tab never reached the stop button")
    page.keyboard.press("Enter")
    page.keyboard.type("keyboard drill")  # the dialog focuses its first field, the reason
    page.locator("#stop-confirm").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#halt-banner:not([hidden])", timeout=5000)
    assert_banner_within_a_second(page)
    assert api_call(server, key, "GET", "/api/status")[1]["halt_reason"] == "keyboard drill"
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('button, select, input:not([type=hidden])')].filter(c =>
            !(c.labels && c.labels.length) && !c.getAttribute('aria-label') && !c.textContent.trim()
        ).map(c => c.outerHTML)"""
    )
    assert unlabelled == []


def test_server_drop_shows_connection_lost_reconnects_and_shows_what_happened(browser, server, make_user, priced):
    make_user("op", staff=True)
    page, _ = open_page(browser, server, "op")
    wait_live(page)
    snapshots_before = page.evaluate("window.dashboard.reconnects")

    server.stop()
    page.wait_for_selector('#connection[data-state="lost"]', timeout=2000)
    assert "Connection lost" in page.locator("#connection").inner_text()
    order, _ = order_place(request=order_request_parse(ticker="TSLA", side="buy", qty="2"), placed_by="meanwhile")
    assert page.locator(f'#orders tr[data-order-id="{order.pk}"]').count() == 0

    server.start()
    back = time.monotonic()
    page.wait_for_selector('#connection[data-state="live"]', timeout=5000)
    page.wait_for_selector(f'#orders tr[data-order-id="{order.pk}"][data-status="filled"]', timeout=5000)
    assert time.monotonic() - back <= 5.0
    assert page.evaluate("window.dashboard.reconnects") > snapshots_before
    page.wait_for_function("document.querySelector('#positions tr[data-symbol=\"TSLA\"]')?.dataset.qty === '2'")


def test_non_staff_and_anonymous_get_no_page_and_no_data(browser, server, make_user):
    make_user("clerk", staff=False)
    anonymous, watch = open_page(browser, server, None)
    response = anonymous.goto(f"{server.base}/dashboard/")
    assert anonymous.url.startswith(f"{server.base}/dashboard/login/")
    assert response.status == 200 and anonymous.locator("#dashboard-config").count() == 0
    for path in ("status", "portfolio", "orders", "market_data/TSLA", "equity"):
        answer = anonymous.request.get(f"{server.base}/dashboard/api/{path}")
        assert answer.status == 403, (path, answer.status)
        assert "positions" not in answer.text() and "orders" not in answer.json()
    assert anonymous.request.post(f"{server.base}/dashboard/api/ws-ticket").status == 403

    clerk, _ = open_page(browser, server, None)
    clerk.goto(f"{server.base}/dashboard/login/")
    clerk.fill("#id_username", "clerk")
    clerk.fill("#id_password", PASSWORD)
    clerk.click("button[type=submit]")
    clerk.wait_for_load_state()
    response = clerk.goto(f"{server.base}/dashboard/")
    assert response.status == 403 and clerk.locator("#dashboard-config").count() == 0
    for path in ("status", "portfolio", "orders", "market_data/TSLA", "equity"):
        assert clerk.request.get(f"{server.base}/dashboard/api/{path}").status == 403, path
    assert watch.foreign() == []
