import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingrobot.settings")
# Build the Django app (and so load settings and apps) before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from trading.realtime.routing import websocket_urlpatterns  # noqa: E402
from tradingrobot.security.ws import WebSocketAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin, client address, credentials (key, bearer token or ticket) and scope: tradingrobot/security/ws.py
        "websocket": WebSocketAuthMiddleware(URLRouter(websocket_urlpatterns)),
    }
)
