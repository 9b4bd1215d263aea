"""Connections that stop half-way: a TCP connect that never sends its HTTP upgrade (or sends half
of it), a WebSocket opened and then left silent, and a peer that vanishes without closing.

None of them costs the other users anything; the server closes each in its time: an upgrade
never completed after Twisted's 60 s idle timeout (not waited for here), an unauthenticated
socket with 4401 after 10 s, and a peer that stops answering after the keepalive ping's timeout.
"""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from accounts.models import UserStatus
from tests.factories import UserFactory, chat_factory
from tests.hostile.conftest import (
    RawSocket,
    Server,
    client,
    probing,
    start_server,
    upgrade_request,
    wait_for_sockets_to_end,
)
from tests.realtime.conftest import access_token, sync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

AUTH_TIMEOUT = 10  # chats.realtime.consumer.AUTH_TIMEOUT_SECONDS
PING_INTERVAL, PING_TIMEOUT = 1, 2


async def test_half_open_connections_cost_the_others_nothing_and_silent_sockets_close(
    server, user, other_user
):
    chat = await sync(chat_factory)(user, [other_user])
    silent = [RawSocket(server) for _ in range(100)]
    half_sent = [RawSocket(server) for _ in range(50)]
    for raw in half_sent:
        raw.send(upgrade_request(server.port)[:40])
    unauthenticated = [RawSocket(server) for _ in range(20)]
    for raw in unauthenticated:
        raw.handshake()  # no token, no auth frame: and then nothing at all
    baseline = server.rss_mb()

    async with client(server, user) as alice, client(server, other_user) as bob:
        async with probing(alice, bob, chat.pk):
            codes = await asyncio.gather(
                *(asyncio.to_thread(raw.close_code) for raw in unauthenticated)
            )

    assert codes == [4401] * len(unauthenticated)
    for raw in unauthenticated:  # it never answers the close: the server ends the connection
        assert await asyncio.to_thread(raw.wait_closed_by_server, 10)
    assert not any(raw.ended_by_server() for raw in silent + half_sent)  # 60 s are not up yet
    assert server.rss_mb() - baseline < 32
    for raw in silent + half_sent + unauthenticated:
        raw.close()


@pytest.fixture
def server_with_quick_pings(transactional_db: None, tmp_path: Path) -> Iterator[Server]:
    """Production's flags, but a keepalive ping after 1 s of silence (daphne's default is 20 s)
    that must be answered within 2 s (default 30 s), so the test need not wait 50 s."""
    started = start_server(
        tmp_path,
        *("--ping-interval", str(PING_INTERVAL), "--ping-timeout", str(PING_TIMEOUT)),
    )
    try:
        yield started
        wait_for_sockets_to_end()
    finally:
        started.process.stop()


async def test_a_peer_that_vanishes_is_dropped_by_the_keepalive_and_goes_offline(
    server_with_quick_pings, user, other_user
):
    """Carol's phone leaves the network mid-session: her socket neither reads nor writes nor
    closes. Her TCP still acknowledges (the hardest case to tell from a quiet user), so only the
    unanswered ping ends it; then the others see her offline."""
    server = server_with_quick_pings
    carol = await sync(UserFactory)(login="carol")
    await sync(chat_factory)(user, [other_user, carol])
    vanished = RawSocket(server)
    vanished.handshake(await access_token(carol))
    started = time.monotonic()

    async with client(server, user) as alice:
        while True:  # presence events arrive in order: online first, if Alice saw it
            frame = await alice.next_of("presence", timeout=20)
            if frame["user_id"] == carol.pk and frame["status"] == "offline":
                break
        await alice.ping()  # a well-behaved socket answers the pings and stays

    # daphne checks every 2 s for a socket silent for PING_INTERVAL, then waits PING_TIMEOUT.
    assert time.monotonic() - started < PING_INTERVAL + 2 + PING_TIMEOUT + 10
    assert vanished.ended_by_server()
    await sync(carol.refresh_from_db)()
    assert carol.status == UserStatus.OFFLINE
    vanished.close()
