"""A request id on every log line of a request (taken from X-Request-ID or made), returned in the response."""

import io
import json
import logging
import re

import pytest
from django.test import override_settings

from tradingrobot.ops.logs import LogContextFilter, json_formatter, request_id_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines():
    """Every record reaching the root logger, formatted as production does (filters + JSON formatter)."""
    from tradingrobot.security.redaction import RedactSecretsFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    handler.addFilter(LogContextFilter())
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_incoming_request_id_is_on_every_line_and_returned(client, healthy, json_lines):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):  # the redis check and the 503 log warnings
        response = client.get("/api/health/ready", HTTP_X_REQUEST_ID="req-abc-123")
    assert response.status_code == 503
    assert response["X-Request-ID"] == "req-abc-123"
    lines = json_lines()
    loggers = {line["logger"] for line in lines}
    assert {"tradingrobot.ops.health", "tradingrobot.ops.apis"} <= loggers, lines
    assert all(line.get("request_id") == "req-abc-123" for line in lines), lines
    assert {"time", "level", "logger", "message"} <= set(lines[0])


def test_request_id_is_made_when_missing_or_unsafe(client):
    made = client.get("/api/health")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/api/health", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"] != "bad id\nwith newline"
    assert request_id_from("x" * 200) != "x" * 200
    assert request_id_from(" ok-1 ") == "ok-1"


def test_lines_outside_a_request_have_no_request_id(client, json_lines):
    client.get("/api/health", HTTP_X_REQUEST_ID="req-1")
    logging.getLogger("tests.ops").warning("after the request")
    assert "request_id" not in json_lines()[-1]


def test_json_lines_keep_secrets_out(json_lines, settings):
    settings.WP_APP_USER, settings.WP_APP_PASSWORD = "robot", "abcd efgh ijkl mnop"
    try:
        raise RuntimeError("login abcd efgh ijkl mnop refused")
    except RuntimeError:
        logging.getLogger("tests.ops").exception("failed with abcd efgh ijkl mnop")
    text = json.dumps(json_lines())
    assert "abcd efgh ijkl mnop" not in text and "[redacted]" in text


def test_production_settings_log_json(tmp_path):
    """The real settings module: JSON unless DEBUG (then plain), LOG_FORMAT wins."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    script = (
        "import django, logging; django.setup(); from django.conf import settings; "
        "print(settings.LOGGING['handlers']['console']['formatter']); logging.getLogger('x').warning('hello')"
    )

    def run(**extra):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tradingrobot.settings", "SECRET_KEY": "k" * 50}
        env.pop("LOG_FORMAT", None)
        env.update(extra, CELERY_BROKER_DIR=str(tmp_path / "broker"))
        done = subprocess.run(  # noqa: S603 - our own interpreter
            [sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip(), done.stderr.strip().splitlines()[-1]

    formatter, line = run(DEBUG="0")
    assert formatter == "json" and json.loads(line)["message"] == "hello"
    formatter, line = run(DEBUG="1")
    assert formatter == "plain" and line.endswith("WARNING x hello")
    formatter, line = run(DEBUG="1", LOG_FORMAT="json")
    assert formatter == "json" and json.loads(line)["level"] == "WARNING"


def test_a_task_queued_by_a_request_logs_that_request_id(json_lines):
    """The request id rides in the task message's headers and is on the task's lines, next to its task id."""
    from celery.app.task import Context

    from tradingrobot.ops import logs

    headers = {"id": "task-9", "task": "ops.tasks.alerts_check"}
    token = logs.request_id_var.set("req-queued-1")
    try:
        logs._on_publish(headers=headers)  # what before_task_publish does in the web process
    finally:
        logs.request_id_var.reset(token)
    assert headers["request_id"] == "req-queued-1"

    task = type("Task", (), {"name": "ops.tasks.alerts_check", "request": Context(headers)})()
    logs._on_prerun(task_id="task-9", task=task)  # what task_prerun does in the worker
    logging.getLogger("tests.ops").warning("inside the task")
    logs._on_postrun()
    logging.getLogger("tests.ops").warning("after the task")
    inside, after = json_lines()[-2:]
    assert (inside["task_id"], inside["task_name"], inside["request_id"]) == (
        "task-9",
        "ops.tasks.alerts_check",
        "req-queued-1",
    )
    assert "task_id" not in after and "request_id" not in after


def test_a_new_request_id_is_a_random_uuid4_in_hex():
    import uuid

    made = {request_id_from(None) for _ in range(200)}
    assert len(made) == 200
    for made_id in made:
        parsed = uuid.UUID(hex=made_id)
        assert (parsed.hex, parsed.version, parsed.variant) == (made_id, 4, uuid.RFC_4122)
