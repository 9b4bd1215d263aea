"""The cast of the moderation tests.

Alice owns the "Team" group, where Bob and Mallory are members; Mallory misbehaves. Dave is in no
chat. Mo moderates: staff, in the "Moderators" group, not a superuser. Root is a superuser.
"""

import importlib
import json
from collections.abc import Callable, Iterable
from typing import Any, cast

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts.models import User
from chats.models import Chat, Message
from chats.realtime import events
from chats.services.messages import message_send
from tests.factories import UserFactory, chat_factory

Event = tuple[str, dict[str, Any]]
MakeUser = Callable[..., User]
AdminFor = Callable[[User], Client]

_group_migration = importlib.import_module("chats.migrations.0007_moderators_group")


@pytest.fixture
def make_user(db: None) -> MakeUser:
    def make(**fields: Any) -> User:
        return cast(User, UserFactory(**fields))

    return make


@pytest.fixture
def moderators(db: None) -> Group:
    """The group the data migration creates. Running the migration's function again is a no-op,
    and makes the group exist even where a flushing test emptied a reused database."""
    _group_migration.moderators_group_create(global_apps, None)
    return Group.objects.get(name=_group_migration.GROUP)


@pytest.fixture
def mo(make_user: MakeUser, moderators: Group) -> User:
    moderator = make_user(login="mo", name="Mo", is_staff=True)
    moderator.groups.add(moderators)
    return moderator


@pytest.fixture
def root(make_user: MakeUser) -> User:
    return make_user(login="root", name="Root", is_staff=True, is_superuser=True)


@pytest.fixture
def mallory(make_user: MakeUser) -> User:
    return make_user(login="mallory", name="Mallory")


@pytest.fixture
def dave(make_user: MakeUser) -> User:
    return make_user(login="dave", name="Dave")


@pytest.fixture
def team(user: User, other_user: User, mallory: User) -> Chat:
    return chat_factory(user, [other_user, mallory], title="Team")


@pytest.fixture
def spam(team: Chat, user: User, mallory: User) -> Message:
    """Mallory's spam in the team, after a greeting of Alice's."""
    message_send(chat=team, user=user, text="good morning")
    message, _ = message_send(chat=team, user=mallory, text="buy cheap pills")
    return message


@pytest.fixture
def admin_for(db: None) -> AdminFor:
    """A browser signed in to the admin as the user."""

    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def sent_events(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """Every (group, frame) that reaches the channel layer, the frame decoded from its JSON.

    An event without a frame (one that only steers sockets, such as a close) is kept as it is.
    """
    sent: list[Event] = []

    def record(group: str, event: events.ChannelEvent) -> None:
        if "frames" not in event:
            sent.append((group, dict(event)))
            return
        sent.extend((group, json.loads(frame)) for frame in event["frames"])

    monkeypatch.setattr(events, "_group_send", record)
    return sent


def changelist(model: str) -> str:
    """`chats.message` -> the admin's list of messages."""
    app_label, model_name = model.split(".")
    return reverse(f"admin:{app_label}_{model_name}_changelist")


def run_action(
    client: Client, model: str, action: str, rows: Iterable[Any], reason: str = ""
) -> list[str]:
    """Tick the rows, pick the action, type the reason and press Go, as a moderator would.

    Returns the messages the admin shows after the redirect.
    """
    response = client.post(
        changelist(model),
        {
            "action": action,
            "_selected_action": [row.pk for row in rows],
            "reason": reason,
            "index": 0,
        },
        follow=True,
    )
    assert response.status_code == 200, response.content[:500]
    return [str(message) for message in response.context["messages"]]
