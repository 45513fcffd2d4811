"""Settings for the test suite: the environment's DATABASE_URL / REDIS_URL when given, embedded otherwise."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-not-a-secret")
os.environ.setdefault("LOG_FORMAT", "plain")  # readable test output (tests/ops checks the JSON lines)

from .settings import *  # noqa: F403

# The suite sends thousands of requests from one address within minutes; tests/security sets low rates.
THROTTLE_RATES = {"ip": "100000/min", "credential": "100000/min", "trade": "100000/min"}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The status memo is process-wide; tests get a fresh document every time (tests/portfolio tests the memo).
STATUS_CACHE_SECONDS = 0
