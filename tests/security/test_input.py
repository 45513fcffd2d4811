"""Hostile and ambiguous input refused with a 400 (or 413/415) naming what to fix, nothing stored (issue 13, items
5, 12 and 13). tests/security/test_hostile.py throws generated input at every route."""

import json

import pytest

from trading.models import Order

from .conftest import assert_error

pytestmark = pytest.mark.django_db
TRADE = "/api/trade/TSLA/buy"


def post_json(api, url, body, **extra):
    text = body if isinstance(body, str | bytes) else json.dumps(body)
    return api.post(url, data=text, content_type="application/json", **extra)


def assert_nothing_stored():
    assert not Order.objects.exists()


# --- item 12: numbers -------------------------------------------------------------------------------------------

ODD_NUMBERS = ["1_0", "\u0661\u0660", "\uff11\uff10", "\u0967", "10.00000000000000000000000000001", "0x10", "1,5"]


@pytest.mark.parametrize("text", ODD_NUMBERS)
def test_a_quantity_must_be_ascii_digits_exactly(api, priced, text):
    assert_error(post_json(api, TRADE, {"quantity": text}), 400, "invalid_quantity")
    assert_error(api.post(f"{TRADE}?quantity={text}"), 400, "invalid_quantity")
    assert_nothing_stored()


def test_more_places_than_allowed_are_refused_even_beyond_the_default_precision(api, priced):
    thirty_digits = "1." + "0" * 28 + "1"  # the default 28-digit context rounds it to 1
    assert_error(post_json(api, TRADE, {"quantity": thirty_digits}), 400, "invalid_quantity", "decimal places")
    limit = {"quantity": 1, "type": "limit", "limit_price": "250." + "0" * 30 + "1"}
    assert_error(post_json(api, TRADE, limit), 400, "invalid_limit_price", "decimal places")
    assert_nothing_stored()


def test_plain_numbers_still_work(api, priced):
    for body in ({"quantity": 2}, {"quantity": "2.5"}, {"quantity": "1e1"}, {"quantity": 0.5}):
        assert post_json(api, TRADE, body).status_code == 201, body
    assert sorted(Order.objects.values_list("qty", flat=True)) == [0.5, 2, 2.5, 10]


@pytest.mark.parametrize("url", ["/api/orders", "/api/market_data/TSLA"])
@pytest.mark.parametrize("text", ["1_0", "\u0661\u0660", "\uff11\uff10", " 10", "+10"])
def test_limit_is_ascii_digits_only(api, priced, url, text):
    assert_error(api.get(url, {"limit": text}), 400, "invalid_limit")


# --- item 13: body size, shape and conflicts ----------------------------------------------------------------


def test_a_large_json_body_is_refused_with_413(api, priced, settings):
    big = json.dumps({"quantity": 1, "padding": "x" * (8 * 1024 * 1024)})
    assert_error(post_json(api, TRADE, big), 413, "body_too_large", str(settings.API_MAX_BODY_BYTES))
    just_over = json.dumps({"quantity": 1, "padding": "x" * settings.API_MAX_BODY_BYTES})
    assert_error(post_json(api, TRADE, just_over), 413, "body_too_large")
    assert_nothing_stored()
    assert post_json(api, TRADE, {"quantity": 1, "padding": "x" * 1000}).status_code == 201


def test_a_large_form_body_is_refused_too(api, priced, settings):
    form = "quantity=1&padding=" + "x" * (settings.API_MAX_BODY_BYTES + 1)
    response = api.post(TRADE, form, content_type="application/x-www-form-urlencoded")
    assert_error(response, 413, "body_too_large")
    assert_nothing_stored()


def test_multipart_is_not_parsed(api, priced):
    response = api.post(TRADE, {"quantity": "1"}, format="multipart")
    assert_error(response, 415, "unsupported_media_type")
    assert_nothing_stored()


@pytest.mark.parametrize("depth", [33, 1000, 30_000])
def test_deeply_nested_json_is_a_400_not_a_recursion_error(api, priced, depth):
    body = '{"quantity": 1, "x": ' + "[" * depth + "]" * depth + "}"
    assert_error(post_json(api, TRADE, body), 400, "json_too_deep", "32 levels")
    assert_nothing_stored()


def test_nesting_within_the_limit_is_read(api, priced):
    body = '{"quantity": 1, "x": ' + "[" * 30 + "]" * 30 + "}"
    assert post_json(api, TRADE, body).status_code == 201


@pytest.mark.parametrize(
    ("body", "query"),
    [
        ({"qty": 5, "quantity": 10}, ""),
        ({"qty": 5}, "?quantity=10"),
        ({"quantity": 5}, "?qty=10"),
        ({}, "?qty=5&quantity=10"),
    ],
)
def test_qty_and_quantity_that_differ_are_a_400(api, priced, body, query):
    assert_error(post_json(api, TRADE + query, body), 400, "conflicting_quantity", "qty", "quantity")
    assert_nothing_stored()


def test_qty_alone_or_agreeing_is_read(api, priced):
    assert post_json(api, TRADE, {"qty": 2}).status_code == 201
    assert post_json(api, TRADE + "?qty=3", {}).status_code == 201
    assert post_json(api, TRADE + "?quantity=4", {"qty": "4"}).status_code == 201
    assert sorted(Order.objects.values_list("qty", flat=True)) == [2, 3, 4]


def test_a_body_and_query_that_differ_are_a_400(api, priced):
    assert_error(post_json(api, TRADE + "?quantity=10", {"quantity": 5}), 400, "conflicting_quantity")
    assert_error(post_json(api, TRADE + "?type=limit", {"quantity": 1, "type": "market"}), 400, "conflicting_type")
    assert_nothing_stored()


@pytest.mark.parametrize("value", [123, 1.5, True, ["a"], {"a": 1}])
def test_a_client_order_id_that_is_not_a_string_is_a_400(api, priced, value):
    response = post_json(api, TRADE, {"quantity": 1, "client_order_id": value})
    assert_error(response, 400, "invalid_client_order_id", "string")
    assert_nothing_stored()


# --- item 5: tickers, NUL bytes, times ------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["TS%00LA", "%00", "TSLA%20OR%201", "T$LA", "TOOLONGTICKER", "%E2%84%AA"])
def test_a_malformed_symbol_in_the_path_is_a_400_before_any_query(api, priced, symbol, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):  # at most the key check and its last-use stamp; nothing about the symbol
        response = api.get(f"/api/market_data/{symbol}")
    assert response.status_code == 400, response.content
    assert response.json()["code"] in ("invalid_symbol", "nul_character")
    assert post_json(api, f"/api/trade/{symbol}/buy", {"quantity": 1}).status_code == 400
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/orders", {"symbol": "TS\x00LA"}),
        ("/api/orders", {"status": "open\x00"}),
        ("/api/performance", {"strategy_id": "STRATEGY-\x00"}),
        ("/api/market_data/TSLA", {"timeframe": "1Min\x00"}),
        ("/api/status", {"anything\x00": "x"}),
    ],
)
def test_a_nul_byte_in_any_query_value_is_a_400(api, priced, url, params):
    assert_error(api.get(url, params), 400, "nul_character", "%00")


def test_an_unknown_but_well_formed_symbol_is_still_a_404(api, priced):
    assert_error(api.get("/api/market_data/ZZZZ"), 404, "unknown_symbol")
    assert_error(api.get("/api/orders", {"symbol": "T$LA"}), 400, "invalid_symbol")


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+05:00",
        "0001-01-01T00:00:00-05:00",
        "9999-12-31T23:59:59-05:00",
        "9999-12-31T23:59:59+05:00",
        "1969-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
    ],
)
def test_times_out_of_range_are_a_400(api, priced, value):
    assert_error(api.get("/api/market_data/TSLA", {"start": value}), 400, "invalid_start", "1970")
    assert_error(api.get("/api/market_data/TSLA", {"end": value}), 400, "invalid_end")
    assert_error(api.get("/api/orders", {"after": value}), 400, "invalid_after")
    assert_error(api.get("/api/orders", {"until": value}), 400, "invalid_until")


def test_times_in_range_with_an_offset_still_work(api, priced):
    response = api.get("/api/orders", {"after": "2025-12-16T09:00:00-05:00", "until": "2099-12-31T23:59:59Z"})
    assert response.status_code == 200, response.content
