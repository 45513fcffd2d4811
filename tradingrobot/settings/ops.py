"""Operations (tradingrobot/ops; README "Operations"): logging, /metrics, readiness, heartbeats, alerts.

Several processes: set PROMETHEUS_MULTIPROC_DIR (environment, read by prometheus_client, not here) to a folder all
of them share, emptied before they start (make run does it); without it /metrics shows the web process's own
counters only.
"""

from .base import DEBUG, env
from .integration import WP_POLL_SECONDS

# JSON log lines in production; plain text with DEBUG (make run) unless LOG_FORMAT=json.
LOG_FORMAT = env("LOG_FORMAT", default="plain" if DEBUG else "json")  # json | plain
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "tradingrobot.ops.logs.json_formatter"},
    },
    "filters": {
        "redact_secrets": {"()": "tradingrobot.security.redaction.RedactSecretsFilter"},
        "log_context": {"()": "tradingrobot.ops.logs.LogContextFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact_secrets", "log_context"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# /metrics: a bearer token, or an address in the allowlist (CIDRs; loopback by default with DEBUG).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_IP_ALLOWLIST = env.list("METRICS_IP_ALLOWLIST", default=["127.0.0.1/32", "::1/128"] if DEBUG else [])
OPS_READY_SKIP = env.list("OPS_READY_SKIP", default=[])  # readiness checks not to run (e.g. celery_beat)
OPS_REDIS_TIMEOUT_SECONDS = env.float("OPS_REDIS_TIMEOUT_SECONDS", default=1.0)
OPS_HEARTBEAT_SECONDS = env.float("OPS_HEARTBEAT_SECONDS", default=15.0)  # worker heartbeat thread
OPS_WORKER_MAX_AGE_SECONDS = env.float("OPS_WORKER_MAX_AGE_SECONDS", default=120.0)
OPS_BEAT_HEARTBEAT_SECONDS = env.float("OPS_BEAT_HEARTBEAT_SECONDS", default=30.0)
OPS_BEAT_MAX_AGE_SECONDS = env.float("OPS_BEAT_MAX_AGE_SECONDS", default=300.0)  # a solo worker may be in a long poll
OPS_POLL_MAX_AGE_SECONDS = env.float("OPS_POLL_MAX_AGE_SECONDS", default=max(3 * WP_POLL_SECONDS, 900.0))
OPS_OUTBOX_MAX_AGE_SECONDS = env.float("OPS_OUTBOX_MAX_AGE_SECONDS", default=900.0)
OPS_OUTBOX_MAX_PENDING = env.int("OPS_OUTBOX_MAX_PENDING", default=500)
ALERT_WEBHOOK_URL = env("ALERT_WEBHOOK_URL", default="")  # JSON POST per alert message; "text" suits chat webhooks
OPS_ALERT_WEBHOOK_TIMEOUT_SECONDS = env.float("OPS_ALERT_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
OPS_ALERT_SECONDS = env.float("OPS_ALERT_SECONDS", default=60.0)  # how often the alert task runs
OPS_ALERT_REPEAT_SECONDS = env.float("OPS_ALERT_REPEAT_SECONDS", default=3600.0)  # remind while still firing
OPS_ALERT_MIN_INTERVAL_SECONDS = env.float("OPS_ALERT_MIN_INTERVAL_SECONDS", default=300.0)  # flapping guard
OPS_ALERT_STALE_SECONDS = env.float("OPS_ALERT_STALE_SECONDS", default=900.0)
OPS_ALERT_ERRORS_WINDOW_SECONDS = env.float("OPS_ALERT_ERRORS_WINDOW_SECONDS", default=300.0)
OPS_ALERT_ERRORS_THRESHOLD = env.int("OPS_ALERT_ERRORS_THRESHOLD", default=10)
