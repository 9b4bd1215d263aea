"""Hostile clients against a real daphne, run as production runs it.

The server is a daphne process with production's flags (tests.processes.DAPHNE_FLAGS) and socket
rate limits (tests.hostile.server_settings) on PostgreSQL and Redis. The clients are real sockets:
`websockets` connections for the well-behaved users, and raw TCP sockets (`RawSocket`) for what no
library would send: invalid UTF-8, unmasked frames, lies about a frame's length, a reader that
never reads.

`Probe` is the well-behaved pair of users whose experience must stay normal during an attack.
"""

import asyncio
import base64
import json
import os
import socket
import struct
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import User
from chats.models import Connection
from tests.clients import Client, user_client
from tests.processes import Process, daphne, free_port, stopped_at_end, ws_url

SERVER_SETTINGS = "tests.hostile.server_settings"
FRAME_MAX = 64 * 1024
TCP_ESTABLISHED = 1  # linux/tcp_states.h

# What "normal" means for a well-behaved user during an attack, on a loaded 2-core CI machine.
LATENCY_P99_MAX_SECONDS = 2.0


@dataclass
class Server:
    process: Process
    port: int

    @property
    def url(self) -> str:
        return ws_url(self.port)

    def alive(self) -> bool:
        return self.process.popen.poll() is None

    def rss_mb(self) -> float:
        """The daphne process's resident memory, in MiB."""
        with open(f"/proc/{self.process.popen.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


def start_server(log_dir: Path, *flags: str) -> Server:
    port = free_port()
    return Server(daphne(port, log_dir, *flags, DJANGO_SETTINGS_MODULE=SERVER_SETTINGS), port)


@pytest.fixture(scope="session")
def server(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One daphne for the whole hostile set: starting one costs seconds, and an attack that
    leaves it unwell must show in the tests that come after."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        # As tests/conftest.py's _require_services, which runs only after session fixtures.
        reason = "needs PostgreSQL and Redis: set DATABASE_URL and REDIS_URL"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with django_db_blocker.unblock():
        started = start_server(tmp_path_factory.mktemp("hostile"))
    with stopped_at_end([started.process]):
        yield started


@pytest.fixture(autouse=True)
def _server_done_with_the_test(transactional_db: None) -> Iterator[None]:
    """After a test, wait for the server to finish ending its sockets (their presence rows go
    last) before the database is emptied: its transactions would deadlock with the flush."""
    yield
    wait_for_sockets_to_end()


def wait_for_sockets_to_end(timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while Connection.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


# --- Well-behaved clients -------------------------------------------------------------------------


def client(server: Server, user: User | None = None) -> AbstractAsyncContextManager[Client]:
    """A well-behaved user's socket (tests.clients, the `websockets` library as a real app would
    use it), or an anonymous one."""
    return user_client(server.url, user)


# --- Raw sockets ---------------------------------------------------------------------------------


def ws_frame(payload: bytes, opcode: int = 0x1, *, fin: bool = True, masked: bool = True) -> bytes:
    """One WebSocket frame as a client puts it on the wire (RFC 6455 section 5.2)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if masked else 0
    if len(payload) < 126:
        head += bytes([mask_bit | len(payload)])
    elif len(payload) < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", len(payload))
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", len(payload))
    if not masked:
        return head + payload
    mask = os.urandom(4)
    key = int.from_bytes((mask * (len(payload) // 4 + 1))[: len(payload)], "big")
    body = (int.from_bytes(payload, "big") ^ key).to_bytes(len(payload), "big")
    return head + mask + body


def upgrade_request(port: int, token: str | None = None) -> bytes:
    lines = [
        "GET /ws/ HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
        "Sec-WebSocket-Version: 13",
    ]
    if token is not None:
        lines.append(f"Sec-WebSocket-Protocol: bearer, {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class RawSocket:
    """A client that speaks WebSocket by hand, over a blocking TCP socket.

    `receive_buffer` shrinks the kernel's receive buffer (before connecting, so that the window
    stays small): a client that then reads nothing stops the server's writes after a few KiB,
    as a stalled phone on a slow network would.
    """

    def __init__(self, server: Server, *, receive_buffer: int | None = None) -> None:
        self.sock = socket.socket()
        if receive_buffer is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", server.port))
        self.port = server.port
        self.buffer = b""

    def handshake(self, token: str | None = None) -> None:
        """Upgrade to WebSocket and read the server's 101 answer, and nothing more."""
        self.sock.sendall(upgrade_request(self.port, token))
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv(1)  # byte by byte: what follows the answer stays unread
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _recv(self, size: int) -> bytes:
        data = self.sock.recv(size)
        if not data:
            raise ConnectionResetError("the server closed the connection")
        return data

    def _read_exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self.buffer += self._recv(1 << 16)
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_frame(self) -> tuple[int, bytes]:
        """The next frame from the server (unmasked, as servers send): (opcode, payload)."""
        first, second = self._read_exactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exactly(8))
        return first & 0x0F, self._read_exactly(length)

    def read_json(self) -> dict[str, Any]:
        """The next text frame, skipping control frames (pings)."""
        while True:
            opcode, payload = self.read_frame()
            if opcode == 0x1:
                frame: dict[str, Any] = json.loads(payload)
                return frame
            if opcode == 0x8:
                raise AssertionError(f"closed: {close_code(payload)}")

    def close_code(self) -> int:
        """Read up to the server's close frame and return its code."""
        while True:
            opcode, payload = self.read_frame()
            if opcode == 0x8:
                return close_code(payload)

    def wait_closed_by_server(self, timeout: float) -> bool:
        """Read (and drop) what arrives until the server ends the connection, with EOF or a
        reset: whether it did within `timeout`."""
        deadline = time.monotonic() + timeout
        try:
            while (left := deadline - time.monotonic()) > 0:
                self.sock.settimeout(left)
                if not self.sock.recv(1 << 16):
                    return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            pass
        finally:
            self.sock.settimeout(10)
        return False

    def ended_by_server(self) -> bool:
        """Whether the server has closed or reset the connection, seen in the kernel's TCP state
        without reading anything."""
        state = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
        return state != TCP_ESTABLISHED

    def close(self) -> None:
        with suppress(OSError):
            self.sock.close()


def close_code(payload: bytes) -> int:
    code: int = struct.unpack("!H", payload[:2])[0]
    return code


# --- The well-behaved users' experience --------------------------------------------------------


@dataclass
class Probe:
    """Alice posts to a chat every `interval` seconds; Bob, another member, reads everything.

    For each post it records the time to Alice's ack and to Bob's message.new: what a user sees
    as "sent" and "delivered". Bob also checks that he gets the chat's messages in seq order with
    no gap, whatever else the chat carries.
    """

    alice: Client
    bob: Client
    chat_id: int
    interval: float = 0.2
    posts_min: int = 15
    latencies: list[float] = field(default_factory=list)
    sent: dict[str, float] = field(default_factory=dict)
    seqs: list[int] = field(default_factory=list)
    stopping: bool = False

    async def run_alice(self) -> None:
        pending: dict[str, float] = {}

        async def read_acks() -> None:
            while True:
                frame = await self.alice.receive(timeout=30)
                if frame["type"] == "ack":
                    self.latencies.append(time.monotonic() - pending.pop(frame["ref"]))
                elif frame["type"] == "error":
                    raise AssertionError(f"a well-behaved post failed: {frame}")

        reader = asyncio.ensure_future(read_acks())
        n = 0
        while not (self.stopping and n >= self.posts_min) and not reader.done():
            n += 1
            ref = f"probe-{n}"
            pending[ref] = self.sent[ref] = time.monotonic()
            await self.alice.send(
                {"type": "message.send", "ref": ref, "chat_id": self.chat_id, "text": ref}
            )
            await asyncio.sleep(self.interval)
        deadline = time.monotonic() + 10
        while pending and time.monotonic() < deadline and not reader.done():
            await asyncio.sleep(0.05)
        if reader.done():
            reader.result()  # what went wrong
        reader.cancel()
        assert not pending, f"posts never acked: {sorted(pending)}"

    async def run_bob(self) -> None:
        heard = time.monotonic()
        while not (self.stopping and not self.sent):
            try:
                frame = await self.bob.receive(timeout=0.2)
            except TimeoutError:
                assert time.monotonic() - heard < 30, "Bob has heard nothing for 30 s"
                continue
            heard = time.monotonic()
            if frame["type"] != "message.new" or frame["chat_id"] != self.chat_id:
                continue
            message = frame["message"]
            self.seqs.append(message["seq"])
            if message["text"] in self.sent:
                self.latencies.append(heard - self.sent.pop(message["text"]))

    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@asynccontextmanager
async def probing(alice: Client, bob: Client, chat_id: int) -> AsyncIterator[Probe]:
    """Run the probe for the duration of the block; on leaving it, wait for the last posts and
    check that the users' experience stayed normal."""
    probe = Probe(alice, bob, chat_id)
    tasks = [asyncio.ensure_future(probe.run_alice()), asyncio.ensure_future(probe.run_bob())]
    try:
        yield probe
    finally:
        probe.stopping = True
        done, _ = await asyncio.wait(tasks, timeout=20)
        for task in tasks:
            task.cancel()
    for task in done:
        task.result()  # an assertion from the probe itself
    assert len(done) == len(tasks), f"the probe hung; unanswered posts: {sorted(probe.sent)}"
    assert len(probe.latencies) >= 10, probe.latencies
    print(f"probe: {len(probe.latencies)} latencies, p99 {probe.p99():.3f} s")
    assert probe.p99() < LATENCY_P99_MAX_SECONDS, sorted(probe.latencies)[-5:]
    assert probe.seqs == list(range(probe.seqs[0], probe.seqs[0] + len(probe.seqs)))
