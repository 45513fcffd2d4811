"""GET /api/market_data by API key under production's application (tradingrobot/lean_post.py, API_LEAN_GET_PREFIXES):
the lean middleware list with every rate count taken ahead in one round trip, answering and counting as the full
path does."""

import ipaddress
import uuid

import pytest

from tradingrobot.lean_post import LeanByKey
from tradingrobot.security.throttling import Precounted
from tradingrobot.wsgi import application

from .test_lean_path import WP, Answer, _full, call
from .test_lean_post import assert_counted_once, served_by

BARS = "/api/market_data/TSLA?timeframe=5Min&limit=3"


def bars(plain: str, address: str, path: str = BARS, app=application, **headers) -> Answer:
    return call(app, path, HTTP_X_API_KEY=plain, REMOTE_ADDR=address, **headers)


@pytest.fixture
def address() -> str:
    # the counts live in the shared cache: a fresh address per test
    return str(ipaddress.ip_address(f"2001:db8::{uuid.uuid4().hex[:4]}"))


def test_only_gets_by_key_under_the_prefixes_are_served():
    lean = LeanByKey(["/api/market_data/"], ["GET", "HEAD"])
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/market_data/TSLA", "HTTP_X_API_KEY": "abc.def"}
    assert lean.serves(environ)
    assert lean.serves({**environ, "REQUEST_METHOD": "HEAD"})
    assert not lean.serves({**environ, "REQUEST_METHOD": "POST"})
    assert not lean.serves({**environ, "PATH_INFO": "/api/portfolio"})
    assert not lean.serves({k: v for k, v in environ.items() if k != "HTTP_X_API_KEY"})  # a session: full path
    assert not lean.serves({**environ, "HTTP_AUTHORIZATION": "Api-Key other.key"})  # two keys: the full path


@pytest.mark.parametrize(
    "path",
    [
        BARS,
        "/api/market_data/TSLA",
        "/api/market_data/TSLA?timeframe=1Hour&limit=2&start=2020-01-01T00:00:00Z",
        "/api/market_data/TSLA?timeframe=2Min",  # 400 invalid_timeframe
        "/api/market_data/TSLA?limit=0",  # 400 invalid_limit
        "/api/market_data/TSLA?start=%00%ff%27",  # hostile: 400 invalid_start
        "/api/market_data/NOPE",  # 404
        "/api/market_data/" + "A" * 300,  # 400: not a ticker
    ],
)
def test_the_lean_answer_is_the_full_chains(priced, make_key, address, path):
    _, plain = make_key("read")
    lean = bars(plain, address, path, HTTP_ORIGIN=WP, HTTP_X_REQUEST_ID="lean-get-1")
    full = bars(plain, address, path, app=_full(), HTTP_ORIGIN=WP, HTTP_X_REQUEST_ID="lean-get-1")
    assert lean.status_code == full.status_code < 500, lean.content
    assert lean.content == full.content
    assert lean["X-Request-ID"] == "lean-get-1"
    assert lean["Access-Control-Allow-Origin"] == WP
    assert lean["X-Content-Type-Options"] == "nosniff"
    assert "X-Frame-Options" not in lean  # what the lean list skips


def test_a_bar_page_is_served_on_the_lean_list(priced, make_key, address):
    _, plain = make_key("read")
    answer = bars(plain, address)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["symbol"], body["timeframe"]) == ("TSLA", "5Min")
    assert body["count"] == len(body["data"]) >= 1


def _served(plain: str, address: str) -> tuple[int, Precounted | None]:
    return served_by(LeanByKey(["/api/market_data/"], ["GET", "HEAD"]), lambda app: bars(plain, address, app=app))


def test_every_count_is_taken_ahead_and_claimed_by_its_check(priced, make_key, address):
    _, plain = make_key("read")
    status, precounted = _served(plain, address)
    assert status == 200 and precounted is not None
    assert precounted.taken_back == []


def test_a_key_without_the_read_scope_is_refused_and_its_credential_count_taken_back(priced, make_key, address):
    _, no_read = make_key("trade")
    status, precounted = _served(no_read, address)
    assert status == 403 and precounted is not None
    assert len(precounted.taken_back) == 1 and precounted.taken_back[0].startswith("cred:")


def test_the_credential_limit_refuses_as_the_full_path_does(priced, make_key, address, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "credential": "2/min"}
    _, plain = make_key("read")
    assert [bars(plain, address).status_code for _ in range(2)] == [200, 200]
    refused = bars(plain, address)
    assert refused.status_code == 429, refused.content
    assert (refused.json()["code"], 1 <= int(refused["Retry-After"]) <= 60) == ("throttled", True)


def test_the_per_address_limit_refuses_as_the_middleware_does(priced, make_key, address, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "ip": "1/min"}
    _, plain = make_key("read")
    assert bars(plain, address).status_code == 200
    refused = bars(plain, address)
    assert refused.status_code == 429 and f"Too many requests from {address}" in refused.json()["message"]


def test_each_bucket_ends_counted_once(priced, make_key, address, settings):
    api_key, plain = make_key("read")
    assert bars(plain, address).status_code == 200
    rates = settings.THROTTLE_RATES
    assert_counted_once([(f"ip:{address}", rates["ip"]), (f"cred:key:{api_key.prefix}", rates["credential"])])
