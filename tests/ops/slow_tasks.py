"""Tasks only the time-limit test's worker loads (`celery worker --include tests.ops.slow_tasks`)."""

import time
from pathlib import Path

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded


@shared_task(name="tests.ops.sleep_past_limits")
def sleep_past_limits(marker: str, seconds: float) -> None:
    """Sleeps; at the soft limit writes "soft" and sleeps on, so only the hard limit can end it."""
    path = Path(marker)
    try:
        time.sleep(seconds)
    except SoftTimeLimitExceeded:
        path.write_text("soft")
        time.sleep(seconds)
    path.write_text("survived the hard limit")


@shared_task(name="tests.ops.touch")
def touch(marker: str) -> None:
    Path(marker).write_text("ran")
