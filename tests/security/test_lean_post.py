"""POST /api/trade by API key under gunicorn's application (tradingrobot/lean_post.py): the lean middleware list
with every rate count taken ahead in one round trip, answering and counting exactly as the full path does."""

import ipaddress
import json
import uuid
from collections.abc import Callable

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from tests.conftest import REQUIRE_SERVICES
from trading.models import Order
from tradingrobot.lean_post import LeanByKey
from tradingrobot.security.models import AuditEvent
from tradingrobot.security.throttling import PRECOUNTED, Precounted, rate_hit
from tradingrobot.wsgi import application

from .test_lean_path import WP, Answer, call
from .test_redis_down import dead_redis_url


def trade(plain: str, address: str, side: str = "buy", app=application, **headers) -> Answer:
    body = json.dumps({"quantity": 1})
    return call(
        app,
        f"/api/trade/TSLA/{side}",
        method="post",
        data=body,
        content_type="application/json",
        HTTP_X_API_KEY=plain,
        REMOTE_ADDR=address,
        **headers,
    )


@pytest.fixture
def address() -> str:
    # the counts live in the shared cache: a fresh address per test, written as the client-IP check writes it
    return str(ipaddress.ip_address(f"2001:db8::{uuid.uuid4().hex[:4]}"))


def assert_throttled(answer: Answer, message: str = "") -> None:
    assert answer.status_code == 429, answer.content
    body = answer.json()
    assert (body["status"], body["code"]) == ("error", "throttled"), body
    assert message in body["message"]
    assert 1 <= int(answer["Retry-After"]) <= 60


def test_a_trade_by_key_takes_the_lean_list_and_is_audited(priced, make_key, address):
    _, plain = make_key("read,trade")
    answer = trade(plain, address, HTTP_ORIGIN=WP, HTTP_X_REQUEST_ID="lean-post-1")
    assert answer.status_code == 201, answer.content
    assert answer.json()["order"]["status"] == Order.Status.FILLED
    assert answer["X-Request-ID"] == "lean-post-1"
    assert answer["Access-Control-Allow-Origin"] == WP
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert "X-Frame-Options" not in answer  # the lean list
    event = AuditEvent.objects.get(action="order_place")
    assert (event.outcome, event.ip) == (201, address)


def test_only_posts_by_key_under_the_prefixes_are_served():
    post = LeanByKey(["/api/trade/"], ["POST"])
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/trade/TSLA/buy", "HTTP_X_API_KEY": "abc.def"}
    assert post.serves(environ)
    assert not post.serves({**environ, "REQUEST_METHOD": "GET"})
    assert not post.serves({**environ, "PATH_INFO": "/api/stop_trading"})
    assert not post.serves({k: v for k, v in environ.items() if k != "HTTP_X_API_KEY"})
    assert not post.serves({**environ, "HTTP_AUTHORIZATION": "Bearer some-oauth-token", "HTTP_X_API_KEY": ""})
    assert not post.serves({**environ, "HTTP_AUTHORIZATION": "Api-Key other.key"})  # two keys: the full path


def served_by(lean: LeanByKey, send: Callable[[Callable], Answer]) -> tuple[int, Precounted | None]:
    """`send(app)`'s request through `lean` itself: the status and the request's Precounted."""
    seen: dict = {}

    def app(environ, start_response):
        seen.update(environ=environ)
        return lean(environ, start_response)

    return send(app).status_code, seen["environ"].get(PRECOUNTED)


def _served(plain: str, address: str) -> tuple[int, Precounted | None]:
    """POST /api/trade/TSLA/buy through LeanByKey itself."""
    return served_by(LeanByKey(["/api/trade/"], ["POST"]), lambda app: trade(plain, address, app=app))


def test_every_count_is_taken_ahead_and_claimed_by_its_check(priced, make_key, address):
    _, plain = make_key("read,trade")
    status, precounted = _served(plain, address)
    assert status == 201 and precounted is not None
    assert precounted.taken_back == []  # the middleware and both throttles claimed their buckets


def test_the_counts_of_checks_that_never_ran_are_taken_back(priced, make_key, address):
    _, read_only = make_key("read")
    status, precounted = _served(read_only, address)
    assert status == 403 and precounted is not None
    assert sorted(precounted.taken_back) == sorted(b for b in precounted.taken_back if not b.startswith("ip:"))
    assert len(precounted.taken_back) == 3  # the credential's and the trade route's two: the scope check refused


def test_over_a_rate_nothing_is_taken_ahead(priced, make_key, address, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "trade": "1/min"}
    _, plain = make_key("read,trade")
    assert _served(plain, address)[0] == 201
    status, precounted = _served(plain, address)
    assert status == 429 and precounted is None  # the chain counted and refused it


def test_the_trade_limit_refuses_as_the_full_path_does(priced, make_key, address, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "credential": "100/min", "trade": "2/min"}
    _, plain = make_key("read,trade")
    assert [trade(plain, address).status_code for _ in range(2)] == [201, 201]
    orders = Order.objects.count()
    assert_throttled(trade(plain, address), "Request was throttled")
    assert Order.objects.count() == orders


def test_the_per_address_limit_refuses_as_the_middleware_does(priced, make_key, address, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "ip": "1/min"}
    _, plain = make_key("read,trade")
    assert trade(plain, address).status_code == 201
    assert_throttled(trade(plain, address), f"Too many requests from {address}")


def test_a_refused_trade_is_counted_once_per_bucket(priced, make_key, address, settings):
    """A key without the trade scope: the address bucket counts it (claimed once, not twice), the trade buckets
    taken ahead are taken back (the throttles never ran)."""
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "ip": "2/min", "trade": "1/min"}
    _, read_only = make_key("read")
    assert [trade(read_only, address).status_code for _ in range(2)] == [403, 403]
    assert_throttled(trade(read_only, address), f"Too many requests from {address}")
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "ip": "100/min"}
    _, trader = make_key("read,trade")
    assert trade(trader, address).status_code == 201  # the address's trade bucket was left at 0


def test_a_wrong_secret_leaves_its_prefix_uncounted(priced, make_key, address, settings):
    """The credential's buckets are named by the key's prefix ahead of its check: a wrong secret with a real
    prefix is refused (401) and those counts are taken back."""
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "credential": "1/min"}
    api_key, plain = make_key("read,trade")
    forged = f"{api_key.prefix}.{'x' * 40}"
    assert [trade(forged, address).status_code for _ in range(3)] == [401, 401, 401]
    assert trade(plain, address).status_code == 201


def assert_counted_once(buckets: list[tuple[str, str]]) -> None:
    """Each (bucket, its rate) holds exactly one count: a limit of 1 refuses the next, a limit of 3 does not."""
    if not isinstance(caches["default"], RedisCache):
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but the cache is not Redis")
        pytest.skip("needs Redis")
    for bucket, rate in buckets:
        period = rate.partition("/")[2]
        assert rate_hit(bucket=bucket, rate=f"1/{period}") is not None, bucket  # 2 > 1: counted
        assert rate_hit(bucket=bucket, rate=f"3/{period}") is None, bucket  # 3 <= 3: once only


def test_each_bucket_ends_counted_once(priced, make_key, address, settings):
    api_key, plain = make_key("read,trade")
    assert trade(plain, address).status_code == 201
    rates = settings.THROTTLE_RATES
    assert_counted_once(
        [
            (f"ip:{address}", rates["ip"]),
            (f"cred:key:{api_key.prefix}", rates["credential"]),
            (f"trade-ip:{address}", rates["trade"]),
            (f"trade-cred:key:{api_key.prefix}", rates["trade"]),
        ]
    )


def test_with_the_cache_down_the_trade_still_goes_through(priced, make_key, address, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": dead_redis_url(),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    _, plain = make_key("read,trade")
    assert trade(plain, address).status_code == 201
