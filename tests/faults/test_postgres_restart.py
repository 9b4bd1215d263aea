"""PostgreSQL restarts under a running server.

While the database is down, every API request gets 503 with a JSON `detail` and `Retry-After`,
never a 500, and an open socket answers its frames with an error and stays open. When the database
is back, the same daphne process serves REST and WebSockets again, with no restart.
"""

import time
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from websockets.exceptions import ConnectionClosed

from tests.clients import ws_client
from tests.faults.conftest import Http, wait_until
from tests.processes import daphne, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PASSWORD = "a-long-enough-password-1"


def register(server: str, login: str) -> tuple[int, str]:
    """A user signs up and signs in; their id and access token."""
    anon = Http(server)
    status, user = anon.call(
        "POST", "/api/auth/register/", {"login": login, "password": PASSWORD, "name": login}
    )
    assert status == 201, user
    status, tokens = anon.call("POST", "/api/auth/token/", {"login": login, "password": PASSWORD})
    assert status == 200, tokens
    return user["id"], tokens["access"]


def heartbeats(database_url: str) -> list[float]:
    """When each open socket's presence row was last refreshed (seconds since the epoch)."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT extract(epoch FROM heartbeat) FROM chats_connection")
        rows = [float(value) for (value,) in cursor.fetchall()]
    conn.close()
    return rows


async def test_requests_during_a_database_restart_get_503_and_the_server_recovers_by_itself(
    private_postgres, private_redis, processes, tmp_path: Path
):
    """During the restart alice gets 503s with a detail and bob's socket answers with errors;
    afterwards the same server lets them post, live and over REST, and open new sockets."""
    port = free_port()
    # Persistent connections, as a deployment would keep them: the ones open before the restart
    # are dead afterwards, and must be noticed and replaced.
    processes.append(
        daphne(
            port,
            tmp_path,
            DATABASE_URL=private_postgres.url,
            CONN_MAX_AGE="60",
            # Redis of its own too: chat ids start at 1 in the new database, and pub/sub channel
            # names are global in a Redis server, whatever its database number.
            REDIS_URL=private_redis.url,
        )
    )
    server, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws/"
    _, alice_token = register(server, "alice")
    bob_id, bob_token = register(server, "bob")
    alice = Http(server, alice_token)
    status, chat = await alice.post(
        "/api/chats/", {"title": "Team", "chat_type": "group", "member_ids": [bob_id]}
    )
    assert status == 201, chat
    messages = f"/api/chats/{chat['id']}/messages/"
    assert (await alice.post(messages, {"text": "before"}))[0] == 201

    async with ws_client(ws_url, bob_token) as bob:
        private_postgres.stop()

        requests: list[tuple[str, str, Any]] = [
            ("GET", "/api/chats/", None),
            ("GET", f"/api/chats/{chat['id']}/", None),
            ("GET", messages + "?after=0", None),
            ("POST", messages, {"text": "during"}),
            ("GET", "/api/users/me/", None),
            ("POST", "/api/auth/token/", {"login": "alice", "password": PASSWORD}),
            ("POST", "/api/auth/register/", {"login": "carol", "password": PASSWORD, "name": "C"}),
        ]
        for method, path, body in requests:
            status, answer = alice.call(method, path, body)
            assert status == 503, (method, path, status, answer)
            assert isinstance(answer, dict), (method, path)
            assert answer["detail"], (method, path)
        status, report = Http(server).call("GET", "/healthz")
        assert (status, report["db"]) == (503, "down")

        # The open socket answers with an error frame and stays open.
        await bob.send({"type": "message.send", "ref": "r1", "chat_id": chat["id"], "text": "hi"})
        error = await bob.next_of("error")
        assert (error["ref"], error["code"]) == ("r1", "service_unavailable")
        # A socket opened during the outage is refused with "try again later", not left hanging.
        with pytest.raises(ConnectionClosed) as refused:
            async with ws_client(ws_url, bob_token):
                pass
        assert refused.value.rcvd is not None
        assert refused.value.rcvd.code == 4503  # CLOSE_UNAVAILABLE

        # The outage lasts until the socket's heartbeat has failed at least once.
        await wait_until(
            lambda: _async("presence heartbeat failed" in processes[0].log.read_text()),
            timeout=20,
            what="a failed heartbeat",
        )
        private_postgres.start()
        restarted = time.time()

        # The same daphne serves again, with no restart: REST ...
        async def posting_works() -> bool:
            return (await alice.post(messages, {"text": "after"}))[0] == 201

        await wait_until(posting_works, timeout=30, what="a post to succeed")
        status, history = await alice.get(messages + "?after=0")
        assert status == 200
        assert [m["text"] for m in history["results"]] == ["before", "after"]
        # ... the open socket, live and on request ...
        live = await bob.next_of("message.new")
        assert live["message"]["text"] == "after"
        await bob.send({"type": "message.send", "ref": "r2", "chat_id": chat["id"], "text": "hi"})
        assert (await bob.next_of("ack"))["message"]["seq"] == 3
        # ... whose presence is kept fresh again, so no sweep will end it while it is open ...
        await wait_until(
            lambda: _async(min(heartbeats(private_postgres.url)) > restarted),
            timeout=20,
            what="the socket's heartbeat after the restart",
        )
        # ... and new sockets.
        async with ws_client(ws_url, alice_token) as alice_ws:
            assert [c["last_seq"] for c in alice_ws.hello["chats"]] == [3]
    status, report = await Http(server).get("/healthz")
    assert (status, report["db"]) == (200, "ok")


async def _async(value: bool) -> bool:
    return value
