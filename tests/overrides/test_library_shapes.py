"""The shapes of the libraries' internals that chatproject/overrides relies on.

Each override names the version it was written against. An upgrade that changes one of these
shapes fails here, naming the override to revisit, instead of misbehaving in production.
"""

import asyncio
import inspect
import io
import logging
from types import SimpleNamespace

import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from autobahn.websocket.protocol import WebSocketProtocol as AutobahnProtocol
from channels.consumer import AsyncConsumer
from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer
from daphne import http_protocol
from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from django.core.handlers.asgi import ASGIHandler
from django.db.backends.base.base import BaseDatabaseWrapper
from twisted.web.http import Request as TwistedRequest

from chatproject.overrides import asgiref, daphne
from chatproject.overrides.channels import InMemoryChannelLayer as CountingLayer
from chatproject.overrides.channels_redis import OverCapacityFilter


def source(function: object) -> str:
    return inspect.getsource(function)  # type: ignore[arg-type]


# --- daphne, autobahn, Twisted (chatproject/overrides/daphne.py) ---------------------------------


def test_daphne_builds_http_requests_with_its_module_s_web_request_class() -> None:
    """BoundedWebRequest replaces daphne.http_protocol.WebRequest, which buildProtocol reads at
    each connection, and hooks Twisted's Request where the body arrives."""
    assert "protocol.requestFactory = WebRequest" in source(http_protocol.HTTPFactory.buildProtocol)
    for hook in ("gotLength", "handleContentChunk", "process", "connectionLost"):
        assert callable(getattr(TwistedRequest, hook)), hook
    assert "self.content.write(data)" in source(TwistedRequest.handleContentChunk)
    daphne.install()
    assert http_protocol.WebRequest is daphne.BoundedWebRequest


def test_daphne_builds_sockets_with_the_factory_s_protocol_class() -> None:
    assert WebSocketFactory.protocol is WebSocketProtocol or issubclass(
        WebSocketFactory.protocol, WebSocketProtocol
    )
    daphne.install()
    assert WebSocketFactory.protocol is daphne.BoundedWebSocketProtocol


def test_daphne_hands_an_application_a_partial_of_handle_reply_as_its_send() -> None:
    assert "send=partial(self.handle_reply, protocol)" in source(Server.create_application)


def test_daphne_s_protocol_has_what_the_bounded_protocol_overrides_and_reads() -> None:
    assert list(inspect.signature(WebSocketProtocol.serverSend).parameters) == [
        "self",
        "content",
        "binary",
    ]
    assert list(inspect.signature(WebSocketProtocol.onMessage).parameters) == [
        "self",
        "payload",
        "isBinary",
    ]
    assert "self.application_queue = application_queue" in source(
        WebSocketProtocol.applicationCreateWorked
    )
    assert "self.application_queue.put_nowait" in source(WebSocketProtocol.onMessage)
    for name in ("sendPreparedMessage", "dropConnection", "STATE_CLOSING", "STATE_CLOSED"):
        assert hasattr(AutobahnProtocol, name), name
    assert "maxMessagePayloadSize" in source(AutobahnProtocol)


def test_twisted_parses_a_form_body_only_when_asked_and_daphne_passes_its_arguments_on() -> None:
    assert "parsePOSTFormSubmission" in inspect.signature(TwistedRequest.__init__).parameters
    assert "self._parsePOSTFormSubmission" in source(TwistedRequest.requestReceived)
    (web_request,) = daphne.BoundedWebRequest.__bases__
    assert "http.Request.__init__(self, *args, **kwargs)" in source(web_request.__init__)


def test_daphne_queues_the_body_from_content_once_it_has_made_the_application() -> None:
    """BoundedWebRequest.process hands daphne an empty `content` and keeps the body for
    BodyOnDemand; BodyOnDemandServer.create_application is daphne's but for the queue."""
    (web_request,) = daphne.BoundedWebRequest.__bases__  # daphne's, whatever install() did
    process = source(web_request.process)
    assert process.index("self.server.create_application") < process.index(
        "self.content.read(buffer_size)"
    )
    assert "self.application_queue.put_nowait(payload)" in process
    create = source(Server.create_application)
    for line in ("input_queue = asyncio.Queue()", "receive=input_queue.get", "return input_queue"):
        assert line in create, line


def test_daphne_s_command_line_builds_its_server_after_loading_the_application() -> None:
    run = source(CommandLineInterface.run)
    assert run.index("self.load_asgi_app(") < run.index("self.server = self.server_class(")
    daphne.install()
    assert CommandLineInterface.server_class is daphne.BodyOnDemandServer


async def test_body_on_demand_reads_the_body_a_chunk_at_a_time_then_daphne_s_messages() -> None:
    body = bytes(range(256)) * 2400  # 600 KiB: two whole chunks and a part
    request = SimpleNamespace(body_file=io.BytesIO(body))
    queue = daphne.BodyOnDemand(request)  # type: ignore[arg-type]
    queue.put_nowait({"type": "http.request", "body": b"", "more_body": False})  # daphne's own
    queue.put_nowait({"type": "http.disconnect"})

    messages = [await queue.get() for _ in range(4)]

    assert [len(m.get("body", b"")) for m in messages] == [262144, 262144, 90112, 0]
    assert [m.get("more_body") for m in messages] == [True, True, False, None]
    assert b"".join(m.get("body", b"") for m in messages) == body
    assert messages[-1] == {"type": "http.disconnect"}


# --- Django (chatproject/overrides/django.py and postgresql/) ------------------------------------


def test_django_s_asgi_handler_answers_through_get_response_async() -> None:
    assert "await self.get_response_async(request)" in source(ASGIHandler.run_get_response)
    assert "self.run_get_response(request)" in source(ASGIHandler.handle)
    assert "is_async" in inspect.signature(ASGIHandler.load_middleware).parameters


def test_django_s_asgi_handler_cancels_the_request_when_the_disconnect_listener_ends() -> None:
    """SyncStackASGIHandler's listener returns where Django's raises RequestAborted: the same to
    handle only while it cancels on FIRST_COMPLETED and ignores RequestAborted."""
    handle = source(ASGIHandler.handle)
    assert "return_when=asyncio.FIRST_COMPLETED" in handle
    assert "except RequestAborted:" in handle
    assert "task.cancel()" in handle


def test_django_skips_the_health_check_once_it_is_marked_done() -> None:
    check = source(BaseDatabaseWrapper.close_if_health_check_failed)
    assert "self.health_check_done" in check


# --- Channels and channels-redis ---------------------------------------------------------------


def test_channels_dispatch_only_closes_old_connections_then_calls_the_handler() -> None:
    dispatch = source(AsyncConsumer.dispatch)
    assert "get_handler_name(message)" in dispatch
    assert "await aclose_old_connections()" in dispatch
    assert "await handler(message)" in dispatch


async def test_the_in_memory_layer_s_group_send_swallows_a_full_channel() -> None:
    assert "except ChannelFull" in source(InMemoryChannelLayer.group_send)
    layer = CountingLayer(capacity=1)
    await layer.group_add("group", "channel")
    await layer.group_send("group", {"type": "one"})
    await layer.group_send("group", {"type": "two"})  # full: dropped, not raised
    with pytest.raises(ChannelFull):
        await layer.send("channel", {"type": "three"})


def test_channels_redis_logs_each_drop_with_the_count_first() -> None:
    group_send = source(RedisChannelLayer.group_send)
    assert '"%s of %s channels over capacity in group %s"' in group_send
    record = logging.LogRecord(
        "channels_redis.core",
        logging.INFO,
        __file__,
        1,
        "%s of %s channels over capacity in group %s",
        (3, 5, "chat.1"),
        None,
    )
    assert OverCapacityFilter().filter(record)
    assert record.levelno == logging.WARNING


# --- asgiref -------------------------------------------------------------------------------------


async def test_asgiref_records_the_loop_a_sync_thread_works_for() -> None:
    assert "main_event_loop" in source(SyncToAsync)
    assert asgiref.recorded_event_loop() is None  # on the loop itself, no sync work recorded

    loop = await sync_to_async(asgiref.recorded_event_loop)()

    assert loop is asyncio.get_running_loop()
