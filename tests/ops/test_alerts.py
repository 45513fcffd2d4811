"""The robot's own alerts: log and a real loopback webhook, rate-limited, with a recovery message."""

import datetime as dt
import io
import json
import logging

import pytest

from trading.services import trading_halt, trading_resume
from tradingrobot.locks import cache_lock
from tradingrobot.ops.alerts import alerts_dispatch
from tradingrobot.ops.errors import error_count
from tradingrobot.ops.logs import LogContextFilter, json_formatter
from tradingrobot.ops.models import AlertState
from tradingrobot.ops.tasks import alerts_check

from .conftest import feed_ok, free_port

pytestmark = pytest.mark.django_db


def halt():
    trading_halt(reason="maintenance", halted_by="ops-test")


@pytest.fixture
def advance(healthy, add_price, symbols):
    """Move the clock and keep everything but the alert under test healthy (fresh prices, a good poll)."""

    def advance(minutes: float) -> None:
        healthy.shift(dt.timedelta(minutes=minutes))
        for ticker in symbols:
            add_price(ticker, "100.00", _now() - dt.timedelta(seconds=30))
        feed_ok()

    return advance


def states(webhook) -> list[tuple[str, str]]:
    return [(m["alert"], m["state"]) for m in webhook.received]


def test_halt_is_told_once_reminded_then_resolved(advance, webhook, ops_settings, caplog):
    ops_settings.OPS_ALERT_REPEAT_SECONDS = 3600
    assert alerts_dispatch() == {"firing": [], "sent": {}}
    assert webhook.received == []

    halt()
    with caplog.at_level(logging.INFO, logger="tradingrobot.ops.alerts"):
        assert alerts_dispatch()["sent"] == {"trading_halted": "firing"}
    message = webhook.received[0]
    assert message["severity"] == "warning" and message["since"] == "2025-12-16T15:30:00Z"
    assert "trading halted since 2025-12-16T15:30:00Z by ops-test: maintenance" in message["message"]
    assert message["text"].startswith("[FIRING] trading_halted: trading halted")
    assert "ALERT [FIRING] trading_halted" in caplog.text

    for minutes in (1, 29, 29):  # still halted: no repeat within the hour
        advance(minutes)
        alerts_dispatch()
    assert states(webhook) == [("trading_halted", "firing")]

    advance(2)
    alerts_dispatch()
    assert states(webhook) == [("trading_halted", "firing")] * 2  # the hourly reminder

    trading_resume(resumed_by="ops-test")
    with caplog.at_level(logging.INFO, logger="tradingrobot.ops.alerts"):
        assert alerts_dispatch()["sent"] == {"trading_halted": "resolved"}
    assert states(webhook)[-1] == ("trading_halted", "resolved")
    assert webhook.received[-1]["text"].startswith("[RESOLVED] trading_halted: back to normal")
    assert "ALERT [RESOLVED] trading_halted" in caplog.text
    alerts_dispatch()
    assert len(webhook.received) == 3  # nothing more once resolved


def test_flapping_is_held_back(advance, webhook, ops_settings):
    ops_settings.OPS_ALERT_MIN_INTERVAL_SECONDS = 300
    halt()
    alerts_dispatch()
    trading_resume(resumed_by="ops-test")
    alerts_dispatch()
    halt()  # fires again a minute later
    advance(1)
    alerts_dispatch()
    assert states(webhook) == [("trading_halted", "firing"), ("trading_halted", "resolved")]
    advance(5)  # past the interval and still halted: told
    alerts_dispatch()
    assert states(webhook)[-1] == ("trading_halted", "firing")
    assert len(webhook.received) == 3


def test_webhook_down_then_up_the_message_is_not_lost(healthy, webhook, ops_settings):
    ops_settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens
    halt()
    assert alerts_dispatch()["sent"] == {}
    assert AlertState.objects.get(name="trading_halted").notified_firing is False
    webhook.status = 503
    ops_settings.ALERT_WEBHOOK_URL = webhook.url
    assert alerts_dispatch()["sent"] == {}  # refused: tried again next time
    webhook.status = 200
    assert alerts_dispatch()["sent"] == {"trading_halted": "firing"}
    assert states(webhook) == [("trading_halted", "firing")]


def test_each_condition_fires(healthy, webhook, ops_settings, add_price):
    from trading.models import OutboxMessage

    halt()
    for _ in range(ops_settings.OPS_ALERT_ERRORS_THRESHOLD):
        error_count(source="http")
    healthy.shift(dt.timedelta(minutes=20))  # prices 21 min old, poll 20 min ago, market open
    OutboxMessage.objects.create(kind="trade", key="TRP-x", payload={}, next_attempt_at=_now(), created_at=_ago(20))
    ops_settings.OPS_POLL_MAX_AGE_SECONDS = 600
    result = alerts_dispatch()
    assert result["firing"] == ["data_stale", "outbox_backlog", "trading_halted", "wordpress_down"]
    # the error tally counts the last 5 minutes: the errors are 20 minutes old now
    fired = {m["alert"]: m for m in webhook.received}
    assert "prices older than 15 min while the market is open: " in fired["data_stale"]["message"]
    assert "TSLA (21 min old)" in fired["data_stale"]["message"]
    assert fired["wordpress_down"]["message"].startswith("WordPress feed down: last successful poll 1200 s ago")
    assert fired["outbox_backlog"]["message"] == "1 records wait for WordPress, the oldest for 20 min"


def test_error_rate(healthy, webhook, ops_settings):
    for _ in range(ops_settings.OPS_ALERT_ERRORS_THRESHOLD - 1):
        error_count(source="task")
    assert alerts_dispatch()["firing"] == []
    error_count(source="http")
    assert alerts_dispatch()["firing"] == ["error_rate"]
    assert webhook.received[0]["message"].startswith("10 server errors (HTTP 5xx, failed tasks) in the last 5 min")


def test_server_errors_are_tallied_but_not_readiness(client, healthy, ops_settings):
    from tradingrobot.ops.models import ErrorTally

    from .test_health import _beat_missing

    _beat_missing()
    assert client.get("/api/health/ready").status_code == 503
    assert not ErrorTally.objects.exists()


def test_the_task_logs_with_its_task_id(healthy, webhook):
    halt()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(LogContextFilter())
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        result = alerts_check.apply(task_id="task-ops-42")
    finally:
        root.removeHandler(handler)
    assert result.get()["sent"] == {"trading_halted": "firing"}
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    alert_lines = [line for line in lines if line["message"].startswith("ALERT [FIRING]")]
    assert alert_lines, lines
    for line in alert_lines:
        assert line["task_id"] == "task-ops-42" and line["task_name"] == "ops.tasks.alerts_check"
        assert line["level"] == "WARNING" and line["logger"] == "tradingrobot.ops.alerts"


def _now():
    from market.clock import now

    return now()


def _ago(minutes: int):
    return _now() - dt.timedelta(minutes=minutes)


def test_one_alert_round_at_a_time(advance, webhook):
    halt()
    with cache_lock("ops:alerts", ttl=60, owner="another worker") as held:
        assert alerts_dispatch() == {"skipped": "another alert round is running"}
        assert held.owned()
    assert webhook.received == [] and not AlertState.objects.filter(firing=True).exists()
    assert alerts_dispatch()["sent"] == {"trading_halted": "firing"}
