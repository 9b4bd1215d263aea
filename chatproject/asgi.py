"""The ASGI entry point that daphne serves: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from chatproject.origin import AllowedHostsOriginValidator  # noqa: E402
from chats.routing import websocket_urlpatterns  # noqa: E402

if settings.EMBEDDED_CELERY:
    from chatproject.celery import start_embedded

    start_embedded()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Outermost, the origin check refuses a browser page from elsewhere before anything runs.
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
