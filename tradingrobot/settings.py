"""Settings, all read from the environment (or a `.env` file) through django-environ.

Sections: core, database, cache/redis, channels, celery, trading, integration.
Embedded defaults (SQLite, in-memory layers) need nothing running.
"""

from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import environ
from corsheaders.defaults import default_headers

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- core -------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
PRODUCTION = env.bool("PRODUCTION", default=False)


def _local_secret_key() -> str:
    """Outside production, a key made on first use and kept in var/ (never in the repo), so every local
    process (`make run`, `manage.py` commands) agrees on it. Production must set SECRET_KEY."""
    if PRODUCTION:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY is not set: production (PRODUCTION=1) needs one in the environment.")
    import secrets

    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY", default="") or _local_secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "corsheaders",
    "oauth2_provider",
    "rest_framework_api_key",
    "tradingrobot.security",
    "channels",
    "market",
    "portfolio",
    "trading",
    "trading.realtime",
    "integration",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "tradingrobot.security.middleware.ClientIpMiddleware",
    "tradingrobot.security.middleware.AuditMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tradingrobot.urls"
WSGI_APPLICATION = "tradingrobot.wsgi.application"
ASGI_APPLICATION = "tradingrobot.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- database ---------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- cache / redis ------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- channels -----------------------------------------------------------------
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# ws /ws/updates (trading/realtime): with Redis, one pub/sub message per event reaches every web process.
REALTIME_BROKER = env("REALTIME_BROKER", default="redis" if REDIS_URL else "memory")  # memory | redis
REALTIME_REDIS_URL = env("REALTIME_REDIS_URL", default=REDIS_URL)
REALTIME_CHANNEL_PREFIX = env("REALTIME_CHANNEL_PREFIX", default="tradingrobot")  # pub/sub ignores the db number
REALTIME_CLIENT_QUEUE = env.int("REALTIME_CLIENT_QUEUE", default=32)  # frames a client may lag before it is dropped
REALTIME_SNAPSHOT_MAX_AGE = env.float("REALTIME_SNAPSHOT_MAX_AGE", default=1.0)  # seconds a connect snapshot is reused
REALTIME_DIRECT_WRITE = env.bool("REALTIME_DIRECT_WRITE", default=True)  # frame fan-out bytes once (fastwrite.py)

# --- celery -------------------------------------------------------------------
# Embedded default (no REDIS_URL): kombu's filesystem broker under var/, so `make run` needs nothing running.
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

# --- REST framework -----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tradingrobot.security.authentication.ApiKeyAuthentication",
        "tradingrobot.security.authentication.ScopedOAuth2Authentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tradingrobot.security.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": [
        "tradingrobot.security.throttling.CredentialRateThrottle",
        "tradingrobot.security.throttling.TradeRateThrottle",
    ],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tradingrobot.errors.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Trading Robot API",
    "DESCRIPTION": "Trading engine behind TradingRobotPlug.com: status, portfolio, market data, orders.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tradingrobot.security.schema.add_security_answers",
    ],
}

# --- trading ------------------------------------------------------------------
STARTING_CASH = Decimal(env.str("STARTING_CASH", default="100000"))
TRADING_CALENDAR = env("TRADING_CALENDAR", default="XNYS")
PRIMARY_SYMBOLS = ["TSLA", "QQQ", "SPY", "NVDA"]
PAPER_SLIPPAGE_BPS = Decimal(env.str("PAPER_SLIPPAGE_BPS", default="0"))
PAPER_COMMISSION_PER_SHARE = Decimal(env.str("PAPER_COMMISSION_PER_SHARE", default="0"))
PAPER_COMMISSION_MIN = Decimal(env.str("PAPER_COMMISSION_MIN", default="0"))
MAX_PRICE_AGE_SECONDS = env.int("MAX_PRICE_AGE_SECONDS", default=900)
MAX_ORDER_QTY = Decimal(env.str("MAX_ORDER_QTY", default="100000"))
MAX_ORDER_NOTIONAL = Decimal(env.str("MAX_ORDER_NOTIONAL", default="1000000"))
QTY_DECIMAL_PLACES = env.int("QTY_DECIMAL_PLACES", default=4)
ALLOW_SHORTING = False
MARKET_DATA_MAX_LIMIT = 10000
STATUS_TICK_SECONDS = env.float("STATUS_TICK_SECONDS", default=5.0)
STATUS_CACHE_SECONDS = env.float("STATUS_CACHE_SECONDS", default=1.0)  # see tradingrobot/snapshot_cache.py

# --- integration (WordPress) ----------------------------------------------------
WP_BASE_URL = env("WP_BASE_URL", default="https://tradingrobotplug.com").rstrip("/")
WP_TIMEZONE = env("WP_TIMEZONE", default="")  # wins over the zone the site reports in /wp-json/
WP_REST_STYLE = env("WP_REST_STYLE", default="auto")  # auto | pretty (/wp-json/...) | query (?rest_route=...)
WP_CONNECT_TIMEOUT = env.float("WP_CONNECT_TIMEOUT", default=5.0)
WP_READ_TIMEOUT = env.float("WP_READ_TIMEOUT", default=90.0)  # /stock-data may fetch 4 quotes live, 15 s each
WP_RETRIES = env.int("WP_RETRIES", default=3)
WP_BACKOFF_SECONDS = env.float("WP_BACKOFF_SECONDS", default=1.0)  # 1, 2, 4... plus jitter
WP_BACKOFF_MAX_SECONDS = env.float("WP_BACKOFF_MAX_SECONDS", default=30.0)
WP_BACKOFF_JITTER_SECONDS = env.float("WP_BACKOFF_JITTER_SECONDS", default=1.0)
WP_RETRY_AFTER_MAX_SECONDS = env.float("WP_RETRY_AFTER_MAX_SECONDS", default=120.0)
WP_BREAKER_FAILURES = env.int("WP_BREAKER_FAILURES", default=3)  # consecutive failed calls that open it
WP_BREAKER_RESET_SECONDS = env.float("WP_BREAKER_RESET_SECONDS", default=60.0)  # open this long, then one trial
WP_CACHE_TTL = env.int("WP_CACHE_TTL", default=300)  # a good answer is served from cache this long
WP_STALE_KEEP_SECONDS = env.int("WP_STALE_KEEP_SECONDS", default=7 * 24 * 3600)  # last good answer kept for outages
WP_CACHE_PREFIX = env("WP_CACHE_PREFIX", default="wp")
WP_POLL_SECONDS = env.float("WP_POLL_SECONDS", default=300.0)
WP_FAST_POLL_SECONDS = env.float("WP_FAST_POLL_SECONDS", default=0.0)  # 1-3 to enable; only while open, not halted
WP_BACKFILL_WINDOW_DAYS = env.int("WP_BACKFILL_WINDOW_DAYS", default=7)
PUSHBACK_BACKOFF_SECONDS = env.float("PUSHBACK_BACKOFF_SECONDS", default=30.0)  # 30 s, 60 s, 120 s... plus jitter
PUSHBACK_BACKOFF_MAX_SECONDS = env.float("PUSHBACK_BACKOFF_MAX_SECONDS", default=1800.0)
# A claimed record and the one-deliverer lock expire after this: how soon a killed worker's delivery is redone.
PUSHBACK_LEASE_SECONDS = env.float("PUSHBACK_LEASE_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE = {
    # A poll still queued when the next is due is dropped (a slow site must not pile them up).
    "wordpress-poll": {
        "task": "integration.tasks.wordpress_poll",
        "schedule": WP_POLL_SECONDS,
        "options": {"expires": WP_POLL_SECONDS},
    },
    "pushback-deliver": {
        "task": "integration.tasks.pushback_deliver",
        "schedule": env.float("PUSHBACK_SECONDS", default=30.0),
        "options": {"expires": 30},
    },
    "equity-snapshot": {
        "task": "portfolio.tasks.equity_snapshot",
        "schedule": env.float("EQUITY_SNAPSHOT_SECONDS", default=300.0),
        "options": {"expires": 300},
    },
    "performance-push": {
        "task": "portfolio.tasks.performance_push",
        "schedule": env.float("PERFORMANCE_PUSH_SECONDS", default=900.0),
        "options": {"expires": 900},
    },
    # Day orders expire at the close and queued orders fill even when no poll brings new prices.
    "orders-housekeeping": {
        "task": "trading.tasks.orders_housekeeping",
        "schedule": env.float("ORDERS_HOUSEKEEPING_SECONDS", default=60.0),
        "options": {"expires": 60},
    },
}
if WP_FAST_POLL_SECONDS > 0:
    CELERY_BEAT_SCHEDULE["wordpress-fast-poll"] = {
        "task": "integration.tasks.wordpress_fast_poll",
        "schedule": WP_FAST_POLL_SECONDS,
        "options": {"expires": WP_FAST_POLL_SECONDS},
    }

# --- security -------------------------------------------------------------------
# API keys and OAuth 2.0 (tradingrobot/security): scopes read, trade, admin. See README "Security".
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)  # proxies in front that append X-Forwarded-For
API_IP_ALLOWLIST = env.list("API_IP_ALLOWLIST", default=[])  # CIDRs allowed on /api/, /o/ and /ws/; empty: all
THROTTLE_RATES = {
    "ip": env("THROTTLE_RATE_IP", default="600/min"),  # every guarded request, per client address
    "credential": env("THROTTLE_RATE_KEY", default="300/min"),  # per API key or OAuth client
    "trade": env("THROTTLE_RATE_TRADE", default="30/min"),  # trade-scope routes, per credential and per address
}
SECURITY_GUARDED_PREFIXES = ["/api/", "/o/"]
SECURITY_EXEMPT_PATHS = env.list("SECURITY_EXEMPT_PATHS", default=[r"^/api/health(/ready)?/?$"])
CORS_ALLOWED_ORIGINS = env.list(
    "CORS_ALLOWED_ORIGINS", default=["{0.scheme}://{0.netloc}".format(urlsplit(WP_BASE_URL))]
)
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = (*default_headers, "x-api-key", "idempotency-key")
CORS_EXPOSE_HEADERS = ["Retry-After"]
WS_ALLOWED_ORIGINS = env.list("WS_ALLOWED_ORIGINS", default=CORS_ALLOWED_ORIGINS)
OAUTH2_PROVIDER = {
    "SCOPES": {"read": "Read status, portfolio, market data, orders", "trade": "Trade", "admin": "Stop and resume"},
    "SCOPES_BACKEND_CLASS": "tradingrobot.security.oauth.ClientScopes",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_TOKEN_SECONDS", default=3600),
    # RFC 9700 (OAuth 2.0 Security BCP) throughout: only client credentials are used here.
    **{f"COMPLIANT_BCP_RFC9700_{rule}": True for rule in ("IMPLICIT_GRANT", "PASSWORD_GRANT", "PKCE_METHOD")},
    **{f"COMPLIANT_BCP_RFC9700_{rule}": True for rule in ("ACCESS_TOKEN_TRANSPORT", "AUTHZ_RESPONSE_ISS")},
    **{f"COMPLIANT_BCP_RFC9700_{rule}": True for rule in ("TOKEN_STORAGE", "REFRESH_TOKEN", "REDIRECT_URI_SCHEME")},
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
# Outbound: the WordPress Application Password; never logged (a logging filter redacts it), never in the admin.
WP_APP_USER = env("WP_APP_USER", default="")
WP_APP_PASSWORD = env("WP_APP_PASSWORD", default="")

# Production (PRODUCTION=1): HTTPS only behind a TLS-terminating proxy; `manage.py check --deploy` is clean.
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^api/health(/ready)?/?$"]  # load balancer probes may speak plain HTTP
    if TRUSTED_PROXY_COUNT:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- logging ------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact_secrets": {"()": "tradingrobot.security.redaction.RedactSecretsFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# --- ops: health, metrics, alerts, logs (tradingrobot/ops; README "Operations") ------------------------------
INSTALLED_APPS += ["tradingrobot.ops"]
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # requests and latency per route
    "tradingrobot.ops.logs.RequestIdMiddleware",  # X-Request-ID in, on every log line, back out
    *MIDDLEWARE,
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
# JSON log lines in production; plain text with DEBUG (make run) unless LOG_FORMAT=json.
LOG_FORMAT = env("LOG_FORMAT", default="plain" if DEBUG else "json")  # json | plain
LOGGING["formatters"]["json"] = {"()": "tradingrobot.ops.logs.json_formatter"}
LOGGING["filters"]["log_context"] = {"()": "tradingrobot.ops.logs.LogContextFilter"}
LOGGING["handlers"]["console"]["filters"] = [*LOGGING["handlers"]["console"]["filters"], "log_context"]
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
# /metrics: a bearer token, or an address in the allowlist (CIDRs; loopback by default with DEBUG).
# Several processes: set PROMETHEUS_MULTIPROC_DIR (environment, not here) to a folder all of them share, emptied
# before they start (make run does it); without it /metrics shows the web process's own counters only.
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
CELERY_BEAT_SCHEDULE["ops-beat-heartbeat"] = {
    "task": "ops.tasks.beat_heartbeat",
    "schedule": OPS_BEAT_HEARTBEAT_SECONDS,
    "options": {"expires": OPS_BEAT_HEARTBEAT_SECONDS},
}
CELERY_BEAT_SCHEDULE["ops-alerts"] = {
    "task": "ops.tasks.alerts_check",
    "schedule": OPS_ALERT_SECONDS,
    "options": {"expires": OPS_ALERT_SECONDS},
}
