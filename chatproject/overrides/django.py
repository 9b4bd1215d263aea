"""Django's ASGI handler, serving each request in one hop onto the process's database thread.

Written against Django 5.2.19. It relies on ASGIHandler.handle calling get_response_async, and on
load_middleware(is_async=False) building the sync chain that get_response runs, and on handle
treating a disconnect listener that returns as one that raised RequestAborted; tests/overrides
checks all three.
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.db import connections
from django.http import HttpRequest, HttpResponseBase

from chatproject.paths import is_upload

# Uploads parse, re-encode and store files of up to 25 MiB: a 12-megapixel photo takes half a
# second of CPU. On the database thread that would hold up every socket and request of the
# process meanwhile, so they run on threads of their own, each with its own database connection.
_upload_threads = ThreadPoolExecutor(
    max_workers=settings.ATTACHMENT_UPLOAD_THREADS, thread_name_prefix="upload"
)


class SyncStackASGIHandler(ASGIHandler):
    """Django's ASGI handler, running each request's middleware and view in one step on the
    process's shared sync thread (uploads aside: on threads of their own).

    Every view here is a sync DRF view, and most middleware is sync, so Django's async handler
    hops between the event loop and a thread for each middleware hook and again for the view:
    about a dozen hops per request. It also gives each request a thread of its own
    (asgiref's ThreadSensitiveContext), and a database connection belongs to its thread, so with
    CONN_MAX_AGE > 0 each request left a connection behind until PostgreSQL refused clients
    ("too many clients already", met by the history benchmark), and with CONN_MAX_AGE = 0 each
    request paid for a new connection. Here a request makes one hop, onto the thread where the
    Channels consumers' database calls already run, and reuses that thread's connection.
    bench/README.md has the figures.
    """

    def __init__(self) -> None:
        # Not ASGIHandler.__init__, which builds the async middleware chain.
        self.load_middleware(is_async=False)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP only, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        if is_upload(request.path_info):
            serve_apart = sync_to_async(
                self.get_response_apart, thread_sensitive=False, executor=_upload_threads
            )
            return await serve_apart(request)
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    def get_response_apart(self, request: HttpRequest) -> HttpResponseBase:
        """On an upload thread. Uploads are few and long, so each opens its own database
        connection and closes it after: an idle upload thread holds none (Django's request
        signals would close only the database thread's)."""
        try:
            return self.get_response(request)
        finally:
            connections.close_all()

    async def listen_for_disconnect(self, receive: Any) -> None:
        """Returns at the client's disconnect instead of raising RequestAborted, which handle
        catches and ignores all the same. Raised there, its traceback held handle's frame, and the
        frame every object of the request: the request, its response and all the rows behind it
        (Django ticket #36700). They then waited for the cyclic collector, which scanned tens of
        thousands of objects at a time, a pause that landed on whatever request ran next: p90
        of a socket catch-up 215 ms with REST traffic beside it, 134 ms without such garbage
        (bench/README.md)."""
        message = await receive()
        if message["type"] != "http.disconnect":
            self._unexpected(message["type"])

    @staticmethod
    def _unexpected(message_type: str) -> NoReturn:
        raise AssertionError(f"Invalid ASGI message after request body: {message_type}")
