"""A user's WebSocket to a real server process (tests.processes.daphne), as a web page or an app
holds it: the `websockets` library over TCP.

The in-process real-time tests use tests.realtime.conftest's Socket instead, which needs no server.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from accounts.models import User
from chats.realtime.protocol import FRAME_MAX_BYTES
from tests.realtime.conftest import access_token

# Larger than what a client may send: the server's own frames (a sync.batch) can be.
RECEIVED_FRAME_MAX = 16 * FRAME_MAX_BYTES


class Client:
    """A user's WebSocket, as the web page or an app holds it."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.hello: dict[str, Any] = {}

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        return frame

    async def next_of(self, frame_type: str, timeout: float = 10) -> dict[str, Any]:
        """The next frame of this type, skipping others, within `timeout` however many others
        arrive."""
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.receive(max(0.0, deadline - time.monotonic()))
            if frame["type"] == frame_type:
                return frame

    async def read_until_closed(self, timeout: float) -> None:
        """Read frames (events, pongs) until the server closes the socket, which raises
        ConnectionClosed; TimeoutError if it is still open after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            await self.receive(max(0.0, deadline - time.monotonic()))

    async def ping(self) -> None:
        """The socket is open and answers: a ping gets its pong (skipping events in flight)."""
        await self.send({"type": "ping"})
        await self.next_of("pong")

    async def sync_from(self, chat_id: int, after: int) -> list[dict[str, Any]]:
        """What a client does after a reconnect: every message after the last seq it saw."""
        messages: list[dict[str, Any]] = []
        while True:
            await self.send({"type": "sync", "chat_id": chat_id, "after_seq": after})
            batch = await self.next_of("sync.batch")
            messages += batch["messages"]
            if not batch["has_more"] or not batch["messages"]:
                return messages
            after = batch["messages"][-1]["seq"]


@asynccontextmanager
async def ws_client(url: str, token: str | None = None) -> AsyncIterator[Client]:
    """A socket signed in with the access token (bearer subprotocol), its hello read; without a
    token, an anonymous socket that has been told nothing yet."""
    subprotocols = None if token is None else [Subprotocol("bearer"), Subprotocol(token)]
    # Straight to the test's own server, and frames as it writes them: no proxy, no compression.
    async with connect(
        url,
        subprotocols=subprotocols,
        proxy=None,
        compression=None,
        max_size=RECEIVED_FRAME_MAX,
    ) as ws:
        opened = Client(ws)
        if token is not None:
            assert ws.subprotocol == "bearer"
            opened.hello = await opened.next_of("hello")
        yield opened


@asynccontextmanager
async def user_client(url: str, user: User | None = None) -> AsyncIterator[Client]:
    """`ws_client` for a user of the test database, with a fresh access token; anonymous for
    None."""
    token = None if user is None else await access_token(user)
    async with ws_client(url, token) as opened:
        yield opened
