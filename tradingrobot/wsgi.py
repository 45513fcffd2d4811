import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingrobot.settings")

django_wsgi_app = get_wsgi_application()

from tradingrobot.fast_path import lean_dispatch  # noqa: E402 - after Django is set up

application = lean_dispatch(django_wsgi_app)
