"""Celery (tradingrobot/celery.py reads every CELERY_* name): broker, beat, task options, the beat schedule.

Embedded default (no REDIS_URL): kombu's filesystem broker under var/, so `make run` needs nothing running.
"""

from pathlib import Path

from .base import VAR_DIR, env
from .cache_channels import REDIS_URL
from .integration import WP_FAST_POLL_SECONDS, WP_POLL_SECONDS
from .ops import OPS_ALERT_SECONDS, OPS_BEAT_HEARTBEAT_SECONDS
from .trading import ALPACA_RECONCILE_SECONDS, TRADING_BROKER

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_DIR = Path(env("CELERY_BROKER_DIR", default=str(VAR_DIR / "celery")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
# One beat only: with Redis, RedBeat holds a lock in Redis; embedded, one worker runs beat inside itself (-B).
if REDIS_URL:
    CELERY_BEAT_SCHEDULER = "tradingrobot.beat:ResilientRedBeatScheduler"  # RedBeat that outlives a Redis restart
    CELERY_REDBEAT_REDIS_URL = env("CELERY_REDBEAT_REDIS_URL", default=REDIS_URL)
    CELERY_REDBEAT_KEY_PREFIX = env("CELERY_REDBEAT_KEY_PREFIX", default="redbeat")
    CELERY_REDBEAT_LOCK_TIMEOUT = env.int("CELERY_REDBEAT_LOCK_TIMEOUT", default=60)
    CELERY_BEAT_MAX_LOOP_INTERVAL = env.int("CELERY_BEAT_MAX_LOOP_INTERVAL", default=5)
else:
    CELERY_BEAT_SCHEDULE_FILENAME = str(CELERY_BROKER_DIR / "beat-schedule")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="celery")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Every task is stopped at the soft limit (SoftTimeLimitExceeded: locks released, claims left to expire) and its
# process killed at the hard one. The longest is a poll against a site at its worst: two calls (/wp-json/ and
# /stock-data), each up to WP_RETRIES+1 attempts of 95 s plus Retry-After waits of up to 120 s, about 25 minutes.
# The backfill is a management command, not a task: no limit applies to it. Enforced by the prefork pool, which
# every worker command runs (Procfile, deploy/: one process each); the solo pool could not stop a task
# (tests/ops/test_time_limits.py).
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=1800)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=1860)


def _every(task: str, seconds: float) -> dict:
    """A beat entry; a run still queued when the next one is due expires (dropped, never piled up)."""
    return {"task": task, "schedule": seconds, "options": {"expires": seconds}}


CELERY_BEAT_SCHEDULE = {
    # A poll still queued when the next is due is dropped (a slow site must not pile them up).
    "wordpress-poll": _every("integration.tasks.wordpress_poll", WP_POLL_SECONDS),
    # The site's /strategies list: new ids get a disabled row, the site's status is stored beside ours.
    "strategies-sync": _every("integration.tasks.strategies_sync", env.float("STRATEGIES_SYNC_SECONDS", default=900.0)),
    "pushback-deliver": _every("integration.tasks.pushback_deliver", env.float("PUSHBACK_SECONDS", default=30.0)),
    "equity-snapshot": _every("portfolio.tasks.equity_snapshot", env.float("EQUITY_SNAPSHOT_SECONDS", default=300.0)),
    "performance-push": _every(
        "portfolio.tasks.performance_push", env.float("PERFORMANCE_PUSH_SECONDS", default=900.0)
    ),
    # Day orders expire at the close and queued orders fill even when no poll brings new prices.
    "orders-housekeeping": _every(
        "trading.tasks.orders_housekeeping", env.float("ORDERS_HOUSEKEEPING_SECONDS", default=60.0)
    ),
    # The optional fast poll (WP_FAST_POLL_SECONDS > 0): only while the market is open and trading not halted.
    **(
        {"wordpress-fast-poll": _every("integration.tasks.wordpress_fast_poll", WP_FAST_POLL_SECONDS)}
        if WP_FAST_POLL_SECONDS > 0
        else {}
    ),
    # With Alpaca as the broker: positions and cash compared with Alpaca's account (a difference is an alert).
    **(
        {"alpaca-account-reconcile": _every("integration.tasks.alpaca_account_reconcile", ALPACA_RECONCILE_SECONDS)}
        if TRADING_BROKER == "alpaca"
        else {}
    ),
    "ops-beat-heartbeat": _every("ops.tasks.beat_heartbeat", OPS_BEAT_HEARTBEAT_SECONDS),
    "ops-alerts": _every("ops.tasks.alerts_check", OPS_ALERT_SECONDS),
}
