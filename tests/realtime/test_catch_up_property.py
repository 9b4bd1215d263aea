"""The central promise, as a property: a client that was away misses nothing of any kind.

Four people share a chat served by two daphne processes over PostgreSQL and Redis. Hypothesis
drives them through random posts, edits, deletes, moderator removals and restores, members added,
removed and given roles, renames and read markers. Their sockets drop at random moments and come
back on either process, and one process is restarted mid-run. Whenever a client is checked, it
syncs by version and its copy of the chat must equal a fresh load, with no item twice in one
answer; and every versioned event a socket delivered live came in version order, one by one.

`make test` runs a few examples; `make catch-up-property` runs many more (CATCH_UP_EXAMPLES,
CATCH_UP_STEPS). A run is not shrunk (each step is real I/O); a failure shows its steps as run.
"""

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from rest_framework.test import APIClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from accounts.models import User
from accounts.services import tokens_issue
from chats.models import Chat, Membership, Message, Role
from chats.moderation.services import message_remove, message_restore
from chats.realtime.protocol import SYNC_BATCHES_MAX
from chats.services.chats import chat_update
from chats.services.members import member_add, member_remove, member_role_set
from chats.services.messages import message_delete, message_edit, message_send, read_mark
from tests.factories import UserFactory, chat_factory
from tests.processes import Process, daphne, free_port, stopped_at_end, ws_url
from tests.replica import Replica, fresh_load

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

EXAMPLES = int(os.environ.get("CATCH_UP_EXAMPLES", "3"))
STEPS = int(os.environ.get("CATCH_UP_STEPS", "40"))
# Text as the API accepts it: no NUL (PostgreSQL refuses it; the serializers answer 400).
LETTERS = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
QUIET_SECONDS = 0.15  # a socket with nothing more for this long has delivered what was in flight


class Servers:
    """Two daphne processes on fixed ports, one of which can be restarted."""

    def __init__(self, log_dir: Path, started: list[Process]) -> None:
        self.log_dir, self.started = log_dir, started
        self.ports = [free_port(), free_port()]
        self.processes = [self._start(port) for port in self.ports]

    def _start(self, port: int) -> Process:
        process = daphne(port, self.log_dir)
        self.started.append(process)
        return process

    def restart(self, index: int) -> None:
        self.processes[index].stop()
        self.started.remove(self.processes[index])
        self.processes[index] = self._start(self.ports[index])

    def url(self, index: int) -> str:
        return ws_url(self.ports[index])


class ChatClient:
    """One person's client of one chat: a socket that comes and goes, and a copy of the chat
    kept only from what catching up by version brings."""

    def __init__(self, user: User, chat_id: int) -> None:
        self.user, self.chat_id = user, chat_id
        self.replica = Replica()
        self.ws: ClientConnection | None = None
        self.live_version: int | None = None  # the version of the last chat event delivered

    def connect(self, url: str) -> None:
        token = str(tokens_issue(user=self.user)["access"])
        self.ws = connect(
            url,
            subprotocols=[Subprotocol("bearer"), Subprotocol(token)],
            compression=None,
            max_size=None,
            legacy=True,  # no `with`: the socket outlives this call
        )
        hello = self._next(lambda frame: frame["type"] == "hello")
        states = {state["id"]: state for state in hello["chats"]}
        here = states.get(self.chat_id)
        self.live_version = None if here is None else here["version"]

    def drop(self) -> None:
        if self.ws is not None:
            self.ws.close()
        self.ws = None

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        assert self.ws is not None
        try:
            frame = json.loads(self.ws.recv(timeout=timeout))
        except TimeoutError:
            return None
        self._check_order(frame)
        return cast(dict[str, Any], frame)

    def _next(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            frame = self._receive(timeout=10)
            assert frame is not None, "the server did not answer"
            if wanted(frame):
                return frame

    def _check_order(self, frame: dict[str, Any]) -> None:
        """A socket gets one chat's versioned events in version order, none missing, none twice;
        a `changes` frame it was sent to fill a gap moves it past what that frame holds."""
        if frame["type"] == "chat.created" and frame["chat"]["id"] == self.chat_id:
            self.live_version = frame["chat"]["version"]  # joined: the stream starts here
        elif frame["type"] == "member.removed" and "user_version" in frame:
            if frame["chat_id"] == self.chat_id:
                self.live_version = None  # removed: nothing more comes
        elif frame.get("chat_id") == self.chat_id and "version" in frame:
            assert self.live_version is not None, f"an event of a chat not followed: {frame}"
            if frame["type"] == "changes":
                self.live_version = max(self.live_version, frame["version"])
            elif "ref" not in frame:
                assert frame["version"] == self.live_version + 1, (self.live_version, frame)
                self.live_version = frame["version"]

    def settle(self) -> None:
        """Take what is in flight, checking its order. A socket whose process went away is
        dropped, as a client notices a closed connection."""
        if self.ws is None:
            return
        try:
            while self._receive(timeout=QUIET_SECONDS) is not None:
                pass
        except ConnectionClosed:
            self.ws = None

    def catch_up(self) -> bool:
        """Sync by version over the socket until nothing more is missing. False if the chat is
        not (any longer) this user's: then the copy starts again from nothing."""
        while True:
            assert self.ws is not None
            self.ws.send(
                json.dumps(
                    {
                        "type": "sync",
                        "ref": "catch-up",
                        "chat_id": self.chat_id,
                        "since_version": self.replica.version,
                        "limit": 7,  # small pages, so that paging is exercised
                    }
                )
            )
            for _ in range(SYNC_BATCHES_MAX):  # what one sync answers; then ask again
                frame = self._next(lambda f: f.get("ref") == "catch-up")
                if frame["type"] == "error":
                    assert frame["code"] == "not_found", frame
                    self.replica = Replica()
                    return False
                _assert_each_once(frame)
                self.replica.apply(frame)
                if not frame["has_more"]:
                    return True


def _assert_each_once(changes: dict[str, Any]) -> None:
    for key, ids in (
        ("messages", [m["id"] for m in changes["messages"]]),
        ("members", [m["user"]["id"] for m in changes["members"]]),
        ("removed_user_ids", changes["removed_user_ids"]),
    ):
        assert len(ids) == len(set(ids)), f"an item of {key} came twice in one answer"


class CatchUp(RuleBasedStateMachine):
    servers: Servers
    api_for: Callable[[User], APIClient]

    messages = Bundle("messages")

    @initialize()
    def a_chat_of_four(self) -> None:
        self.alice, self.bob, self.carol, self.dave = (cast(User, UserFactory()) for _ in range(4))
        self.root = cast(User, UserFactory(is_staff=True, is_superuser=True))
        self.chat: Chat = chat_factory(self.alice, [self.bob, self.carol], title="Team")
        self.people = [self.alice, self.bob, self.carol, self.dave]
        self.clients = [ChatClient(user, self.chat.pk) for user in self.people]
        for n, client in enumerate(self.clients):
            client.connect(self.servers.url(n % 2))
        self.restarted = False
        self.turn = -1

    def teardown(self) -> None:
        for client in getattr(self, "clients", []):
            client.drop()

    def _member(self, user: User) -> bool:
        return Membership.objects.filter(chat=self.chat, user=user).exists()

    def _others(self) -> list[User]:
        return [self.bob, self.carol, self.dave]

    # --- What people do ------------------------------------------------------------------------

    @rule(target=messages, who=st.integers(0, 3), text=st.text(LETTERS, min_size=1, max_size=20))
    def post(self, who: int, text: str) -> int:
        author = self.people[who] if self._member(self.people[who]) else self.alice
        message, _ = message_send(chat=self.chat, user=author, text=text)
        return message.pk

    @rule(message_id=messages, text=st.text(LETTERS, min_size=1, max_size=20))
    def edit(self, message_id: int, text: str) -> None:
        message = Message.objects.select_related("user").get(pk=message_id)
        if not message.deleted and message.user is not None:
            message_edit(message=message, actor=message.user, text=text)

    @rule(message_id=messages)
    def delete(self, message_id: int) -> None:
        message = Message.objects.select_related("chat").get(pk=message_id)
        message_delete(message=message, actor=self.alice)  # the owner may delete any

    @rule(message_id=messages)
    def moderator_removes(self, message_id: int) -> None:
        message = Message.objects.get(pk=message_id)
        if not message.deleted:
            message_remove(message=message, moderator=self.root, reason="off topic")

    @rule(message_id=messages)
    def moderator_restores(self, message_id: int) -> None:
        message = Message.objects.get(pk=message_id)
        if message.removed_at is not None:
            message_restore(message=message, moderator=self.root)

    @rule(who=st.integers(1, 3), role=st.sampled_from([Role.MEMBER, Role.ADMIN]))
    def add(self, who: int, role: Role) -> None:
        if not self._member(self.people[who]):
            member_add(chat=self.chat, actor=self.alice, user_id=self.people[who].pk, role=role)

    @rule(who=st.integers(1, 3))
    def remove(self, who: int) -> None:
        if self._member(self.people[who]):
            member_remove(chat=self.chat, actor=self.alice, user_id=self.people[who].pk)

    @rule(who=st.integers(1, 3), role=st.sampled_from([Role.MEMBER, Role.ADMIN]))
    def set_role(self, who: int, role: Role) -> None:
        if self._member(self.people[who]):
            member_role_set(
                chat=self.chat, actor=self.alice, user_id=self.people[who].pk, role=role
            )

    @rule(title=st.text(LETTERS, min_size=1, max_size=30))
    def rename(self, title: str) -> None:
        chat_update(chat=self.chat, actor=self.alice, title=title)

    @rule(who=st.integers(0, 3), back=st.integers(0, 3))
    def read(self, who: int, back: int) -> None:
        self.chat.refresh_from_db()
        if self._member(self.people[who]):
            seq = max(0, self.chat.last_seq - back)
            read_mark(chat=self.chat, user=self.people[who], seq=seq)

    # --- What the network and the servers do ---------------------------------------------------

    @rule(who=st.integers(0, 3))
    def socket_drops(self, who: int) -> None:
        self.clients[who].drop()

    @invariant()
    def each_client_in_turn_catches_up_to_what_a_fresh_load_shows(self) -> None:
        """One client per step, in turn: it takes what is in flight (checking its order),
        reconnects if its socket dropped, syncs, and must then hold what a fresh load shows."""
        self.turn += 1
        client = self.clients[self.turn % len(self.clients)]
        client.settle()
        if client.ws is None:  # it comes back by itself, as the demo page does, on either process
            client.connect(self.servers.url(self.turn // len(self.clients) % 2))
        if client.catch_up():
            assert client.replica.state() == fresh_load(self.api_for(client.user), self.chat.pk)

    @precondition(lambda self: not self.restarted)
    @rule(server=st.integers(0, 1))
    def a_server_restarts(self, server: int) -> None:
        self.servers.restart(server)
        self.restarted = True


@pytest.mark.timeout(900)
def test_a_client_that_was_away_holds_what_a_fresh_load_shows(
    transactional_db: None, tmp_path: Path, api_for: Callable[[User], APIClient]
) -> None:
    started: list[Process] = []
    with stopped_at_end(started):
        CatchUp.servers = Servers(tmp_path, started)
        CatchUp.api_for = staticmethod(api_for)
        run_state_machine_as_test(
            CatchUp,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
                # No shrinking: each step runs against real servers, and shrinking a long run
                # would take longer than CI gives; the failing run is reported as it happened.
                phases=[Phase.explicit, Phase.generate],
            ),
        )
