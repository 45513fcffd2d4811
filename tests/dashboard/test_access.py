"""Who gets the live page and its data, and how it writes: staff sessions only, CSRF on every write, the halt
permission for the kill switch, the same documents and services as the API, a WebSocket ticket for the session."""

import json
from decimal import Decimal

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client

from trading.models import Order, TradingState
from trading.order_request import order_request_parse
from trading.realtime.hub import hub_stop
from trading.services import order_place, trading_state_get
from tradingrobot.security.models import AuditEvent

from ..conftest import MARKET_OPEN_AT

DATA_ROUTES = (
    "status",
    "portfolio",
    "orders",
    "market_data/TSLA",
    "equity",
    "performance",
    "strategies",
    "strategies/S-TSLA",
    "strategies/S-TSLA/decisions",
    "backtests",
    "backtests/1",
    "backtests/1/report",
    "backtests/1/equity.png",
)
WRITES = (
    ("post", "stop_trading"),
    ("post", "resume_trading"),
    ("post", "ws-ticket"),
    ("delete", "orders/1"),
    ("patch", "strategies/S-TSLA"),
    ("post", "backtests"),
)


def logged_in(username: str, *, csrf_checks: bool = False) -> Client:
    """A session of `username` (the login form itself is driven by the browser tests)."""
    client = Client(enforce_csrf_checks=csrf_checks)
    client.force_login(get_user_model().objects.get(username=username))
    return client


def csrf_of(client: Client) -> str:
    client.get("/dashboard/")
    return client.cookies["csrftoken"].value


@pytest.fixture
def operator(make_user):
    make_user("op", staff=True, halt=True)
    return logged_in("op", csrf_checks=True)


def test_anonymous_is_sent_to_the_login_page(db):
    response = Client().get("/dashboard/")
    assert (response.status_code, response["Location"]) == (302, "/dashboard/login/?next=/dashboard/")


@pytest.mark.parametrize("route", DATA_ROUTES)
def test_anonymous_and_non_staff_get_no_data(db, make_user, route):
    make_user("clerk", staff=False)
    for client in (Client(), logged_in("clerk")):
        response = client.get(f"/dashboard/api/{route}")
        assert response.status_code == 403
        assert set(response.json()) == {"status", "code", "message"}


@pytest.mark.parametrize(("method", "route"), WRITES)
def test_anonymous_and_non_staff_cannot_write(db, make_user, method, route):
    make_user("clerk", staff=False)
    for client in (Client(), logged_in("clerk")):
        assert getattr(client, method)(f"/dashboard/api/{route}").status_code == 403
    assert trading_state_get().halted is False


def test_non_staff_gets_a_403_not_the_page(db, make_user):
    make_user("clerk", staff=False)
    response = logged_in("clerk").get("/dashboard/")
    assert response.status_code == 403
    assert b"dashboard-config" not in response.content


def test_staff_gets_the_page_without_any_credential_in_it(db, make_user, api_key):
    make_user("viewer", staff=True)
    response = logged_in("viewer").get("/dashboard/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="dashboard-config"' in page
    assert api_key[1] not in page and "Api-Key" not in page
    assert 'id="stop-open"' not in page  # no halt permission: no kill switch
    assert "TradingView Lightweight Charts™" in page and "https://www.tradingview.com/" in page


def test_the_page_documents_equal_the_api_documents(operator, api):
    for route in ("status", "portfolio", "orders?status=all&limit=50", "market_data/TSLA?timeframe=1Day"):
        mine, theirs = operator.get(f"/dashboard/api/{route}").json(), api.get(f"/api/{route}").json()
        for document in (mine, theirs):
            document.pop("timestamp", None)
            for price in document.get("prices", []):
                price.pop("age_seconds")
        assert mine == theirs, route


def test_stop_without_the_csrf_token_is_refused_and_changes_nothing(operator):
    response = operator.post("/dashboard/api/stop_trading", {"reason": "x"}, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert "CSRF" in response.json()["message"]
    assert trading_state_get().halted is False


def test_stop_needs_the_halt_permission(make_user):
    make_user("viewer", staff=True)
    viewer = logged_in("viewer", csrf_checks=True)
    token = csrf_of(viewer)
    response = viewer.post("/dashboard/api/stop_trading", {}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 403
    assert "trading.halt_trading" in response.json()["message"]
    assert trading_state_get().halted is False


def test_stop_and_resume_with_session_and_csrf_go_through_the_halt_service(operator, api, market_open, add_price):
    add_price("TSLA", "250", MARKET_OPEN_AT)
    token = csrf_of(operator)
    body = {"reason": "page drill", "liquidate": False}
    stop = operator.post("/dashboard/api/stop_trading", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert stop.status_code == 200, stop.json()
    state = TradingState.objects.get()
    assert (state.halted, state.reason, state.changed_by) == (True, "page drill", "user:op")
    refused = api.post("/api/trade/TSLA/buy", {"quantity": 1}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (423, "trading_halted")

    resume = operator.post("/dashboard/api/resume_trading", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert resume.status_code == 200
    assert trading_state_get().halted is False
    audited = AuditEvent.objects.filter(actor="user:op").order_by("pk").values_list("action", "outcome", "api_key")
    assert list(audited) == [("trading_halt", 200, None), ("trading_resume", 200, None)]


def test_cancel_from_the_page(operator, market_open, add_price):
    add_price("TSLA", "250", MARKET_OPEN_AT)
    resting = order_request_parse(ticker="TSLA", side="buy", qty="1", type="limit", limit_price="100")
    order, _ = order_place(request=resting, placed_by="tests")
    assert order.status == Order.Status.ACCEPTED
    token = csrf_of(operator)
    response = operator.delete(f"/dashboard/api/orders/{order.pk}", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.status, order.canceled_at is not None) == (Order.Status.CANCELED, True)


def test_equity_curve_lists_snapshots_oldest_first(operator):
    from portfolio.equity import equity_snapshot_take

    first = equity_snapshot_take()
    points = operator.get("/dashboard/api/equity").json()["points"]
    assert [p["equity"] for p in points] == [float(first.equity)]


@pytest_asyncio.fixture
async def hub_cleanup():
    yield
    await hub_stop()
    await database_sync_to_async(connections.close_all)()  # the connection of the thread that ran the ORM calls


def _ws(ticket: str, origin: bytes = b"http://testserver") -> WebsocketCommunicator:
    from tradingrobot.asgi import application

    headers = [(b"origin", origin), (b"host", b"testserver")]
    return WebsocketCommunicator(application, f"/ws/updates?ticket={ticket}", headers=headers)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_the_session_ticket_opens_the_updates_stream(make_user, hub_cleanup):
    await database_sync_to_async(make_user)("op", staff=True)
    client = await database_sync_to_async(logged_in)("op")
    ticket = (
        await database_sync_to_async(client.post)("/dashboard/api/ws-ticket", content_type="application/json")
    ).json()["ticket"]
    ws = _ws(ticket)
    connected, _ = await ws.connect(timeout=10)
    assert connected
    snapshot = json.loads(await ws.receive_from(timeout=10))
    assert (snapshot["type"], snapshot["snapshot"], snapshot["seq"]) == ("status", True, 1)
    await ws.disconnect()

    again = _ws(ticket)  # single use
    await again.connect(timeout=10)
    refused = json.loads(await again.receive_from(timeout=10))
    assert refused["code"] == "invalid_ticket"
    await again.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_a_foreign_origin_or_a_user_no_longer_staff_is_refused(make_user, hub_cleanup):
    user = await database_sync_to_async(make_user)("op", staff=True)
    client = await database_sync_to_async(logged_in)("op")

    def ticket() -> str:
        return client.post("/dashboard/api/ws-ticket", content_type="application/json").json()["ticket"]

    foreign = _ws(await database_sync_to_async(ticket)(), origin=b"https://evil.example")
    connected, _ = await foreign.connect(timeout=10)
    assert not connected

    pending = await database_sync_to_async(ticket)()
    user.is_staff = False
    await database_sync_to_async(user.save)()
    demoted = _ws(pending)
    await demoted.connect(timeout=10)
    refused = json.loads(await demoted.receive_from(timeout=10))
    assert (refused["code"], refused["message"]) == (
        "invalid_ticket",
        "The user behind this ticket is no longer staff.",
    )
    await demoted.disconnect()


def test_the_status_the_page_reads_names_each_symbols_source_and_the_fallback(operator, add_price):
    from market.models import PriceSample, Symbol
    from market.services import SampleIn, sample_upsert_many

    add_price("TSLA", "250", MARKET_OPEN_AT)
    status = operator.get("/dashboard/api/status").json()
    assert {p["symbol"]: p["source"] for p in status["prices"]} == {
        "NVDA": None,
        "QQQ": None,
        "SPY": None,
        "TSLA": "manual",
    }
    nvda = Symbol.objects.get(ticker="NVDA")
    sample = SampleIn(nvda.pk, MARKET_OPEN_AT, Decimal("180"), 0)
    sample_upsert_many(samples=[sample], source=PriceSample.Source.ALPACA)
    status = operator.get("/dashboard/api/status").json()
    assert {p["symbol"]: p["source"] for p in status["prices"]}["NVDA"] == "alpaca"
    assert status["market_data"] == {"source": "alpaca"}


def test_staff_without_the_halt_permission_cancels_only_its_own_orders(make_user, market_open, add_price):
    """Issue 13 item 4 on the live page: another principal's order needs the page's admin (halt permission)."""
    make_user("desk", staff=True)
    desk = logged_in("desk", csrf_checks=True)
    add_price("TSLA", "250", MARKET_OPEN_AT)
    resting = order_request_parse(ticker="TSLA", side="buy", qty="1", type="limit", limit_price="100")
    order, _ = order_place(request=resting, placed_by="tests", principal="key:abcdefgh")
    response = desk.delete(f"/dashboard/api/orders/{order.pk}", HTTP_X_CSRFTOKEN=csrf_of(desk))
    assert (response.status_code, response.json()["code"]) == (403, "order_not_yours")
    order.refresh_from_db()
    assert order.status == Order.Status.ACCEPTED
    listed = desk.get("/dashboard/api/orders").json()["orders"]
    assert [o["client_order_id"] for o in listed] == [None]
