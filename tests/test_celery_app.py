"""The Celery app carries the task time limits of the settings, and they outlast the longest task."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tradingrobot.celery import app

ROOT = Path(__file__).resolve().parents[1]


def test_the_celery_app_carries_soft_and_hard_time_limits():
    assert app.conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT == 1800
    assert app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT == 1860
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit  # the task may clean up before it is killed


def test_the_soft_limit_outlasts_a_poll_against_a_site_at_its_worst():
    """A poll makes two calls (/wp-json/ for the zone, /stock-data), each up to WP_RETRIES + 1 attempts that may
    each use the whole connect and read timeouts, with the longest Retry-After wait between attempts."""
    attempt = settings.WP_CONNECT_TIMEOUT + settings.WP_READ_TIMEOUT
    call = (settings.WP_RETRIES + 1) * attempt + settings.WP_RETRIES * settings.WP_RETRY_AFTER_MAX_SECONDS
    assert 2 * call < settings.CELERY_TASK_SOFT_TIME_LIMIT


def test_time_limits_come_from_the_environment():
    code = "from tradingrobot.celery import app; print(app.conf.task_soft_time_limit, app.conf.task_time_limit)"
    env = {**os.environ, "CELERY_TASK_SOFT_TIME_LIMIT": "600", "CELERY_TASK_TIME_LIMIT": "660"}
    env["DJANGO_SETTINGS_MODULE"] = "tradingrobot.settings"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)  # noqa: S603
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["600", "660"]
