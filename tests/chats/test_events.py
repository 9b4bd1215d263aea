"""The events a write publishes: exactly which, to which group, and only once it has committed."""

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from channels.layers import get_channel_layer
from django.db import transaction
from pytest_django import DjangoCaptureOnCommitCallbacks
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, Message
from chats.realtime import events
from chats.services.chats import chat_update
from chats.services.members import member_add
from chats.services.messages import message_delete, message_edit, message_send, read_mark
from tests.chats.conftest import Event
from tests.factories import chat_factory


def frames(sent: list[Event]) -> list[tuple[str, str]]:
    return [(group, frame["type"]) for group, frame in sent]


def rolled_back(write: Callable[[], object]) -> None:
    """Do the write inside a transaction that then fails and rolls back."""
    with transaction.atomic():
        write()
        raise RuntimeError("the surrounding work failed")


def test_posting_publishes_one_message_new_to_the_chat(
    api: APIClient,
    group: Chat,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/chats/{group.pk}/messages/", {"text": "hi"}, format="json")

    assert response.status_code == 201
    assert sent_events == [
        (
            f"chat.{group.pk}",
            {
                "type": "message.new",
                "chat_id": group.pk,
                "message": response.json(),
                "version": response.json()["version"],
            },
        )
    ]


def test_nothing_is_published_before_the_commit(
    api: APIClient,
    group: Chat,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        api.post(f"/api/chats/{group.pk}/messages/", {"text": "hi"}, format="json")
    assert sent_events == []

    for callback in callbacks:
        callback()

    assert frames(sent_events) == [(f"chat.{group.pk}", "message.new")]


def test_a_retried_post_publishes_nothing_new(
    api: APIClient,
    group: Chat,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    body = {"text": "hi", "client_id": "c-1"}
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/chats/{group.pk}/messages/", body, format="json")
        retry = api.post(f"/api/chats/{group.pk}/messages/", body, format="json")

    assert retry.status_code == 200
    assert frames(sent_events) == [(f"chat.{group.pk}", "message.new")]


def test_a_refused_post_publishes_nothing(
    api_for: Callable[[User], APIClient],
    channel: Chat,
    other_user: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(other_user).post(
            f"/api/chats/{channel.pk}/messages/", {"text": "hi"}, format="json"
        )

    assert response.status_code == 403
    assert sent_events == []


def test_editing_publishes_message_updated(
    api: APIClient,
    group: Chat,
    user: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    message, _ = message_send(chat=group, user=user, text="tpyo")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(
            f"/api/chats/{group.pk}/messages/{message.pk}/", {"text": "typo"}, format="json"
        )

    assert sent_events == [
        (
            f"chat.{group.pk}",
            {
                "type": "message.updated",
                "chat_id": group.pk,
                "message": response.json(),
                "version": response.json()["version"],
            },
        )
    ]
    assert response.json()["edited"] is True


def test_deleting_publishes_the_tombstone_as_message_updated(
    api: APIClient,
    group: Chat,
    other_user: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    message, _ = message_send(chat=group, user=other_user, text="rude")

    with django_capture_on_commit_callbacks(execute=True):
        api.delete(f"/api/chats/{group.pk}/messages/{message.pk}/")

    [(group_name, frame)] = sent_events
    assert group_name == f"chat.{group.pk}"
    assert frame["type"] == "message.updated"
    assert frame["chat_id"] == group.pk
    tombstone = frame["message"]
    assert (tombstone["id"], tombstone["seq"]) == (message.pk, 1)
    assert (tombstone["text"], tombstone["deleted"]) == ("", True)


def test_a_rolled_back_post_publishes_nothing(
    group: Chat,
    user: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    def post() -> object:
        return message_send(chat=group, user=user, text="never happened")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        rolled_back(post)

    assert callbacks == []
    assert sent_events == []
    assert not Message.objects.exists()


@pytest.mark.parametrize("write", ["edit", "delete", "read", "member_add", "chat_update"])
def test_any_rolled_back_write_publishes_nothing(
    group: Chat,
    user: User,
    other_user: User,
    carol: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    write: str,
) -> None:
    message, _ = message_send(chat=group, user=user, text="hello")
    do: dict[str, Callable[[], object]] = {
        "edit": lambda: message_edit(message=message, actor=user, text="changed"),
        "delete": lambda: message_delete(message=message, actor=user),
        "read": lambda: read_mark(chat=group, user=other_user, seq=1),
        "member_add": lambda: member_add(chat=group, actor=user, user_id=carol.pk),
        "chat_update": lambda: chat_update(chat=group, actor=user, title="Renamed"),
    }

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        rolled_back(do[write])

    assert callbacks == []
    assert sent_events == []


def test_creating_a_chat_tells_each_member_with_their_own_role(
    api: APIClient,
    user: User,
    other_user: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/chats/",
            {"title": "Team", "chat_type": "group", "member_ids": [other_user.pk]},
            format="json",
        )

    chat_id = response.json()["id"]
    assert frames(sent_events) == [
        (f"user.{user.pk}", "chat.created"),
        (f"user.{other_user.pk}", "chat.created"),
    ]
    for _, frame in sent_events:
        assert frame["chat"]["id"] == chat_id
        assert frame["chat"]["member_count"] == 2
    assert [frame["chat"]["my_role"] for _, frame in sent_events] == ["owner", "member"]


def test_opening_an_existing_direct_chat_publishes_nothing(
    api: APIClient,
    user: User,
    other_user: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    chat_factory(user, [other_user], chat_type="direct")  # type: ignore[arg-type]

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/chats/", {"chat_type": "direct", "member_ids": [other_user.pk]}, format="json"
        )

    assert response.status_code == 200
    assert sent_events == []


def test_marking_read_tells_the_chat(
    api: APIClient,
    group: Chat,
    user: User,
    other_user: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    message_send(chat=group, user=other_user, text="hi")

    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/chats/{group.pk}/read/", {"seq": 1}, format="json")
        api.post(f"/api/chats/{group.pk}/read/", {"seq": 1}, format="json")

    group.refresh_from_db()
    assert sent_events == [
        (
            f"chat.{group.pk}",
            {
                "type": "read",
                "chat_id": group.pk,
                "user_id": user.pk,
                "seq": 1,
                "version": group.version,
            },
        )
    ]


def test_adding_a_member_tells_the_chat_and_the_newcomer(
    api: APIClient,
    group: Chat,
    dave: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/chats/{group.pk}/members/", {"user_id": dave.pk}, format="json")

    assert frames(sent_events) == [
        (f"chat.{group.pk}", "member.added"),
        (f"user.{dave.pk}", "chat.created"),
    ]
    assert sent_events[0][1]["member"] == response.json()
    assert sent_events[1][1]["chat"]["my_role"] == "member"


def test_removing_a_member_tells_the_chat_and_the_removed(
    api: APIClient,
    group: Chat,
    other_user: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        api.delete(f"/api/chats/{group.pk}/members/{other_user.pk}/")

    group.refresh_from_db()
    other_user.refresh_from_db()
    removed = {"type": "member.removed", "chat_id": group.pk, "user_id": other_user.pk}
    assert sent_events == [
        (f"chat.{group.pk}", {**removed, "version": group.version}),
        (f"user.{other_user.pk}", {**removed, "user_version": other_user.user_version}),
    ]


def test_deleting_a_chat_tells_every_member(
    api: APIClient,
    group: Chat,
    user: User,
    other_user: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        api.delete(f"/api/chats/{group.pk}/")

    assert sorted(frames(sent_events)) == [
        (f"user.{user.pk}", "chat.deleted"),
        (f"user.{other_user.pk}", "chat.deleted"),
    ]
    assert all(frame["chat_id"] == group.pk for _, frame in sent_events)


# --- A failing channel layer ---------------------------------------------------------------------


@pytest.fixture
def broken_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The channel layer is down: every group_send raises."""

    async def group_send(group: str, message: dict[str, Any]) -> None:
        raise ConnectionError("channel layer is down")

    monkeypatch.setattr(get_channel_layer(), "group_send", group_send)


@pytest.mark.usefixtures("broken_layer")
def test_a_channel_layer_failure_is_logged_not_raised(
    api: APIClient,
    group: Chat,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="chats.realtime.events"):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = api.post(f"/api/chats/{group.pk}/messages/", {"text": "hi"}, format="json")

    assert response.status_code == 201
    assert len(callbacks) == 1
    assert Message.objects.get().text == "hi"
    assert f"chat.{group.pk}" in caplog.text


@pytest.mark.usefixtures("broken_layer")
@pytest.mark.django_db(transaction=True)
def test_a_committed_post_succeeds_even_when_the_channel_layer_fails(
    api: APIClient, user: User, other_user: User
) -> None:
    """Here the post really commits, and its events go out inside the request."""
    chat = chat_factory(user, [other_user])

    response = api.post(f"/api/chats/{chat.pk}/messages/", {"text": "hi"}, format="json")

    assert response.status_code == 201
    assert response.json()["seq"] == 1
    assert Message.objects.filter(chat=chat, seq=1, text="hi").exists()


@pytest.mark.parametrize("loop_state", ["stopped", "closed"])
def test_a_thread_whose_server_loop_has_gone_still_publishes(
    monkeypatch: pytest.MonkeyPatch, loop_state: str
) -> None:
    """asgiref keeps, on each thread that served a loop's sync_to_async, that loop after it has
    stopped (a server shutting down, a Celery task that once used database_sync_to_async). Events
    from such a thread go out on a loop of the thread's own; handed to the old loop, the thread
    would wait for ever."""
    sent: list[str] = []

    async def record(group: str, message: dict[str, Any]) -> None:
        sent.append(group)

    monkeypatch.setattr(get_channel_layer(), "group_send", record)
    old_loop = asyncio.new_event_loop()
    if loop_state == "closed":
        old_loop.close()
    monkeypatch.setattr(SyncToAsync.threadlocal, "main_event_loop", old_loop, raising=False)
    monkeypatch.setattr(SyncToAsync.threadlocal, "main_event_loop_pid", os.getpid(), raising=False)

    events._group_send("chat.1", {"frames": ["{}"]})

    assert sent == ["chat.1"]
    old_loop.close()
