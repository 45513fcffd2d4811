"""Settings for the load benchmark: the product's settings plus a few ceiling endpoints."""

from tradingrobot.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
