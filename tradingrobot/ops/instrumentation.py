"""Counting through Celery's own signals (the rest is counted by explicit calls at the source, see metrics.py):

- `task_failure`: failed tasks (also tallied for the error-rate alert);
- `worker_process_shutdown`: a dead process's live gauges stop counting (multiprocess mode).
"""

import logging
import os

from celery import signals as celery_signals
from prometheus_client import multiprocess

from . import metrics
from .errors import error_count

logger = logging.getLogger(__name__)


def on_task_failure(sender=None, **kwargs) -> None:
    metrics.TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()
    error_count(source="task")


def on_worker_process_shutdown(pid=None, **kwargs) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, a dead process's live gauges must stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid or os.getpid())


def install() -> None:
    celery_signals.task_failure.connect(on_task_failure, weak=False, dispatch_uid="ops-task-failure")
    celery_signals.worker_process_shutdown.connect(on_worker_process_shutdown, weak=False, dispatch_uid="ops-mp")
