"""Fixtures for the fault tests: private servers to break, real processes, and plain clients.

Every private server is removed at the end of its test, whatever happened, and every process the
test started is stopped; a test that stopped a server starts it again before it asserts recovery.
"""

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.faults.servers import PrivatePostgres, PrivateRabbitMQ, PrivateRedis
from tests.processes import Process


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        server.create_schema()
        yield server
    finally:
        server.remove()


@pytest.fixture
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    server = PrivateRabbitMQ()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[Process]]:
    """Processes a test started (daphne, workers, beat); each stops at the end, logs printed."""
    running: list[Process] = []
    yield running
    for process in running:
        process.stop()


async def wait_until(
    condition: Callable[[], Awaitable[bool]], timeout: float = 30, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


class Http:
    """A plain HTTP client for a real server; returns (status, JSON body or None)."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base, self.token = base, token

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - http to our own test server
            self.base + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status, raw, kind = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, kind = error.code, error.read(), error.headers
        is_json = "json" in (kind.get("Content-Type") or "")
        return status, json.loads(raw) if is_json and raw else None

    async def get(self, path: str) -> tuple[int, Any]:
        return await asyncio.to_thread(self.call, "GET", path)

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        return await asyncio.to_thread(self.call, "POST", path, body)


class Client:
    """A user's WebSocket, as the web page or an app holds it."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.hello: dict[str, Any] = {}

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def next_of(self, frame_type: str, timeout: float = 10) -> dict[str, Any]:
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if frame["type"] == frame_type:
                return frame

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
async def ws_client(url: str, token: str) -> AsyncIterator[Client]:
    async with connect(url, subprotocols=["bearer", token]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "bearer"
        opened = Client(ws)
        opened.hello = await opened.next_of("hello")
        yield opened
