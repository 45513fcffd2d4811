"""Counting through the hooks the other apps already have, without touching their code:

- `trading.events.listen`: order and trading events after commit;
- `post_save` of `integration.FeedStatus` (written once per poll/backfill with its counts): rows by outcome;
- `post_save` of `trading.OutboxMessage` (saved once per delivery attempt): deliveries by outcome;
- `post_save` of `trading.Fill`: placement-to-fill latency, observed once the fill commits;
- Celery `task_failure`: failed tasks (also tallied for the error-rate alert);
- the realtime hub's `add`/`remove`: the process's WebSocket client count.
"""

import logging
import os

from celery import signals as celery_signals
from django.db import transaction
from django.db.models.signals import post_save

from market.clock import now

from . import metrics

logger = logging.getLogger(__name__)

INGEST_OUTCOMES = ("stored", "updated", "unchanged", "skipped")


def on_trading_event(event: dict) -> None:
    metrics.ORDER_EVENTS.labels(event.get("type", "unknown")).inc()


def on_feed_status_saved(sender, instance, **kwargs) -> None:
    counts = instance.last_counts or {}
    for outcome in INGEST_OUTCOMES:
        value = counts.get(outcome) or 0
        if value:
            metrics.INGEST_ROWS.labels(instance.kind, outcome).inc(value)
    metrics.INGEST_RUNS.labels(instance.kind, "ok" if counts.get("ok", True) else "failed").inc()


def on_outbox_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    if created or not update_fields or "attempts" not in update_fields:
        return  # only a delivery attempt saves `attempts`
    from trading.models import OutboxMessage

    if instance.status == OutboxMessage.Status.DELIVERED:
        outcome = "delivered"
    elif instance.status == OutboxMessage.Status.FAILED:
        outcome = "failed"
    else:
        outcome = "deferred"
    metrics.OUTBOX_DELIVERIES.labels(instance.kind, outcome).inc()


def on_fill_saved(sender, instance, created, **kwargs) -> None:
    if not created:
        return
    order = instance._state.fields_cache.get("order")  # the service passes the order object: no query
    if order is None or order.created_at is None:
        return
    placed = order.created_at
    transaction.on_commit(
        lambda: metrics.FILL_LATENCY_SECONDS.observe(max((now() - placed).total_seconds(), 0.0)),
        robust=True,
    )


def on_task_failure(sender=None, **kwargs) -> None:
    from .errors import error_count

    metrics.TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()
    error_count(source="task")


def on_worker_process_shutdown(pid=None, **kwargs) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, a dead process's live gauges must stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


def websocket_clients_instrument() -> None:
    """Keep the client gauge equal to this process's hub client count on every add and remove."""
    from trading.realtime import hub as realtime_hub

    hub_class = realtime_hub.Hub
    if getattr(hub_class, "_ops_counted", False):
        return
    add, remove = hub_class.add, hub_class.remove

    def counted_add(self, client):
        add(self, client)
        metrics.WEBSOCKET_CLIENTS.set(len(self.clients))

    def counted_remove(self, client):
        remove(self, client)
        metrics.WEBSOCKET_CLIENTS.set(len(self.clients))

    hub_class.add, hub_class.remove = counted_add, counted_remove
    hub_class._ops_counted = True


def websocket_clients_now() -> int | None:
    """This process's client count, read at scrape time (None when this process has no hub)."""
    from trading.realtime import hub as realtime_hub

    hub = realtime_hub._hub
    return None if hub is None else len(hub.clients)


def install() -> None:
    from integration.models import FeedStatus
    from trading import events
    from trading.models import Fill, OutboxMessage

    events.listen(on_trading_event)
    post_save.connect(on_feed_status_saved, sender=FeedStatus, dispatch_uid="ops-feed-status")
    post_save.connect(on_outbox_saved, sender=OutboxMessage, dispatch_uid="ops-outbox")
    post_save.connect(on_fill_saved, sender=Fill, dispatch_uid="ops-fill")
    celery_signals.task_failure.connect(on_task_failure, weak=False, dispatch_uid="ops-task-failure")
    celery_signals.worker_process_shutdown.connect(on_worker_process_shutdown, weak=False, dispatch_uid="ops-mp")
    websocket_clients_instrument()
