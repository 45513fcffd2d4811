"""Heartbeats of the Celery worker and beat, written to the database (shared by every process in both modes).

- Worker: from `worker_ready` on, a daemon thread records `worker:<hostname>` every OPS_HEARTBEAT_SECONDS (a
  thread, because a solo-pool worker busy with a long poll would not run a timer); a clean shutdown marks it
  stopped, a killed worker simply stops beating and goes stale.
- Beat: the beat-scheduled task `ops.tasks.beat_heartbeat` records `beat` (also queued once when beat starts);
  its arrival also proves that a worker takes tasks from the queue.
"""

import logging
import os
import threading

from celery import signals
from django.conf import settings
from django.db import close_old_connections, connection

from market.clock import now

from .models import Heartbeat

logger = logging.getLogger(__name__)

_stop = threading.Event()


def heartbeat_record(*, name: str, kind: str, started: bool = False) -> None:
    at = now()
    defaults = {"kind": kind, "pid": os.getpid(), "seen_at": at, "stopped": False}
    if started:
        defaults["started_at"] = at
    Heartbeat.objects.update_or_create(name=name, defaults=defaults)


def heartbeat_stop(*, name: str) -> None:
    Heartbeat.objects.filter(name=name).update(stopped=True, seen_at=now())


def _worker_name(sender) -> str:
    hostname = getattr(sender, "hostname", None) or f"pid{os.getpid()}"
    return f"worker:{hostname}"


def _beat_forever(name: str) -> None:
    while not _stop.wait(settings.OPS_HEARTBEAT_SECONDS):
        try:
            close_old_connections()
            heartbeat_record(name=name, kind=Heartbeat.Kind.WORKER)
        except Exception:
            logger.warning("worker heartbeat not recorded", exc_info=True)
        finally:
            connection.close()


def on_worker_ready(sender=None, **kwargs) -> None:
    name = _worker_name(sender)
    try:
        heartbeat_record(name=name, kind=Heartbeat.Kind.WORKER, started=True)
    except Exception:
        logger.warning("worker heartbeat not recorded", exc_info=True)
    _stop.clear()
    threading.Thread(target=_beat_forever, args=(name,), name="ops-heartbeat", daemon=True).start()


def on_worker_shutdown(sender=None, **kwargs) -> None:
    _stop.set()
    try:
        heartbeat_stop(name=_worker_name(sender))
    except Exception:
        logger.warning("worker heartbeat not marked stopped", exc_info=True)


def on_beat_init(sender=None, **kwargs) -> None:
    """Beat started: queue a heartbeat now rather than after its first interval. Through the broker, not the
    database: an embedded beat (-B) is a forked child that must not use the worker's connection."""
    try:
        sender.app.send_task("ops.tasks.beat_heartbeat", expires=settings.OPS_BEAT_HEARTBEAT_SECONDS)
    except Exception:
        logger.warning("beat heartbeat not queued", exc_info=True)


def install() -> None:
    signals.beat_init.connect(on_beat_init, weak=False, dispatch_uid="ops-beat-init")
    signals.worker_ready.connect(on_worker_ready, weak=False, dispatch_uid="ops-worker-ready")
    signals.worker_shutdown.connect(on_worker_shutdown, weak=False, dispatch_uid="ops-worker-shutdown")
