"""Core Django: the one environment reader, paths, secret key, hosts, apps, middleware, templates, i18n."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

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
# No "testserver": that is the test client's host (Django's test setup and tradingrobot/test_settings.py add it).
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

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
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc from this server, no CDN (settings: api.py)
    "corsheaders",
    "oauth2_provider",
    "rest_framework_api_key",
    "axes",  # admin login lockouts (settings: security.py)
    "tradingrobot.security",
    "channels",
    "market",
    "portfolio",
    "trading",
    "trading.realtime",
    "trading.backtest",
    "integration",
    "dashboard",  # the operator's live page (/dashboard/)
    "tradingrobot.ops",  # health, metrics, alerts, logs (settings: ops.py)
    "tradingrobot",  # tradingrobot/apps.py: installs the event listeners (tradingrobot/listeners.py)
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # requests and latency per route
    "tradingrobot.ops.logs.RequestIdMiddleware",  # X-Request-ID in, on every log line, back out
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
    "tradingrobot.ops.request_metrics.RequestMetricsMiddleware",  # django_prometheus After, series kept
    "axes.middleware.AxesMiddleware",  # axes wants to be last
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
DASHBOARD_TIME_ZONE = "America/New_York"  # the live page shows market times in the exchange's zone
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
