"""Property-based negative test (issue 13, item 5): generated hostile parameters and bodies on every route of the
OpenAPI schema, plus the routes outside it (OAuth, admin login, metrics). Whatever arrives, never a 5xx.

HOSTILE_EXAMPLES (default 150) sets how many requests Hypothesis sends; the run is reproducible from its seed.
"""

import json
import os
import re
from urllib.parse import quote, urlencode

import pytest
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.models import PriceSample

pytestmark = pytest.mark.django_db

# Inputs that broke a server before (issue 13) or break parsers in general.
SPECIALS = [
    "\x00",
    "TS\x00LA",
    "1_0",
    "\u0661\u0660",
    "\uff11\uff10",
    "1." + "0" * 40 + "1",
    "1e999999",
    "-1e-999999",
    "NaN",
    "Infinity",
    "-0",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "2025-13-45T99:99:99Z",
    "\ud7ff\ue000\U0010ffff",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    "A" * 5000,
    "true",
    "null",
    "[]",
    "{}",
]
RAW_BODIES = [
    "[" * 50_000 + "]" * 50_000,
    '{"a":' * 5000 + "1" + "}" * 5000,
    "{",
    '{"quantity": 1,}',
    "\xff\xfe",
    "null",
    "[]",
    '"quantity"',
    "1e999999",
    '{"quantity": NaN}',
    "quantity=1&quantity=2",
]
CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "text/plain",
    "application/json; charset=utf-16",
    "application/json; charset=nonsense",
]
EXTRA_ROUTES = [
    ("post", "/o/token/", ["grant_type", "client_id", "client_secret", "scope"]),
    ("post", "/o/revoke_token/", ["token", "client_id", "client_secret"]),
    ("post", "/admin/login/", ["username", "password", "next"]),
    ("get", "/metrics", []),
    ("get", "/api/schema/", ["format", "version", "lang"]),
    ("get", "/api/docs/", []),
]
MAY_BE_UNAVAILABLE = "/api/health/ready/"  # readiness answers 503 when not ready: its job, not a failure

text = st.one_of(st.sampled_from(SPECIALS), st.text(max_size=40))
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=16,
)


def operations() -> list[tuple[str, str, list[str], list[str]]]:
    """(method, path template, path parameter names, query/body field names) for every operation."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            params = operation.get("parameters", [])
            in_path = [p["name"] for p in params if p["in"] == "path"]
            fields = [p["name"] for p in params if p["in"] == "query"]
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                fields += list(media.get("schema", {}).get("properties", {}))
                ref = media.get("schema", {}).get("$ref")
                if ref:
                    component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
                    fields += list(component.get("properties", {}))
            found.append((method, path, in_path, sorted(set(fields))))
    return found


OPERATIONS = operations()


def test_every_route_of_the_schema_is_covered():
    paths = {path for _, path, _, _ in OPERATIONS}
    assert {"/api/trade/{symbol}/{side}/", "/api/market_data/{symbol}/", "/api/orders/{order_id}/"} <= paths
    assert {"/api/orders/", "/api/stop_trading/", "/api/resume_trading/", "/api/ws-ticket/", "/api/status/"} <= paths
    assert {"/api/strategies/{strategy_id}/", "/api/backtests/", "/api/backtests/{run_id}/report/"} <= paths
    assert len(OPERATIONS) == 22


@st.composite
def hostile_request(draw):
    method, template, in_path, fields = draw(
        st.sampled_from([*OPERATIONS, *((m, p, [], f) for m, p, f in EXTRA_ROUTES)])
    )
    path = template
    for name in in_path:
        value = draw(st.one_of(st.sampled_from(["TSLA", "buy", "1", "sell"]), text))
        path = path.replace("{" + name + "}", quote(value, safe="") or "x")
    names = st.sampled_from([*fields, "qty", "quantity", "unknown", "limit", "offset"]) if fields else text
    query = draw(st.dictionaries(names, text, max_size=4))
    body_kind = draw(st.sampled_from(["none", "json", "raw", "form"]))
    if body_kind == "json":
        body = json.dumps(draw(st.one_of(json_value, st.dictionaries(names, json_value, max_size=5))))
    elif body_kind == "raw":
        body = draw(st.sampled_from(RAW_BODIES))
    elif body_kind == "form":
        body = urlencode(draw(st.dictionaries(names, text, max_size=4)))
    else:
        body = None
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    headers = draw(st.fixed_dictionaries({}, optional={"HTTP_IDEMPOTENCY_KEY": text.filter(_header_safe)}))
    return method, path, query, body, content_type, headers


def _header_safe(value: str) -> bool:
    return bool(re.fullmatch(r"[\x20-\x7e]*", value))


@pytest.fixture
def priced_now(add_price, symbols):
    from market.clock import now

    add_price("TSLA", "250.00", now())
    assert PriceSample.objects.exists()


@settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(request=hostile_request())
def test_hostile_input_on_every_route_is_never_a_5xx(api, priced_now, request):
    method, path, query, body, content_type, headers = request
    url = f"{path}?{urlencode(query)}" if query else path
    if body is None or method == "get":
        response = getattr(api, method)(url, **headers)
    else:
        response = getattr(api, method)(
            url, data=body.encode("utf-8", "surrogatepass"), content_type=content_type, **headers
        )
    ceiling = 504 if path == MAY_BE_UNAVAILABLE else 500
    assert response.status_code < ceiling, (method, url, body and body[:200], content_type, response.content[:300])
