"""Settings for the test suite: the environment's DATABASE_URL / REDIS_URL when given, embedded otherwise."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-not-a-secret")

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
