"""GET /metrics: a bearer token or the allowlist; the named series move with what the robot does."""

import re
import types

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY

from integration.pushback import outbox_deliver
from integration.services import stock_data_poll
from trading.services import trading_halt
from tradingrobot.ops.models import Heartbeat

from .conftest import METRICS_TOKEN, free_port

pytestmark = pytest.mark.django_db


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def sample(text: str, series: str) -> float:
    """The value of one exact series line (`name{labels}`) in the exposition."""
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match, f"{series} not exposed"
    return float(match.group(1))


def test_metrics_need_the_token(client, ops_settings):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    refused = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}x")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").status_code == 200
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").status_code == 405


def test_metrics_allowlist_instead_of_a_token(client, ops_settings):
    ops_settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 403  # neither configured: closed
    ops_settings.METRICS_IP_ALLOWLIST = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.5").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_requests_and_latency_per_route(client, healthy):
    client.get("/api/health")
    client.get("/api/health")
    text = scrape(client)
    assert sample(text, 'django_http_requests_latency_seconds_by_view_method_count{method="GET",view="health"}') >= 2
    responses = 'django_http_responses_total_by_status_view_method_total{method="GET",status="200",view="health"}'
    assert sample(text, responses) >= 2


def test_state_series_read_at_scrape_time(client, healthy, place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        place(ticker="TSLA", qty="2")
        trading_halt(reason="ops test", halted_by="tests")
    text = scrape(client)
    assert sample(text, 'tradingrobot_orders{status="filled"}') == 1
    assert sample(text, 'tradingrobot_orders{status="new"}') == 0
    assert sample(text, "tradingrobot_outbox_pending") == 1
    assert sample(text, "tradingrobot_outbox_oldest_pending_age_seconds") == 0  # written this instant (frozen)
    assert sample(text, 'tradingrobot_price_age_seconds{symbol="NVDA"}') == 60
    assert sample(text, 'tradingrobot_price_stale{symbol="NVDA"}') == 0
    assert sample(text, "tradingrobot_market_open") == 1
    assert sample(text, "tradingrobot_trading_halted") == 1
    assert sample(text, "tradingrobot_wordpress_up") == 1
    assert sample(text, 'tradingrobot_wordpress_breaker_state{state="closed"}') == 1
    assert sample(text, 'tradingrobot_heartbeat_age_seconds{process="worker"}') == 0
    Heartbeat.objects.all().delete()
    assert 'tradingrobot_heartbeat_age_seconds{process="worker"}' not in scrape(client)


def test_fill_latency_and_order_events(healthy, place, django_capture_on_commit_callbacks):
    fills, accepted = (
        value("tradingrobot_fill_latency_seconds_count"),
        value("tradingrobot_order_events_total", event="order_filled"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        place(ticker="TSLA", qty="1")
    assert value("tradingrobot_fill_latency_seconds_count") == fills + 1
    assert value("tradingrobot_order_events_total", event="order_filled") == accepted + 1


def test_wordpress_fetches_rows_and_pushback(client, healthy, devfeed, place, settings):
    """A real poll of the development feed, a real push-back to its receiver, then the site unreachable."""
    settings.WP_APP_USER, settings.WP_APP_PASSWORD = "robot", "abcd efgh ijkl mnop"
    settings.PRICE_BAND_PERCENT = 0  # `healthy` seeds 100.00, the feed's walk is elsewhere: nothing quarantined here
    receiver = devfeed.server.feed.receiver
    receiver.user, receiver.password = settings.WP_APP_USER, settings.WP_APP_PASSWORD
    before = {
        "ok": value("tradingrobot_wordpress_request_seconds_count", method="get", outcome="ok"),
        "stored": value("tradingrobot_ingest_rows_total", kind="poll", outcome="stored"),
        "runs": value("tradingrobot_ingest_runs_total", kind="poll", result="ok"),
        "delivered": value("tradingrobot_outbox_deliveries_total", kind="trade", outcome="delivered"),
        "posted": value("tradingrobot_wordpress_request_seconds_count", method="post", outcome="ok"),
        "refused": value("tradingrobot_wordpress_errors_total", code="connection_error"),
        "deferred": value("tradingrobot_outbox_deliveries_total", kind="trade", outcome="deferred"),
    }
    report = stock_data_poll()
    assert report.ok, report.summary()
    assert report.stored == report.rows > 0, report.summary()
    assert value("tradingrobot_wordpress_request_seconds_count", method="get", outcome="ok") >= before["ok"] + 1
    assert value("tradingrobot_ingest_rows_total", kind="poll", outcome="stored") == before["stored"] + report.stored
    assert value("tradingrobot_ingest_runs_total", kind="poll", result="ok") == before["runs"] + 1

    place(ticker="TSLA", qty="1")
    assert outbox_deliver().delivered == 1
    assert value("tradingrobot_outbox_deliveries_total", kind="trade", outcome="delivered") == before["delivered"] + 1
    assert value("tradingrobot_wordpress_request_seconds_count", method="post", outcome="ok") == before["posted"] + 1

    settings.WP_BASE_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    place(ticker="TSLA", qty="1")
    assert outbox_deliver().deferred == 1
    assert value("tradingrobot_outbox_deliveries_total", kind="trade", outcome="deferred") == before["deferred"] + 1
    assert value("tradingrobot_wordpress_errors_total", code="connection_error") > before["refused"]
    text = scrape(client)
    for series in (
        "tradingrobot_wordpress_request_seconds_bucket",
        "tradingrobot_wordpress_errors_total",
        "tradingrobot_ingest_rows_total",
        "tradingrobot_outbox_deliveries_total",
        "tradingrobot_fill_latency_seconds_bucket",
        "tradingrobot_websocket_clients",
    ):
        assert f"\n{series}" in text, series


def test_websocket_clients_follow_the_hub():
    from trading.realtime.hub import Hub

    hub = types.SimpleNamespace(clients=set())
    first, second = object(), object()
    Hub.add(hub, first)
    Hub.add(hub, second)
    assert value("tradingrobot_websocket_clients") == 2
    Hub.remove(hub, first)
    assert value("tradingrobot_websocket_clients") == 1
    Hub.remove(hub, second)
    assert value("tradingrobot_websocket_clients") == 0


def test_a_broken_collector_part_does_not_break_the_scrape(client, healthy):
    with override_settings(MAX_PRICE_AGE_SECONDS="not a number"):  # the price part raises
        text = scrape(client)
    assert "tradingrobot_orders{" in text and "tradingrobot_price_stale{" not in text
