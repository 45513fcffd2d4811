import json
from decimal import Decimal

import pytest

from portfolio.ledger import account_get_or_create
from portfolio.models import Account
from trading.models import Order


def post_json(api, url, body):
    return api.post(url, data=json.dumps(body) if not isinstance(body, str) else body, content_type="application/json")


def assert_error(response, status: int, code: str, *fragments: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status"] == "error"
    assert body["code"] == code
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    return body


def assert_nothing_changed():
    assert not Order.objects.exists()
    assert account_get_or_create().cash == Decimal("100000")


def test_quantity_in_json_body_as_the_wordpress_plugin_sends_it(api, priced):
    response = post_json(api, "/api/trade/TSLA/buy", {"quantity": 10})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "success"
    order = body["order"]
    assert (order["symbol"], order["side"], order["qty"], order["status"]) == ("TSLA", "buy", 10.0, "filled")
    assert order["filled_avg_price"] == 250.0
    assert order["submitted_at"].endswith("Z")


def test_quantity_in_query_string_as_the_original_backend_took_it(api, priced):
    response = api.post("/api/trade/tsla/BUY?quantity=3")
    assert response.status_code == 201, response.content
    assert response.json()["order"]["qty"] == 3.0


def test_form_encoded_body(api, priced):
    form = "application/x-www-form-urlencoded"
    response = api.post("/api/trade/TSLA/buy", "quantity=2", content_type=form)
    assert response.status_code == 201, response.content


def test_limit_order_fields(api, priced):
    response = post_json(
        api, "/api/trade/TSLA/buy", {"quantity": "1.5", "type": "limit", "limit_price": "240", "time_in_force": "gtc"}
    )
    assert response.status_code == 201
    order = response.json()["order"]
    assert (order["type"], order["limit_price"], order["time_in_force"], order["status"]) == (
        "limit",
        240.0,
        "gtc",
        "accepted",
    )


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({}, "missing_quantity", "quantity is required"),
        ({"quantity": None}, "missing_quantity", "quantity is required"),
        ({"quantity": 0}, "invalid_quantity", "greater than zero"),
        ({"quantity": -5}, "invalid_quantity", "greater than zero"),
        ({"quantity": "ten"}, "invalid_quantity", "must be a number"),
        ({"quantity": "NaN"}, "invalid_quantity", "finite"),
        ({"quantity": "Infinity"}, "invalid_quantity", "finite"),
        ({"quantity": "-inf"}, "invalid_quantity", "finite"),
        ({"quantity": True}, "invalid_quantity", "must be a number"),
        ({"quantity": [1]}, "invalid_quantity", "must be a number"),
        ({"quantity": {"n": 1}}, "invalid_quantity", "must be a number"),
        ({"quantity": "1.23456"}, "invalid_quantity", "at most 4 decimal places"),
        ({"quantity": 1e300}, "invalid_quantity", "at most 100000"),
        ({"quantity": "1e400000"}, "invalid_quantity", "at most 100000"),
        ({"quantity": 1, "type": "stop"}, "invalid_type", "market, limit"),
        ({"quantity": 1, "type": "limit"}, "missing_limit_price", "limit_price is required"),
        ({"quantity": 1, "type": "limit", "limit_price": "-1"}, "invalid_limit_price", "greater than zero"),
        ({"quantity": 1, "limit_price": "10"}, "invalid_limit_price", "only allowed with type=limit"),
        ({"quantity": 1, "time_in_force": "ioc"}, "invalid_time_in_force", "day, gtc"),
        ({"quantity": 1, "client_order_id": "x" * 129}, "invalid_client_order_id", "at most 128"),
    ],
)
def test_bad_order_input_is_a_400_and_stores_nothing(api, priced, body, code, fragment):
    assert_error(post_json(api, "/api/trade/TSLA/buy", body), 400, code, fragment)
    assert_nothing_changed()


def test_bad_side(api, priced):
    assert_error(post_json(api, "/api/trade/TSLA/hold", {"quantity": 1}), 400, "invalid_side", "buy or sell")
    assert_nothing_changed()


def test_unknown_symbol(api, priced):
    assert_error(post_json(api, "/api/trade/ZZZZ/buy", {"quantity": 1}), 404, "unknown_symbol", "TSLA")
    assert_nothing_changed()


def test_nan_json_token_is_refused(api, priced):
    assert_error(post_json(api, "/api/trade/TSLA/buy", '{"quantity": NaN}'), 400, "malformed_request")
    assert_nothing_changed()


def test_malformed_json(api, priced):
    assert_error(post_json(api, "/api/trade/TSLA/buy", '{"quantity": '), 400, "malformed_request", "valid JSON")
    assert_nothing_changed()


def test_body_must_be_an_object(api, priced):
    assert_error(post_json(api, "/api/trade/TSLA/buy", [10]), 400, "invalid_body", "JSON object")


def test_quantity_given_twice_differently(api, priced):
    assert_error(post_json(api, "/api/trade/TSLA/buy?quantity=2", {"quantity": 3}), 400, "conflicting_quantity")
    assert_nothing_changed()


def test_rejection_is_a_422_with_the_stored_order(api, priced):
    body = assert_error(
        post_json(api, "/api/trade/TSLA/buy", {"quantity": 1000}), 422, "insufficient_cash", "cash is available"
    )
    assert body["order"]["status"] == "rejected"
    assert Account.objects.get().cash == Decimal("100000")


def test_halted_is_a_423(api, priced):
    assert api.post("/api/stop_trading").status_code == 200
    assert_error(post_json(api, "/api/trade/TSLA/buy", {"quantity": 1}), 423, "trading_halted", "resume_trading")
    assert_nothing_changed()


def test_idempotency_key_returns_the_first_order(api, priced):
    first = post_json(api, "/api/trade/TSLA/buy", {"quantity": 1, "client_order_id": "wp-42"})
    again = post_json(api, "/api/trade/TSLA/buy", {"quantity": 1, "client_order_id": "wp-42"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["order"]["id"] == again.json()["order"]["id"]
    assert Order.objects.count() == 1
    assert Account.objects.get().cash == Decimal("99750")


def test_idempotency_key_header(api, priced):
    headers = {"HTTP_IDEMPOTENCY_KEY": "abc-1"}
    first = api.post("/api/trade/TSLA/buy?quantity=1", **headers)
    again = api.post("/api/trade/TSLA/buy?quantity=1", **headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert Order.objects.count() == 1


def test_idempotency_key_reused_for_another_request(api, priced):
    post_json(api, "/api/trade/TSLA/buy", {"quantity": 1, "client_order_id": "k1"})
    response = post_json(api, "/api/trade/TSLA/buy", {"quantity": 2, "client_order_id": "k1"})
    assert_error(response, 422, "idempotency_key_reused", "new key")
    assert Order.objects.count() == 1


def test_stop_trading_get_is_a_405_naming_post(api, db):
    body = assert_error(api.get("/api/stop_trading"), 405, "method_not_allowed", "POST")
    assert body["status"] == "error"


def test_stop_and_resume(api, priced):
    post_json(api, "/api/trade/TSLA/buy", {"quantity": 4})
    post_json(api, "/api/trade/TSLA/buy", {"quantity": 1, "type": "limit", "limit_price": "1"})
    response = post_json(api, "/api/stop_trading?liquidate=true", {"reason": "drill"})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["message"], body["canceled_orders"]) == ("success", "Trading stopped", 1)
    assert [o["side"] for o in body["liquidation_orders"]] == ["sell"]
    status = api.get("/api/status").json()
    assert status["trading_halted"] is True and status["halt_reason"] == "drill"
    assert status["total_positions"] == 0

    response = api.post("/api/resume_trading")
    assert response.json() == {"status": "success", "message": "Trading resumed", "trading_halted": False}
    assert post_json(api, "/api/trade/TSLA/buy", {"quantity": 1}).status_code == 201


def test_orders_list_filter_detail_and_cancel(api, priced):
    post_json(api, "/api/trade/TSLA/buy", {"quantity": 1})
    resting = post_json(api, "/api/trade/NVDA/buy", {"quantity": 1, "type": "limit", "limit_price": "50"}).json()
    listing = api.get("/api/orders?status=open").json()
    assert [o["symbol"] for o in listing["orders"]] == ["NVDA"]
    assert listing["total"] == 1
    assert api.get("/api/orders?symbol=tsla").json()["total"] == 1
    assert api.get("/api/orders?limit=1&offset=1").json()["orders"][0]["symbol"] == "TSLA"

    order_id = resting["order"]["id"]
    detail = api.get(f"/api/orders/{order_id}").json()
    assert detail["fills"] == [] and detail["status"] == "accepted"
    canceled = api.delete(f"/api/orders/{order_id}")
    assert canceled.status_code == 200 and canceled.json()["order"]["status"] == "canceled"
    assert_error(api.delete(f"/api/orders/{order_id}"), 409, "order_not_cancelable", "canceled")
    assert_error(api.get("/api/orders/999999"), 404, "order_not_found")


@pytest.mark.parametrize(
    ("query", "code"),
    [("status=bogus", "invalid_status"), ("limit=x", "invalid_limit"), ("after=yesterday", "invalid_after")],
)
def test_orders_list_bad_filters(api, db, query, code):
    assert_error(api.get(f"/api/orders?{query}"), 400, code)


def test_unknown_api_route_is_json_404(api, db):
    assert_error(api.get("/api/nope"), 404, "not_found", "/api/nope")


def test_status_and_portfolio_shapes(api, priced):
    post_json(api, "/api/trade/TSLA/buy", {"quantity": 10})
    status = api.get("/api/status").json()
    assert {"timestamp", "market_open", "portfolio_value", "cash_balance", "positions", "total_positions"} <= set(
        status
    )
    assert status["market_open"] is True
    assert status["next_close"] == "2025-12-16T21:00:00Z"
    assert status["cash_balance"] == 97500.0 and status["portfolio_value"] == 100000.0
    position = status["positions"][0]
    assert {
        k: position[k]
        for k in (
            "symbol",
            "qty",
            "avg_entry_price",
            "current_price",
            "market_value",
            "unrealized_pl",
            "unrealized_plpc",
        )
    } == {
        "symbol": "TSLA",
        "qty": 10.0,
        "avg_entry_price": 250.0,
        "current_price": 250.0,
        "market_value": 2500.0,
        "unrealized_pl": 0.0,
        "unrealized_plpc": 0.0,
    }
    tsla = next(p for p in status["prices"] if p["symbol"] == "TSLA")
    assert (tsla["price"], tsla["age_seconds"], tsla["stale"]) == (250.0, 60.0, False)

    portfolio = api.get("/api/portfolio").json()
    assert portfolio["total_positions"] == 1
    assert portfolio["account"]["cash"] == 97500.0
    assert portfolio["account"]["buying_power"] == 97500.0


def test_schema_and_docs(api, db):
    assert api.get("/api/schema/").status_code == 200
    assert api.get("/api/docs/").status_code == 200
