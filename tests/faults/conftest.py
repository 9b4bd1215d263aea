"""Fixtures for the fault tests: private servers to break, real processes, and a plain HTTP client.

Every private server is removed at the end of its test, whatever happened, and every process the
test started is stopped; a test that stopped a server starts it again before it asserts recovery.
"""

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.servers import PrivatePostgres, PrivateRabbitMQ, PrivateRedis, started
from tests.processes import Process, stopped_at_end


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    with started(PrivateRedis()) as server:
        yield server


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    with started(PrivatePostgres()) as server:
        server.create_schema()
        yield server


@pytest.fixture
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    with started(PrivateRabbitMQ()) as server:
        yield server


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[Process]]:
    """Processes a test started (daphne, workers, beat); each stops at the end, logs printed.
    After tmp_path, where the logs are, so that they stop before it is torn down."""
    running: list[Process] = []
    with stopped_at_end(running):
        yield running


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
