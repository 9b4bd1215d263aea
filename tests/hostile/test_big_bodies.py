"""Request bodies over the 256 KiB limit (security review finding 7: a 96 MiB POST got its 413
only after daphne had queued all of it, and the process grew by about 100 MB).

daphne answers 413 as soon as a Content-Length says too much, and cuts a chunked body where it
passes the limit; either way the connection closes and the rest is never read. The server's
memory stays flat, and everyone else is served as usual.
"""

import json
import socket
import time

import pytest

from tests.hostile.conftest import client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

MIB = 1024 * 1024


def post_raw(port: int, head: bytes, body_chunks: int, chunk: bytes) -> tuple[bytes, int]:
    """Send the head, then up to `body_chunks` chunks as fast as the server takes them; the
    server's answer and how many chunks it took before it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(head)
        sent = 0
        try:
            for sent in range(1, body_chunks + 1):  # noqa: B007 - counted for the caller
                raw.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while data := raw.recv(65536):
                answer += data
        except ConnectionResetError:
            pass
    return answer, sent


def head_of(length_header: bytes) -> bytes:
    return (
        b"POST /api/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n" + length_header + b"\r\n"
    )


async def test_a_content_length_over_the_limit_is_refused_before_the_body(server, user) -> None:
    baseline = server.rss_mb()
    started = time.monotonic()

    answer, _ = post_raw(server.port, head_of(b"Content-Length: 100663296\r\n"), 96, b"x" * MIB)

    assert answer.startswith(b"HTTP/1.1 413 ")
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert "larger than 262144 bytes" in body["detail"]
    assert time.monotonic() - started < 10
    assert server.rss_mb() - baseline < 16
    async with client(server, user) as alice:  # everyone else is served as usual
        await alice.ping()


async def test_a_chunked_body_is_cut_where_it_passes_the_limit(server, user) -> None:
    baseline = server.rss_mb()
    chunk = b"%x\r\n" % MIB + b"x" * MIB + b"\r\n"

    answer, sent = post_raw(server.port, head_of(b"Transfer-Encoding: chunked\r\n"), 96, chunk)

    assert answer.startswith(b"HTTP/1.1 413 ")
    assert sent < 96  # the server closed long before the client finished
    assert server.rss_mb() - baseline < 16
    async with client(server, user) as alice:
        await alice.ping()
