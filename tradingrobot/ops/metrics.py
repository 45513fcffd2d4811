"""The robot's own Prometheus series, counted in the process where things happen.

With PROMETHEUS_MULTIPROC_DIR set (a folder every process of the robot shares, emptied before they start), each
process writes its values there and `/metrics` adds them up; without it, `/metrics` shows the serving process's
own counters only. Values read from the database (orders, outbox, data age...) are collected at scrape time in
`collectors.py` and are right in both modes. This module imports nothing from the project: anyone may import it.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

WORDPRESS_REQUEST_SECONDS = Histogram(
    "tradingrobot_wordpress_request_seconds",
    "Time of one HTTP call to WordPress (retries included), by method and outcome.",
    ["method", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 45, 90, 180),
)
WORDPRESS_ERRORS = Counter(
    "tradingrobot_wordpress_errors",
    "Failed calls to WordPress, by error code (connection_error, http_500...).",
    ["code"],
)
INGEST_ROWS = Counter(
    "tradingrobot_ingest_rows",
    "Price rows from WordPress by outcome: stored (new), updated, unchanged, skipped (invalid).",
    ["kind", "outcome"],
)
INGEST_RUNS = Counter("tradingrobot_ingest_runs", "Polls and backfills of WordPress, by result.", ["kind", "result"])
ORDER_EVENTS = Counter("tradingrobot_order_events", "Order and trading events after commit, by type.", ["event"])
FILL_LATENCY_SECONDS = Histogram(
    "tradingrobot_fill_latency_seconds",
    "From an order's placement to its fill (queued orders wait for the market to open).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 72 * 3600),
)
OUTBOX_DELIVERIES = Counter(
    "tradingrobot_outbox_deliveries",
    "Push-back attempts to WordPress by kind and outcome: delivered, deferred (will retry), failed (refused).",
    ["kind", "outcome"],
)
TASK_FAILURES = Counter("tradingrobot_task_failures", "Celery tasks that raised, by task name.", ["task"])
ALERT_NOTIFICATIONS = Counter(
    "tradingrobot_alert_notifications", "Alert notifications sent by the robot, by alert and state.", ["alert", "state"]
)
WEBSOCKET_CLIENTS = Gauge(
    "tradingrobot_websocket_clients", "Connected ws /ws/updates clients.", multiprocess_mode="livesum"
)


@contextmanager
def wordpress_call(method: str) -> Iterator[None]:
    """Time one call to WordPress; a FetchFailed (or any error) counts by its code and is re-raised."""
    started = time.perf_counter()
    try:
        yield
    except Exception as error:
        WORDPRESS_REQUEST_SECONDS.labels(method, "error").observe(time.perf_counter() - started)
        WORDPRESS_ERRORS.labels(getattr(error, "code", None) or type(error).__name__).inc()
        raise
    WORDPRESS_REQUEST_SECONDS.labels(method, "ok").observe(time.perf_counter() - started)
