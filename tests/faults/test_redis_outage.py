"""Redis stops while users chat.

Redis carries the live events (the channel layer) and the shared cache (rate limits). Messages
live in PostgreSQL, so while Redis is down users can still post and read; only the live push stops.
When Redis comes back, the sockets get live events again, and a client that syncs from the last
seq it saw has every message.
"""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from accounts.services import tokens_issue
from chats.models import Message
from tests.clients import ws_client
from tests.factories import UserFactory, chat_factory
from tests.faults.conftest import Http, wait_until
from tests.processes import daphne, free_port
from tests.realtime.conftest import sync
from tests.revocation import CAUSES, rest_status

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]


async def test_users_keep_posting_while_redis_is_down_and_catch_up_when_it_returns(
    private_redis, processes, tmp_path: Path
):
    """Alice posts while Redis is down and gets 201; bob, whose socket stayed open, gets live
    messages again once it is back, and his sync fills in what the push missed."""
    alice = await sync(UserFactory)(login="alice")
    bob = await sync(UserFactory)(login="bob")
    chat = await sync(chat_factory)(alice, [bob])
    port = free_port()
    processes.append(daphne(port, tmp_path, REDIS_URL=private_redis.url))
    server = f"http://127.0.0.1:{port}"
    alice_api = Http(server, (await sync(tokens_issue)(user=alice))["access"])
    bob_token = (await sync(tokens_issue)(user=bob))["access"]
    health = Http(server)
    seen: dict[int, dict[str, Any]] = {}

    async def post(text: str) -> dict[str, Any]:
        status, body = await alice_api.post(f"/api/chats/{chat.pk}/messages/", {"text": text})
        assert status == 201, body
        return body

    async with ws_client(f"ws://127.0.0.1:{port}/ws/", bob_token) as bob_ws:
        await post("before")
        seen[1] = (await bob_ws.next_of("message.new"))["message"]

        private_redis.stop()

        # Posting still works: the message is stored, only its live push is lost.
        during = [await post(f"during {n}") for n in range(1, 4)]
        assert [m["seq"] for m in during] == [2, 3, 4]
        # So does posting on the open socket: the author gets the ack.
        await bob_ws.send({"type": "message.send", "ref": 1, "chat_id": chat.pk, "text": "bob"})
        ack = await bob_ws.next_of("ack")
        assert (ack["ref"], ack["message"]["seq"]) == (1, 5)
        stored = await sync(lambda: list(Message.objects.filter(chat=chat).values_list("seq")))()
        assert sorted(seq for (seq,) in stored) == [1, 2, 3, 4, 5]
        # The health check names what is down.
        status, report = await health.get("/healthz")
        assert status == 503
        assert report == {"db": "ok", "channel_layer": "down", "broker": "ok"}

        private_redis.start()

        # The socket recovers by itself: once the layer has resubscribed, a new post arrives.
        async def delivered_live() -> bool:
            message = await post("after")
            while True:
                frame = await bob_ws.next_of("message.new", timeout=3)
                seen[frame["message"]["seq"]] = frame["message"]
                if frame["message"]["seq"] == message["seq"]:
                    return True

        await wait_until(_retrying(delivered_live), timeout=60, what="a live message.new")

        # What the push missed, the client fetches from the last seq it saw.
        last_seen = 1
        for message in await bob_ws.sync_from(chat.pk, last_seen):
            seen[message["seq"]] = message

    last_seq = await sync(lambda: Message.objects.filter(chat=chat).count())()
    assert sorted(seen) == list(range(1, last_seq + 1))
    assert [seen[seq]["text"] for seq in range(1, 6)] == [
        "before",
        "during 1",
        "during 2",
        "during 3",
        "bob",
    ]
    status, report = await health.get("/healthz")
    assert (status, report["channel_layer"]) == (200, "ok")


def _retrying(attempt: Callable[[], Awaitable[bool]]) -> Callable[[], Awaitable[bool]]:
    """A wait_until condition from an attempt that may time out: a timeout means "not yet"."""

    async def condition() -> bool:
        try:
            return await attempt()
        except TimeoutError:
            return False

    return condition


@pytest.mark.parametrize("cause", CAUSES)
async def test_a_revocation_while_redis_is_down_closes_the_socket_on_its_own_check(
    private_redis, processes, tmp_path: Path, cause: str
):
    """API.md, revocation: with the channel layer down the close event never comes, and the
    socket's own check (every heartbeat: 1 s here, 30 s by default) finds the login session or
    the credentials void and closes with 4403. REST refuses the old token at once."""
    alice = await sync(UserFactory)(login="alice")
    port = free_port()
    processes.append(daphne(port, tmp_path, REDIS_URL=private_redis.url))
    tokens = await sync(tokens_issue)(user=alice)

    async with ws_client(f"ws://127.0.0.1:{port}/ws/", tokens["access"]) as socket:
        private_redis.stop()
        await sync(CAUSES[cause])(alice, tokens)

        with pytest.raises(ConnectionClosed) as closed:
            await socket.read_until_closed(timeout=5)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
    assert await sync(rest_status)(tokens["access"]) == 401
