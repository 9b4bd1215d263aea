"""A server process crashes (SIGKILL) under its users.

Two daphne processes share the database and Redis. When one dies, its users reconnect to the other
and fetch what they missed from the last seq they saw, and the presence sweep turns offline those
who did not come back, since the dead process can no longer say goodbye for them.
"""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from accounts.models import User
from chats.models import Connection, Message
from tests.clients import ws_client
from tests.factories import UserFactory, chat_factory
from tests.faults.conftest import Http, wait_until
from tests.processes import ROOT, daphne, free_port, process_env
from tests.realtime.conftest import access_token, sync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

# The sweep ends sockets not refreshed for this long; the live processes refresh every second.
STALE_SECONDS = "6"


def presence_sweep(redis_url: str) -> int:
    """The beat's presence sweep task, run once as its own process on the servers' Redis."""
    done = subprocess.run(  # noqa: S603 - our interpreter, our arguments
        [sys.executable, "manage.py", "shell", "-c"]
        + ["from chats.tasks import presence_sweep; print(presence_sweep())"],
        cwd=ROOT,
        env=process_env(REDIS_URL=redis_url, PRESENCE_STALE_SECONDS=STALE_SECONDS),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(done.stdout.strip().splitlines()[-1])


async def status_of(user: User) -> str:
    return str(await sync(lambda: User.objects.get(pk=user.pk).status)())


async def test_users_of_a_killed_process_reconnect_elsewhere_lose_nothing_and_none_stays_online(
    private_redis, processes, tmp_path: Path
):
    """Bob and carol are on the process that dies. Bob reconnects to the other one and reads
    every message in order; carol does not come back, and the sweep shows her offline."""
    alice = await sync(UserFactory)(login="alice")
    bob = await sync(UserFactory)(login="bob")
    carol = await sync(UserFactory)(login="carol")
    chat = await sync(chat_factory)(alice, [bob, carol])
    ports = [free_port(), free_port()]
    doomed, survivor = (daphne(port, tmp_path, REDIS_URL=private_redis.url) for port in ports)
    processes += [doomed, survivor]
    doomed_ws, survivor_ws = (f"ws://127.0.0.1:{port}/ws/" for port in ports)
    alice_api = Http(f"http://127.0.0.1:{ports[1]}", await access_token(alice))
    seen: dict[int, dict[str, Any]] = {}

    async def post(text: str) -> None:
        status, body = await alice_api.post(f"/api/chats/{chat.pk}/messages/", {"text": text})
        assert status == 201, body

    async with ws_client(survivor_ws, await access_token(alice)) as alice_ws:
        async with (
            ws_client(doomed_ws, await access_token(bob)) as bob_ws,
            ws_client(doomed_ws, await access_token(carol)),
        ):
            for n in range(1, 11):
                await post(f"m{n}")
            for _ in range(10):
                message = (await bob_ws.next_of("message.new"))["message"]
                seen[message["seq"]] = message
            assert await status_of(carol) == "online"

            doomed.kill()
            # The conversation goes on while bob is cut off.
            for n in range(11, 21):
                await post(f"m{n}")
        # The ws clients' own close finds the connection already gone; nothing to assert there.

        # Bob reconnects to the other process and catches up from the last seq he saw.
        async with ws_client(survivor_ws, await access_token(bob)) as bob_ws:
            last_seq = max(seen)
            for message in await bob_ws.sync_from(chat.pk, last_seq):
                assert message["seq"] not in seen
                seen[message["seq"]] = message
            assert [seen[seq]["text"] for seq in sorted(seen)] == [f"m{n}" for n in range(1, 21)]
            assert sorted(seen) == list(range(1, 21))
            assert await sync(Message.objects.filter(chat=chat).count)() == 20

            # Carol never came back: the sweep turns her offline once the dead process's rows
            # are stale, and tells the others; bob, connected again, stays online.
            async def carol_offline() -> bool:
                presence_sweep(private_redis.url)
                return await status_of(carol) == "offline"

            await wait_until(carol_offline, timeout=60, what="the sweep to end carol's socket")
            # Alice saw carol come online earlier; now she sees her go.
            event = await alice_ws.next_of("presence", timeout=10)
            while (event["user_id"], event["status"]) != (carol.pk, "offline"):
                event = await alice_ws.next_of("presence", timeout=10)
            assert await status_of(bob) == "online"
            assert await status_of(alice) == "online"
            live_processes = await sync(
                lambda: set(Connection.objects.values_list("user_id", flat=True))
            )()
            assert live_processes == {alice.pk, bob.pk}

    # Once everyone has closed, nobody is left online. (Waiting for it also lets daphne finish
    # the disconnects before the test stops it: see docs/faults.md on stopping daphne.)
    async def nobody_online() -> bool:
        return not await sync(User.objects.exclude(status="offline").exists)()

    await wait_until(nobody_online, timeout=30, what="everyone offline")
