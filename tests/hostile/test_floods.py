"""Clients that send faster than the socket limits allow (20 frames a second in bursts of 40,
10 message.send a second in bursts of 20, production's defaults).

Whatever is over the limit gets a `throttled` error and the socket stays open. A client that
floods without reading the answers cannot make the server hold its frames or its answers without
limit, and the other users chat on as usual.
"""

import asyncio
import time
from typing import Any

import pytest

from chats.models import Message
from tests.factories import UserFactory, chat_factory
from tests.hostile.conftest import RawSocket, client, probing, ws_frame
from tests.realtime.conftest import access_token, sync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

FRAME_RATE, FRAME_BURST = 20, 40
MESSAGE_RATE, MESSAGE_BURST = 10, 20


async def test_a_flood_of_pings_is_answered_up_to_the_limit_then_throttled(server, user):
    async with client(server, user) as alice:
        started = time.monotonic()
        for n in range(200):
            await alice.send({"type": "ping", "ref": n})
        answers = [await alice.receive() for _ in range(200)]
        elapsed = time.monotonic() - started

        pongs = [a for a in answers if a["type"] == "pong"]
        throttled = [a for a in answers if a["type"] == "error"]
        assert FRAME_BURST <= len(pongs) <= FRAME_BURST + FRAME_RATE * elapsed + 1
        assert len(pongs) + len(throttled) == 200
        assert {a["code"] for a in throttled} == {"throttled"}
        assert all(a["ref"] in range(200) for a in throttled)

        await asyncio.sleep(1)  # the bucket refills: the same socket is served again
        await alice.ping()


async def test_a_flood_of_posts_stores_only_what_the_limit_allows(server, user, other_user):
    """Each post over the limit is refused with its ref, and only the acked ones exist."""
    chat = await sync(chat_factory)(user, [other_user])
    async with client(server, user) as alice:
        started = time.monotonic()
        for n in range(100):
            await alice.send({"type": "message.send", "ref": n, "chat_id": chat.pk, "text": "x"})
        answers: list[dict[str, Any]] = []
        while len(answers) < 100:
            frame = await alice.receive()
            if frame["type"] in ("ack", "error"):
                answers.append(frame)
        elapsed = time.monotonic() - started

        acked = [a for a in answers if a["type"] == "ack"]
        assert MESSAGE_BURST <= len(acked) <= MESSAGE_BURST + MESSAGE_RATE * elapsed + 1
        assert {a["code"] for a in answers if a["type"] == "error"} == {"throttled"}
        assert sorted(a["ref"] for a in answers) == list(range(100))
        await alice.ping()
    assert await sync(Message.objects.filter(chat=chat).count)() == len(acked)


async def test_a_flood_that_never_reads_is_held_to_bounded_memory(server, user, other_user):
    """A client sends tiny frames as fast as its network allows and reads none of the answers.
    The server reads its frames only as fast as it handles them, so the flood waits in the
    client's own buffers; the server's memory stays flat and Alice and Bob chat on."""
    chat = await sync(chat_factory)(user, [other_user])
    mallory = await sync(UserFactory)(login="mallory")
    flood = ws_frame(b"x") * 20_000  # 20,000 frames of one byte that is not JSON: 120 KB
    raw = RawSocket(server, receive_buffer=4096)
    raw.handshake(await access_token(mallory))
    raw.sock.settimeout(0.2)
    baseline = server.rss_mb()
    rss = [baseline]
    sent = 0

    def send_for(seconds: float) -> None:
        nonlocal sent
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                sent += raw.sock.send(flood)
            except TimeoutError:  # the server stopped reading: its buffers are full
                pass
            except OSError:  # dropped: it never read its answers
                return

    async with client(server, user) as alice, client(server, other_user) as bob:
        async with probing(alice, bob, chat.pk):
            flooding = asyncio.ensure_future(asyncio.to_thread(send_for, 6))
            while not flooding.done():
                await asyncio.sleep(0.25)
                rss.append(server.rss_mb())
            await flooding

    raw.close()
    assert sent > len(flood)  # it did flood
    assert server.alive()
    assert max(rss) - baseline < 64, rss
