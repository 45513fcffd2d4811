"""Settings for the test suite: the environment's DATABASE_URL / REDIS_URL when given, embedded otherwise."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-not-a-secret")
os.environ.setdefault("LOG_FORMAT", "plain")  # readable test output (tests/ops checks the JSON lines)

from .settings import *  # noqa: F403

# The suite sends thousands of requests from one address within minutes; tests/security sets low rates.
THROTTLE_RATES = {"ip": "100000/min", "credential": "100000/min", "trade": "100000/min"}
THROTTLE_RATE_TOKEN = "100000/min"  # noqa: S105 - a rate
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "tradingrobot.security.hashers.ClientSecretHasher",  # OAuth client secrets
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The status memo is process-wide; tests get a fresh document every time (tests/portfolio tests the memo).
STATUS_CACHE_SECONDS = 0
PERFORMANCE_CACHE_SECONDS = 0

# The test client's host (Django's test setup adds it too; a subprocess using django.test.Client has only this).
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405
