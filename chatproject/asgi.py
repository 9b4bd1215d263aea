"""The ASGI entry point that daphne serves: HTTP through Django, WebSockets through Channels.

Under daphne it also bounds what daphne holds in memory for each WebSocket, and lets the fan-out
write an event's frame, built once, to each socket (chatproject/overrides/daphne.py).
"""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")

# Django must be set up before anything imports models.
django.setup(set_prefix=False)

from chatproject.overrides import daphne  # noqa: E402
from chatproject.overrides.django import SyncStackASGIHandler  # noqa: E402

django_asgi_app = SyncStackASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.conf import settings  # noqa: E402

from chatproject.origin import OriginValidator  # noqa: E402
from chats.realtime.routing import websocket_urlpatterns  # noqa: E402

daphne.install()

if settings.EMBEDDED_CELERY:
    from chatproject.celery import start_embedded

    start_embedded()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The origin check refuses a browser page from elsewhere before any of Channels runs.
        # No AuthMiddleware: it reads the session's user on the database thread before the
        # consumer runs, for every socket; the consumer does it, for a socket with a session
        # cookie, once accepted.
        "websocket": daphne.SharedFrames(
            OriginValidator(SessionMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)

# Everything loaded so far lives as long as the process: frozen, out of the collector's way, a
# full collection scans only what requests made since. Young collections wait for 10,000 new
# objects rather than 700: a young collection scans every young object still alive, and a
# catch-up of 10,000 changes keeps thousands alive while it builds its pages. Beside REST and
# full-load traffic, socket catch-ups' slowest run was 161 ms at 50,000 and 91-103 ms at 10,000,
# whose pauses are a fifth as long (bench/README.md, catch-up).
gc.freeze()
gc.set_threshold(10_000, 20, 10)
