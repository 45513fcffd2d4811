"""GET /api/health (liveness) and GET /api/health/ready (readiness): 200 when ready, 503 naming each failing check."""

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings

from integration.client import WordPressClient
from integration.models import FeedStatus
from market.clock import now
from market.models import PriceSample
from tests.conftest import MARKET_OPEN_AT
from trading.models import OutboxMessage
from tradingrobot.ops.heartbeats import heartbeat_stop
from tradingrobot.ops.models import Heartbeat

from .conftest import METRICS_TOKEN, feed_ok, heartbeats_ok

pytestmark = pytest.mark.django_db

ALL_CHECKS = ["database", "redis", "celery_worker", "celery_beat", "wordpress", "data_freshness", "outbox"]


def expected_checks() -> list[str]:
    return [c for c in ALL_CHECKS if c != "redis" or settings.REDIS_URL]


def ready(client):
    """The detailed answer: with the metrics credential (tests/ops/conftest.py sets it)."""
    response = client.get("/api/health/ready", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def test_liveness_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert client.get("/api/health/").status_code == 200


def test_ready_when_everything_is_healthy(client, healthy):
    status, body = ready(client)
    assert status == 200, body
    assert body["status"] == "ok" and body["ready"] is True
    assert list(body["checks"]) == expected_checks()
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["data_freshness"]["symbols"]["TSLA"] == {"age_seconds": 60.0, "stale": False}
    assert body["checks"]["wordpress"]["breaker"] == "closed"


def _redis_down():
    return override_settings(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1


def _price_gone():
    PriceSample.objects.filter(symbol__ticker="TSLA").delete()


def _breaker_open():
    breaker = WordPressClient().breaker
    for _ in range(settings.WP_BREAKER_FAILURES):
        breaker.record_failure()


def _polls_failing():
    FeedStatus.objects.filter(kind=FeedStatus.Kind.POLL).update(
        consecutive_failures=3, last_error_code="connection_error", last_error_message="refused"
    )


def _outbox_backlog():
    OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.TRADE,
        key="TRP-ops-1",
        payload={"trade_id": "TRP-ops-1"},
        next_attempt_at=now(),
        created_at=now() - dt.timedelta(minutes=20),
    )


def _worker_missing():
    Heartbeat.objects.filter(kind=Heartbeat.Kind.WORKER).delete()


def _worker_stale():
    Heartbeat.objects.filter(kind=Heartbeat.Kind.WORKER).update(seen_at=now() - dt.timedelta(minutes=10))


def _worker_stopped():
    heartbeat_stop(name="worker:celery@test")


def _beat_missing():
    Heartbeat.objects.filter(kind=Heartbeat.Kind.BEAT).delete()


FAULTS = {
    "data_freshness/no price": (_price_gone, "data_freshness", "stale prices: TSLA (no price)"),
    "wordpress/breaker open": (_breaker_open, "wordpress", "WordPress feed down: circuit breaker open"),
    "wordpress/polls failing": (
        _polls_failing,
        "wordpress",
        "WordPress feed down: 3 polls in a row failed: connection_error: refused",
    ),
    "outbox/backlog": (_outbox_backlog, "outbox", "1 records wait for WordPress, the oldest 1200 s (allowed 900 s)"),
    "celery_worker/missing": (_worker_missing, "celery_worker", "no Celery worker heartbeat"),
    "celery_worker/stale": (_worker_stale, "celery_worker", "Celery worker last seen 600 s ago (allowed 120 s)"),
    "celery_worker/stopped": (_worker_stopped, "celery_worker", "no Celery worker heartbeat"),
    "celery_beat/missing": (_beat_missing, "celery_beat", "no Celery beat heartbeat"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_fails_its_check_alone(client, healthy, fault):
    make, name, message = FAULTS[fault]
    make()
    status, body = ready(client)
    assert status == 503, body
    assert body["status"] == "error" and body["code"] == "not_ready" and body["ready"] is False
    assert body["failing"] == [name]
    assert body["checks"][name]["ok"] is False
    assert body["checks"][name]["message"].startswith(message), body["checks"][name]
    assert f"{name}: {message}" in body["message"]


def test_redis_down_fails_the_redis_check(client, healthy):
    with _redis_down():
        status, body = ready(client)
    assert status == 503
    assert body["failing"] == ["redis"]
    assert "ConnectionError" in body["checks"]["redis"]["message"]


def test_prices_older_than_the_clock_allows(client, healthy):
    healthy.shift(dt.timedelta(minutes=15))  # the newest prices are now 16 minutes old, the market open
    feed_ok()
    heartbeats_ok()
    status, body = ready(client)
    assert status == 503
    assert body["failing"] == ["data_freshness"]
    assert body["checks"]["data_freshness"]["symbols"]["SPY"] == {"age_seconds": 960.0, "stale": True}
    assert "SPY (960 s old)" in body["checks"]["data_freshness"]["message"]


def test_closed_market_keeps_friday_prices_fresh(client, healthy, add_price, symbols, time_machine):
    """On a Saturday the last session's closing prices are what the clock expects."""
    friday_close = dt.datetime(2025, 12, 19, 21, 0, tzinfo=dt.UTC)
    for ticker in symbols:
        add_price(ticker, "101.00", friday_close - dt.timedelta(minutes=1))
    time_machine.move_to(dt.datetime(2025, 12, 20, 15, 30, tzinfo=dt.UTC), tick=False)
    feed_ok()
    heartbeats_ok()
    status, body = ready(client)
    assert status == 200, body["message"] if status != 200 else ""
    assert body["checks"]["data_freshness"]["market_open"] is False


def test_everything_failing_is_listed_with_a_message_each(client, ops_settings, market_open):
    status, body = ready(client)
    assert status == 503
    assert body["failing"] == ["celery_worker", "celery_beat", "wordpress", "data_freshness"]
    for name in body["failing"]:
        assert body["checks"][name]["message"] and f"{name}: " in body["message"]


def test_skipped_checks_are_not_run(client, ops_settings, market_open):
    ops_settings.OPS_READY_SKIP = ["celery_worker", "celery_beat", "wordpress", "data_freshness"]
    status, body = ready(client)
    assert status == 200
    assert "celery_worker" not in body["checks"]


def test_database_unreachable_in_a_real_process(tmp_path):
    """A process whose DATABASE_URL points at a closed port: readiness answers 503 and names the database."""
    script = (
        "import django, json; django.setup(); from django.test import Client; "
        f"r = Client().get('/api/health/ready', HTTP_AUTHORIZATION='Bearer {METRICS_TOKEN}'); "
        "live = Client().get('/api/health'); "
        "print(json.dumps({'status': r.status_code, 'body': r.json(), 'live': live.status_code}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tradingrobot.test_settings",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "CELERY_BROKER_DIR": str(tmp_path / "broker"),
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    env.pop("REDIS_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["live"] == 200  # liveness touches no dependency
    assert answer["status"] == 503
    database = answer["body"]["checks"]["database"]
    assert database["ok"] is False and database["message"].startswith("OperationalError")
    assert "database" in answer["body"]["failing"]


def test_market_open_fixture_is_the_suite_instant(healthy):
    assert now() == MARKET_OPEN_AT


def test_a_symbol_without_a_feed_is_not_held_against_readiness(client, healthy):
    from market.models import Symbol

    Symbol.objects.create(ticker="AAPL", is_active=True, is_primary=False)
    status, body = ready(client)
    assert status == 200, body.get("message")
    assert "AAPL" not in body["checks"]["data_freshness"]["symbols"]


def test_public_readiness_says_only_ready_or_not(client, ops_settings, market_open):
    """Without the metrics credential: no check names, hosts, ports or exception text (issue 13, item 18)."""
    with _redis_down():
        response = client.get("/api/health/ready")
        detailed = client.get("/api/health/ready", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == detailed.status_code == 503
    body = response.json()
    assert set(body) == {"status", "ready", "timestamp", "code", "message"}, body
    assert (body["status"], body["ready"], body["code"]) == ("error", False, "not_ready")
    assert "127.0.0.1" not in response.content.decode() and "redis" not in response.content.decode().lower()
    assert detailed.json()["checks"]["redis"]["ok"] is False  # the operator still sees why
    wrong = client.get("/api/health/ready", HTTP_AUTHORIZATION="Bearer wrong")
    assert "checks" not in wrong.json()
