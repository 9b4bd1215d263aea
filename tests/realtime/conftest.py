"""Sockets for the real-time tests: channels' WebsocketCommunicator on the full ASGI app.

These tests need committed transactions (events go out on commit), so they use
`django_db(transaction=True)`; `pytestmark` in each module says so.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator

from accounts.models import User
from accounts.services import tokens_issue
from chatproject.asgi import application

ORIGIN = (b"origin", b"http://localhost")
HOST = (b"host", b"localhost")  # the server's own origin, as a browser on it would send


class Socket(WebsocketCommunicator):
    """A client socket with the helpers a test needs to read like a conversation."""

    hello: dict[str, Any]

    async def expect(self, frame_type: str, timeout: float = 3) -> dict[str, Any]:
        """The next frame, which must be of this type."""
        frame = await self.receive_json_from(timeout=timeout)
        assert frame["type"] == frame_type, frame
        return frame

    async def next_of(self, frame_type: str, timeout: float = 3) -> dict[str, Any]:
        """The next frame of this type, skipping others (presence, read, ...)."""
        while True:
            frame = await self.receive_json_from(timeout=timeout)
            if frame["type"] == frame_type:
                return frame

    async def next_messages(self, timeout: float = 3) -> list[dict[str, Any]]:
        """The messages of the next frame that brings any: a live `message.new`, or a `changes`
        frame that the socket read from the database to fill a gap."""
        while True:
            frame = await self.receive_json_from(timeout=timeout)
            if frame["type"] == "message.new":
                return [frame["message"]]
            if frame["type"] == "changes" and frame["messages"]:
                return list(frame["messages"])

    async def silent(self, timeout: float = 0.3) -> bool:
        if await self.receive_nothing(timeout=timeout):
            return True
        print("unexpected frame:", await self.receive_from())
        return False

    async def drain(self, timeout: float = 0.3) -> None:
        """Read whatever is in flight (presence of those who just connected, ...)."""
        while not await self.receive_nothing(timeout=timeout):
            await self.receive_from()


async def access_token(user: User) -> str:
    tokens = await database_sync_to_async(tokens_issue)(user=user)
    return str(tokens["access"])


Connect = Callable[..., Awaitable[Socket]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Open an authenticated socket for a user (bearer subprotocol) and read its hello."""
    sockets: list[Socket] = []

    async def open_socket(user: User, **options: Any) -> Socket:
        token = options.pop("token", None) or await access_token(user)
        socket = Socket(application, "/ws/", headers=[ORIGIN, HOST], subprotocols=["bearer", token])
        connected, subprotocol = await socket.connect()
        assert connected
        assert subprotocol == "bearer"
        sockets.append(socket)
        socket.hello = await socket.expect("hello")
        return socket

    yield open_socket
    for socket in sockets:
        if not socket.future.done():  # a test may have ended it otherwise
            await socket.disconnect()


@pytest.fixture
async def raw_socket() -> AsyncIterator[Callable[..., Socket]]:
    """A socket that is not yet connected, for tests of the handshake itself."""
    sockets: list[Socket] = []

    def make(headers: list[tuple[bytes, bytes]] | None = None, **options: Any) -> Socket:
        socket = Socket(
            application, "/ws/", headers=[ORIGIN, HOST] if headers is None else headers, **options
        )
        sockets.append(socket)
        return socket

    yield make
    for socket in sockets:
        await socket.disconnect()


@pytest.fixture(autouse=True)
async def _fresh_channel_layer() -> AsyncIterator[None]:
    """Each test gets a layer of its own: nothing queued by one test reaches the next, and no
    connection or lock of the Redis layer outlives the event loop it was made on."""
    channel_layers.backends.clear()
    yield
    layer = get_channel_layer()
    if layer is not None and hasattr(layer, "flush"):
        await layer.flush()
    channel_layers.backends.clear()


def sync(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run ORM code (services, factories) from an async test."""
    return database_sync_to_async(function)
