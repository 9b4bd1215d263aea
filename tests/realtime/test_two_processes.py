"""End to end: two real daphne processes share one Redis and one PostgreSQL.

A client on one process receives, in order, what a client on the other posts; presence is right
across both; a client that drops from one and reconnects to the other loses nothing.
"""

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from accounts.services import tokens_issue
from chats.models import Membership
from chats.moderation.services import member_remove_by_moderator
from chats.services.messages import message_send
from tests.clients import user_client, ws_client
from tests.factories import chat_factory, messages_factory
from tests.processes import daphnes, ws_url
from tests.realtime.conftest import sync
from tests.revocation import CAUSES, rest_status, superuser

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def servers(transactional_db: None, tmp_path: Path) -> Iterator[list[str]]:
    """Two daphne processes on the test database; their WebSocket URLs."""
    with daphnes(2, tmp_path) as ports:
        yield [ws_url(port) for port in ports]


async def test_a_message_posted_on_one_process_arrives_in_order_on_the_other(
    servers, user, other_user
):
    chat = await sync(chat_factory)(user, [other_user])
    async with user_client(servers[0], user) as alice, user_client(servers[1], other_user) as bob:
        for n in range(1, 51):
            await bob.send({"type": "message.send", "ref": n, "chat_id": chat.pk, "text": f"m{n}"})

        received = [(await alice.next_of("message.new"))["message"] for _ in range(50)]

    assert [m["seq"] for m in received] == list(range(1, 51))
    assert [m["text"] for m in received] == [f"m{n}" for n in range(1, 51)]


async def test_events_of_every_size_arrive_whole(servers, user, other_user):
    """Under daphne an event's frame is built once per process and written to each socket
    (chatproject.overrides.daphne.SharedFrames): each of WebSocket's three length encodings
    must come out right."""
    chat = await sync(chat_factory)(user, [other_user])
    texts = [
        "x" * 200,  # a frame of 126 to 65,535 bytes: a 2-byte length
        "\u00e9" * 10_000,  # 60,000 bytes of JSON escapes
        "\U0001f600" * 10_000,  # 120,000 bytes of escaped surrogate pairs: an 8-byte length
    ]
    async with user_client(servers[0], user) as alice, user_client(servers[1], other_user) as bob:
        await bob.send({"type": "typing", "chat_id": chat.pk})
        typing = await alice.next_of("typing")  # under 126 bytes: the length in the header byte
        for n, text in enumerate(texts):
            frame = {"type": "message.send", "ref": n, "chat_id": chat.pk, "text": text}
            await bob.ws.send(json.dumps(frame, ensure_ascii=False))  # 40 KB, not 120, as UTF-8
            await bob.next_of("ack")

        received = [(await alice.next_of("message.new"))["message"]["text"] for _ in texts]

    assert typing["user_id"] == other_user.pk
    assert received == texts


async def test_presence_is_right_across_processes(servers, user, other_user):
    await sync(chat_factory)(user, [other_user])
    async with user_client(servers[0], user) as alice:
        async with user_client(servers[1], other_user):
            assert (await alice.next_of("presence"))["status"] == "online"
            async with user_client(servers[0], other_user):
                pass  # a second socket on the other process opens and closes
            await sync(other_user.refresh_from_db)()
            assert other_user.status == "online"
        assert (await alice.next_of("presence"))["status"] == "offline"


async def test_a_client_that_moves_process_mid_stream_misses_nothing(servers, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    seen: set[int] = set()
    async with user_client(servers[0], other_user) as bob:
        poster = asyncio.ensure_future(sync(messages_factory)(chat, user, 500))
        while len(seen) < 100:
            seen.add((await bob.next_of("message.new"))["message"]["seq"])
    await poster

    async with user_client(servers[1], other_user) as bob:
        after = max(seen)
        while after < 500:
            await bob.send({"type": "sync", "chat_id": chat.pk, "after_seq": after})
            batch = await bob.next_of("sync.batch")
            for message in batch["messages"]:
                assert message["seq"] not in seen
                seen.add(message["seq"])
                after = message["seq"]

    assert sorted(seen) == list(range(1, 501))


@pytest.mark.parametrize("cause", CAUSES)
async def test_a_revocation_reaches_the_socket_on_another_process(servers, user, cause):
    """API.md, revocation: every affected socket, on every server process, closes with 4403
    within a second; REST refuses the old token at once. The cause is made here, as the API,
    the admin, a shell or a moderator would make it; the socket is held by a daphne."""
    tokens = await sync(tokens_issue)(user=user)
    async with ws_client(servers[1], tokens["access"]) as socket:
        await sync(CAUSES[cause])(user, tokens)

        with pytest.raises(ConnectionClosed) as closed:
            await socket.read_until_closed(timeout=1)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
    assert await sync(rest_status)(tokens["access"]) == 401


async def test_a_member_removed_in_the_admin_stops_hearing_the_chat_on_another_process(
    servers, user, other_user
):
    chat = await sync(chat_factory)(user, [other_user])
    root = await sync(superuser)()
    async with user_client(servers[1], other_user) as bob:
        membership = await sync(Membership.objects.get)(chat=chat, user=other_user)
        await sync(member_remove_by_moderator)(membership=membership, moderator=root, reason="x")
        removed = await bob.next_of("member.removed", timeout=1)
        await sync(message_send)(chat=chat, user=user, text="after bob was removed")

        assert removed["user_id"] == other_user.pk
        with pytest.raises(TimeoutError):
            await bob.next_of("message.new", timeout=1)
