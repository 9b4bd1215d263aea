"""The cast of the chat tests.

Alice (`user`) owns the chats, Bob (`other_user`) is a plain member, Carol is an admin where a chat
has one, and Dave belongs to none of them.
"""

import json
from collections.abc import Callable
from typing import Any, cast

import pytest

from accounts.models import User
from chats.models import Chat, ChatType, Role
from chats.realtime import events
from chats.services.members import member_add
from tests.factories import UserFactory, chat_factory

Event = tuple[str, dict[str, Any]]
MakeUser = Callable[..., User]


@pytest.fixture
def make_user(db: None) -> MakeUser:
    """UserFactory, typed as what it makes (factory_boy's stubs say a factory makes a factory)."""

    def make(**fields: Any) -> User:
        return cast(User, UserFactory(**fields))

    return make


@pytest.fixture
def carol(make_user: MakeUser) -> User:
    return make_user(login="carol", name="Carol")


@pytest.fixture
def dave(make_user: MakeUser) -> User:
    return make_user(login="dave", name="Dave")


@pytest.fixture
def group(user: User, other_user: User) -> Chat:
    """A group owned by Alice with Bob as a plain member."""
    return chat_factory(user, [other_user])


@pytest.fixture
def team(user: User, other_user: User, carol: User) -> Chat:
    """A group owned by Alice, with Carol as admin and Bob as a plain member."""
    chat = chat_factory(user, [other_user], title="Team")
    member_add(chat=chat, actor=user, user_id=carol.pk, role=Role.ADMIN)
    return chat


@pytest.fixture
def channel(user: User, other_user: User, carol: User) -> Chat:
    """A channel owned by Alice, with Carol as admin and Bob as a reader."""
    chat = chat_factory(user, [other_user], chat_type=ChatType.CHANNEL, title="News")
    member_add(chat=chat, actor=user, user_id=carol.pk, role=Role.ADMIN)
    return chat


@pytest.fixture
def sent_events(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """Every (group, frame) that reaches the channel layer, the frame decoded from its JSON.

    An event without a frame (one that only steers sockets) is recorded as it is.
    """
    sent: list[Event] = []

    def record(group: str, event: events.ChannelEvent) -> None:
        if "frames" not in event:
            sent.append((group, dict(event)))
            return
        sent.extend((group, json.loads(frame)) for frame in event["frames"])

    monkeypatch.setattr(events, "_group_send", record)
    return sent
