"""The robot's own Prometheus series, counted in the process where things happen.

With PROMETHEUS_MULTIPROC_DIR set (a folder every process of the robot shares, emptied before they start), each
process writes its values there and `/metrics` adds them up; without it, `/metrics` shows the serving process's
own counters only. Values read from the database (orders, outbox, data age...) are collected at scrape time in
`collectors.py` and are right in both modes. This module imports nothing from the project: anyone may import it,
and the code where a thing happens calls the function below that counts it.
"""

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

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
MARKET_DATA_SWITCHES = Counter(
    "tradingrobot_market_data_switches", "Switches of the market-data source (WordPress, a fallback).", ["to_source"]
)
MARKET_DATA_FETCHES = Counter(
    "tradingrobot_market_data_fetches", "Fetches from fallback market-data sources, by result.", ["source", "result"]
)
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
LIQUIDATION_FAILURES = Counter(
    "tradingrobot_liquidation_failures",
    "Liquidation orders of a stop that were neither filled nor resting (the position stays open), by symbol.",
    ["symbol"],
)
PRICE_QUARANTINE = Counter(
    "tradingrobot_price_quarantine",
    "Price samples by sanity-band verdict: quarantined (too far from the last accepted), confirmed (the next sample"
    " landed near it), by symbol.",
    ["symbol", "verdict"],
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


INGEST_OUTCOMES = ("stored", "updated", "unchanged", "skipped")


def ingest_recorded(*, kind: str, counts: Mapping[str, Any]) -> None:
    """One poll or backfill finished (`counts`: its report, as stored in FeedStatus.last_counts)."""
    for outcome in INGEST_OUTCOMES:
        value = counts.get(outcome) or 0
        if value:
            INGEST_ROWS.labels(kind, outcome).inc(value)
    INGEST_RUNS.labels(kind, "ok" if counts.get("ok", True) else "failed").inc()


def order_event_count(event: Mapping[str, Any]) -> None:
    """An event listener (tradingrobot/listeners.py): one committed order or trading event."""
    ORDER_EVENTS.labels(event.get("type", "unknown")).inc()


def fill_latency_observe(seconds: float) -> None:
    """A fill committed `seconds` after its order was placed."""
    FILL_LATENCY_SECONDS.observe(max(seconds, 0.0))


def pushback_attempt(kind: str, outcome: str) -> None:
    """One delivery attempt of an outbox record: delivered, deferred (will retry) or failed (refused)."""
    OUTBOX_DELIVERIES.labels(kind, outcome).inc()


def websocket_clients_set(count: int) -> None:
    """The realtime hub's client count changed (or was read at scrape time)."""
    WEBSOCKET_CLIENTS.set(count)


def market_data_switch(to_source: str) -> None:
    MARKET_DATA_SWITCHES.labels(to_source=to_source).inc()


def market_data_fetch(source: str, result: str) -> None:
    MARKET_DATA_FETCHES.labels(source=source, result=result).inc()


STRATEGY_DECISIONS = Counter(
    "tradingrobot_strategy_decisions", "Strategy decisions recorded, by outcome and reason.", ["outcome", "reason"]
)
STRATEGY_EVALUATION_SECONDS = Histogram(
    "tradingrobot_strategy_evaluation_seconds",
    "Time to evaluate every strategy of one closed bar (symbol, timeframe), orders included.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)


def strategy_decision_count(outcome: str, reason: str) -> None:
    STRATEGY_DECISIONS.labels(outcome=outcome, reason=reason).inc()


def strategy_evaluation_observe(seconds: float) -> None:
    STRATEGY_EVALUATION_SECONDS.observe(seconds)


def liquidation_failed(symbol: str) -> None:
    LIQUIDATION_FAILURES.labels(symbol=symbol).inc()


def price_quarantine_count(symbol: str, verdict: str, count: int = 1) -> None:
    """verdict: quarantined | confirmed."""
    PRICE_QUARANTINE.labels(symbol=symbol, verdict=verdict).inc(count)
