"""daphne's HTTP requests and WebSocket protocol, bounded in memory, and frames built once for
many sockets.

Written against daphne 4.2.3, autobahn 26.11.1 and Twisted 26.10.0. It relies on: daphne's
HTTPFactory.buildProtocol setting `requestFactory = WebRequest` on Twisted's HTTPChannel, and
Twisted's Request.gotLength and handleContentChunk seeing the body before daphne queues it, and
its parsePOSTFormSubmission switch;
daphne's WebSocketFactory.protocol naming the protocol class it instantiates; WebSocketProtocol's
serverSend, onMessage, application_queue and maxMessagePayloadSize; autobahn's state constants,
sendPreparedMessage and dropConnection; daphne handing an application
`functools.partial(Server.handle_reply, protocol)` as its send; WebRequest.process queueing the
body from `content` after create_application, whose body BodyOnDemandServer repeats; and the
command line building its server from CommandLineInterface.server_class after loading the
application. tests/overrides checks each.
"""

import asyncio
import functools
import io
import json
import logging
from collections.abc import Callable
from typing import Any

from autobahn.websocket.protocol import PreparedMessage
from daphne import http_protocol
from daphne.cli import CommandLineInterface
from daphne.http_protocol import WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.web import http

from chatproject.paths import body_max_bytes

logger = logging.getLogger(__name__)

# Bytes queued for a peer since its send buffer was last empty, beyond which it is dropped.
SEND_BUFFER_MAX_BYTES = 4 * 1024 * 1024
# Frames received and not yet handled by the consumer, at which the socket stops reading.
RECEIVE_QUEUE_MAX_FRAMES = 32
RECEIVE_RESUME_CHECK_SECONDS = 0.01


class SendBuffer:
    """The transport's push producer: Twisted pauses it when more than its buffer size (64 KiB)
    waits for the peer, and resumes it once everything has gone out."""

    def __init__(self) -> None:
        self.paused = False
        self.queued_while_paused = 0

    def pauseProducing(self) -> None:  # noqa: N802 - Twisted's IPushProducer
        self.paused = True

    def resumeProducing(self) -> None:  # noqa: N802
        self.paused, self.queued_while_paused = False, 0

    def stopProducing(self) -> None:  # noqa: N802
        pass


class BoundedWebSocketProtocol(WebSocketProtocol):
    """daphne's WebSocket protocol, holding a bounded amount of memory for each socket.

    daphne queues without limit both what a client sends faster than its consumer handles it and
    what the server sends to a client that does not read, so one hostile or stalled client could
    fill the server's memory. Here a socket stops reading while RECEIVE_QUEUE_MAX_FRAMES frames
    wait for its consumer (the flood waits in the client's TCP buffers), and a peer that has not
    drained its send buffer while SEND_BUFFER_MAX_BYTES more were queued is dropped: no close
    frame could get past what it has not read. Its client reconnects and syncs, as after any drop.
    """

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's names
        super().connectionMade()
        # On a protocol error (a frame over the size limit, invalid UTF-8) autobahn's default is
        # to drop the TCP connection: the client would never learn why. Send the close code.
        self.failByDrop = False
        self.send_buffer = SendBuffer()
        self.reading_paused = False
        # The HTTP channel that handed the connection over is still the transport's producer.
        self.transport.unregisterProducer()
        self.transport.registerProducer(self.send_buffer, True)

    def may_send(self, size: int) -> bool:
        """Whether `size` more bytes may be queued for the peer: not once the socket is closing
        (the consumer may send until it hears of the close; autobahn would raise), and not to a
        peer that does not read, which is dropped here."""
        if self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            return False
        if self.send_buffer.paused:
            self.send_buffer.queued_while_paused += size
            if self.send_buffer.queued_while_paused > SEND_BUFFER_MAX_BYTES:
                logger.warning(
                    "WebSocket %s does not keep up with what it is sent: dropped", self.client_addr
                )
                self.wasClean = False
                self.wasNotCleanReason = "the peer does not read"
                self.dropConnection(abort=True)
                return False
        return True

    def send_shared(self, text: str) -> None:
        """Sends a text frame that many sockets get, built once for all of them. Only events come
        this way, and only to a socket that has said hello: it is open, or closing."""
        frame = shared_frame(text)
        if self.may_send(len(frame.payloadHybi)):
            self.sendPreparedMessage(frame)

    def serverSend(self, content: str | bytes, binary: bool = False) -> None:  # noqa: N802
        if not self.may_send(len(content)):
            return
        # autobahn holds what it sends to --websocket-max-message-size too, and raises into the
        # consumer; that limit is for clients' frames; the server's (a sync.batch) may be larger.
        limit: int = self.maxMessagePayloadSize  # type: ignore[has-type]
        self.maxMessagePayloadSize = 0
        try:
            super().serverSend(content, binary)
        finally:
            self.maxMessagePayloadSize = limit

    def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802, N803
        super().onMessage(payload, isBinary)
        queue = getattr(self, "application_queue", None)
        if queue is not None and not self.reading_paused:
            if queue.qsize() >= RECEIVE_QUEUE_MAX_FRAMES:
                self.reading_paused = True
                self.transport.pauseProducing()
                self.resume_reading_later()

    def resume_reading_later(self) -> None:
        asyncio.get_running_loop().call_later(RECEIVE_RESUME_CHECK_SECONDS, self.resume_reading)

    def resume_reading(self) -> None:
        if self.state == self.STATE_CLOSED:
            return
        if self.application_queue.qsize() > RECEIVE_QUEUE_MAX_FRAMES // 2:
            self.resume_reading_later()
            return
        self.reading_paused = False
        self.transport.resumeProducing()


@functools.lru_cache(maxsize=16)
def shared_frame(text: str) -> PreparedMessage:
    """An event's frame, built once for all of the process's sockets that get it. The fan-out
    hands each of them the same `text` object in one pass, so a lookup after the first is a hash
    already computed and an identity check, and a small cache serves: a frame may be 120 KB."""
    return PreparedMessage(text.encode(), isBinary=False, applyMask=False, doNotCompress=True)


class SharedFrames:
    """Puts `send_shared` in each WebSocket's scope: a function that sends a text frame straight
    through the socket's daphne protocol, built once per process (BoundedWebSocketProtocol.
    send_shared). The fan-out sends each event to every socket that follows its group; through ASGI
    each socket would encode and frame it again and pass it through Channels' and daphne's send
    chain: 8-13% of the server's CPU per delivery (bench/README.md, optimisations).

    Under another server, or a test's communicator, the scope has no `send_shared` and the
    consumer sends through ASGI.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        # daphne's send is functools.partial(Server.handle_reply, protocol).
        protocol = send.args[0] if isinstance(send, functools.partial) and send.args else None
        if isinstance(protocol, BoundedWebSocketProtocol):
            scope = {**scope, "send_shared": protocol.send_shared}
        return await self.app(scope, receive, send)


# The request body goes to the application in pieces of this size, one when it asks for it.
BODY_CHUNK_BYTES = 256 * 1024


class BodyOnDemand(asyncio.Queue[dict[str, Any]]):
    """An HTTP application's receive: its request's body read from the file Twisted kept it in,
    a chunk each time the application asks, then daphne's own messages (a disconnect).

    daphne reads the whole body into the queue in 8 KiB messages before the application reads
    any: 23 MiB in 2,958 blocks for a 25 MiB upload, at once (bench/README.md, scenario 8).
    Here the body waits on disk (Twisted spools one over 100 KB to a temporary file) and goes
    over as the application reads it."""

    def __init__(self, request: "BoundedWebRequest") -> None:
        super().__init__()
        self.request = request

    async def get(self) -> dict[str, Any]:
        body = self.request.body_file
        if body is None or body.closed:
            return await super().get()
        chunk = body.read(BODY_CHUNK_BYTES)
        more_body = len(chunk) == BODY_CHUNK_BYTES
        if not more_body:
            self.request.body_file = None
        return {"type": "http.request", "body": chunk, "more_body": more_body}

    def put_nowait(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.request":  # daphne's, of the empty stand-in: get() has it
            return
        super().put_nowait(message)


class BodyOnDemandServer(Server):
    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        """daphne's, with the HTTP application's receive reading the body on demand."""
        if not isinstance(protocol, BoundedWebRequest):
            return super().create_application(protocol, scope)
        queue = BodyOnDemand(protocol)
        scope.setdefault("asgi", {"version": "3.0"})
        instance = self.application(
            scope=scope, receive=queue.get, send=functools.partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(instance)
        return queue


class BoundedWebRequest(WebRequest):
    """Refuses a body over its path's limit (chatproject.paths.body_max_bytes: an upload's is
    larger) with 413 before daphne reads it (security
    review finding 7: a 96 MiB POST got its 413 only after daphne had queued all of it for the
    application, and the process grew by about 100 MB). A Content-Length over the limit is
    answered at once; a chunked body is cut where it passes the limit. Either way the connection
    closes, so the rest of the body is never read. A body within the limit goes to the
    application as it reads it (BodyOnDemand)."""

    body_refused = False
    body_file: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Twisted would parse a form or multipart body into `args` (which daphne never reads) on
        # the event loop, holding several copies of it: a 25 MiB upload took the process from
        # 112 to 448 MiB and stalled it for 1.5 s; 90% of an upload's CPU (bench/README.md,
        # scenario 8). Django parses the body itself, as a stream.
        super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)

    def gotLength(self, length: int | None) -> None:  # noqa: N802 - Twisted's names
        self.body_received = 0
        # The request line is parsed by now; the channel holds its path.
        path = self.channel._path.decode("latin-1").split("?", 1)[0]
        self.body_max_bytes = body_max_bytes(path)
        if length is not None and length > self.body_max_bytes:
            self.content = io.BytesIO()
            self.refuse_body()
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802
        if self.body_refused:
            return
        self.body_received += len(data)
        if self.body_received > self.body_max_bytes:
            self.refuse_body()
            return
        super().handleContentChunk(data)

    def process(self) -> Any:
        if self.body_refused:  # the rest of the body came in the same read: answered already
            return None
        # daphne queues what `content` holds; the application reads the body from body_file.
        self.body_file, self.content = self.content, io.BytesIO()
        return super().process()

    def connectionLost(self, reason: Any) -> None:  # noqa: N802
        if self.body_refused:  # never reached the application, nor daphne's list of them
            http.Request.connectionLost(self, reason)
            return
        super().connectionLost(reason)

    def refuse_body(self) -> None:
        self.body_refused = True
        detail = f"Request body is larger than {self.body_max_bytes} bytes."
        body = json.dumps({"detail": detail}).encode()
        head = (
            "HTTP/1.1 413 Request Entity Too Large\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        self.channel.transport.write(head.encode() + body)
        self.channel.transport.loseConnection()


def install() -> None:
    """Make daphne build every HTTP request with BoundedWebRequest, every WebSocket connection
    with BoundedWebSocketProtocol, and its server (from the command line, which loads the
    application first) as BodyOnDemandServer."""
    http_protocol.WebRequest = BoundedWebRequest  # buildProtocol reads it
    WebSocketFactory.protocol = BoundedWebSocketProtocol
    CommandLineInterface.server_class = BodyOnDemandServer
