import gc
import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingrobot.settings")

django_wsgi_app = get_wsgi_application()

# The URLconf (every view, serializer and schema module) imported as the worker starts, before it accepts: lazily it
# cost a fresh or respawned worker's first request ~2 s here (load ~5), and the requests queued behind it as long.
import_module(settings.ROOT_URLCONF)

from tradingrobot.fast_path import lean_dispatch  # noqa: E402 - after Django is set up
from tradingrobot.ops.request_environ import without_process_environment  # noqa: E402

# Granian hands each request the worker's whole environment as well: the application sees the request's own keys.
dispatch = lean_dispatch(django_wsgi_app)
application = without_process_environment(dispatch)

# What the worker made while starting (Django, the URLconf, every view and serializer: ~250,000 objects) is moved
# out of the cyclic collector's reach: each full collection walked all of it, ~0.1 s of CPU every ~10,000 requests
# here (~9 us a request of /api/status, and that pause in one request's latency).
gc.collect()
gc.freeze()
