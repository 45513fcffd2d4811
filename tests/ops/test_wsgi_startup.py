"""The web worker's start (tradingrobot/wsgi.py): what it made while starting is frozen out of the cyclic
collector, so a full collection does not walk Django, the URLconf and every view in the middle of a request."""

import os
import subprocess
import sys

from django.conf import settings


def test_the_worker_s_startup_objects_are_frozen():
    code = "import gc, tradingrobot.wsgi; print(gc.get_freeze_count(), len(gc.get_objects()))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tradingrobot.test_settings"}
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    frozen, tracked = map(int, out.stdout.split())
    assert frozen > 50_000  # the URLconf's views, serializers and Django itself
    assert tracked < frozen // 10  # what the collector still walks: what was made after the start
