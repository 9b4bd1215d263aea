"""Retrying a write is safe: every POST, PUT, PATCH and DELETE under /api/ takes an
Idempotency-Key, and the same key again returns the first answer and changes nothing
(chatproject/idempotency.py)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Model
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import IdempotencyRecord, User
from accounts.services import idempotency_records_purge
from chats.models import Chat, Membership, Message, Report, ScheduledMessage
from chats.services.messages import message_send
from chats.services.scheduling import message_schedule

pytestmark = pytest.mark.django_db


@dataclass
class World:
    """Alice's team (Bob a member, Carol an admin), Bob's message in it, Alice's scheduled one."""

    alice: User
    bob: User
    carol: User
    dave: User
    team: Chat
    bobs_message: Message
    scheduled: ScheduledMessage


@pytest.fixture
def world(user: User, other_user: User, carol: User, dave: User, team: Chat) -> World:
    bobs_message, _ = message_send(chat=team, user=other_user, text="hello from bob")
    later = timezone.now() + timedelta(hours=1)
    scheduled = message_schedule(chat=team, user=user, text="later", send_at=later)
    return World(user, other_user, carol, dave, team, bobs_message, scheduled)


@dataclass
class Write:
    """A write as Alice (or Bob) sends it, and a request that differs from it only in its data."""

    method: str
    path: Callable[[World], str]
    data: Callable[[World], dict[str, Any] | None]
    other_data: Callable[[World], dict[str, Any] | None]
    as_bob: bool = False


def in_hours(hours: int) -> str:
    return (timezone.now() + timedelta(hours=hours)).replace(microsecond=0).isoformat()


def chat_path(tail: str = "") -> Callable[[World], str]:
    return lambda w: f"/api/chats/{w.team.pk}/{tail}"


WRITES = {
    "create a group": Write(
        "post",
        lambda w: "/api/chats/",
        lambda w: {"title": "Trip", "chat_type": "group", "member_ids": [w.bob.pk]},
        lambda w: {"title": "Trip", "chat_type": "group", "member_ids": [w.dave.pk]},
    ),
    "rename a chat": Write(
        "patch", chat_path(), lambda w: {"title": "Crew"}, lambda w: {"title": "Band"}
    ),
    "delete a chat": Write("delete", chat_path(), lambda w: None, lambda w: None),
    "mark read": Write("post", chat_path("read/"), lambda w: {"seq": 1}, lambda w: {"seq": 0}),
    "add a member": Write(
        "post",
        chat_path("members/"),
        lambda w: {"user_id": w.dave.pk},
        lambda w: {"user_id": w.dave.pk, "role": "admin"},
    ),
    "change a role": Write(
        "patch",
        lambda w: f"/api/chats/{w.team.pk}/members/{w.bob.pk}/",
        lambda w: {"role": "admin"},
        lambda w: {"role": "member"},
    ),
    "remove a member": Write(
        "delete",
        lambda w: f"/api/chats/{w.team.pk}/members/{w.bob.pk}/",
        lambda w: None,
        lambda w: None,
    ),
    "post a message": Write(
        "post", chat_path("messages/"), lambda w: {"text": "hi"}, lambda w: {"text": "hi!"}
    ),
    "edit a message": Write(
        "patch",
        lambda w: f"/api/chats/{w.team.pk}/messages/{w.bobs_message.pk}/",
        lambda w: {"text": "edited"},
        lambda w: {"text": "edited again"},
        as_bob=True,
    ),
    "delete a message": Write(
        "delete",
        lambda w: f"/api/chats/{w.team.pk}/messages/{w.bobs_message.pk}/",
        lambda w: None,
        lambda w: None,
    ),
    "report a message": Write(
        "post",
        lambda w: f"/api/chats/{w.team.pk}/messages/{w.bobs_message.pk}/report/",
        lambda w: {"reason": "rude"},
        lambda w: {"reason": "spam"},
    ),
    "schedule a message": Write(
        "post",
        chat_path("scheduled/"),
        lambda w: {"text": "soon", "send_at": in_hours(2)},
        lambda w: {"text": "soon", "send_at": in_hours(3)},
    ),
    "move a scheduled message": Write(
        "patch",
        lambda w: f"/api/chats/{w.team.pk}/scheduled/{w.scheduled.pk}/",
        lambda w: {"text": "a bit later"},
        lambda w: {"text": "much later"},
    ),
    "cancel a scheduled message": Write(
        "delete",
        lambda w: f"/api/chats/{w.team.pk}/scheduled/{w.scheduled.pk}/",
        lambda w: None,
        lambda w: None,
    ),
    "rename myself": Write(
        "patch", lambda w: "/api/users/me/", lambda w: {"name": "Al"}, lambda w: {"name": "Ali"}
    ),
}
TABLES: list[type[Model]] = [Chat, Membership, Message, ScheduledMessage, Report, User]


def everything() -> dict[str, list[dict[str, Any]]]:
    return {
        model.__name__: list(model.objects.order_by("pk").values())  # type: ignore[attr-defined]
        for model in TABLES
    }


def send(client: APIClient, write: Write, world: World, key: str, other: bool = False) -> Any:
    data = (write.other_data if other else write.data)(world)
    return getattr(client, write.method)(
        write.path(world), data, format="json", HTTP_IDEMPOTENCY_KEY=key
    )


@pytest.mark.parametrize("name", WRITES)
def test_the_same_key_again_returns_the_first_answer_and_changes_nothing(
    api_for: Callable[[User], APIClient], world: World, name: str
) -> None:
    write = WRITES[name]
    client = api_for(world.bob if write.as_bob else world.alice)
    first = send(client, write, world, "retry-1")
    assert first.status_code < 300, first.content
    after_first = everything()

    again = send(client, write, world, "retry-1")

    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert everything() == after_first


@pytest.mark.parametrize("name", WRITES)
def test_the_same_key_with_another_request_gets_422_and_changes_nothing(
    api_for: Callable[[User], APIClient], world: World, name: str
) -> None:
    write = WRITES[name]
    client = api_for(world.bob if write.as_bob else world.alice)
    send(client, write, world, "retry-1")
    after_first = everything()

    if write.data(world) is None:  # no body to change: the same key on another path
        other = client.delete(f"/api/chats/{world.team.pk + 1000}/", HTTP_IDEMPOTENCY_KEY="retry-1")
    else:
        other = send(client, write, world, "retry-1", other=True)

    assert other.status_code == 422
    assert other.json()["detail"] == "This Idempotency-Key was used for another request."
    assert everything() == after_first


def test_json_is_compared_as_data_not_as_text(
    api_for: Callable[[User], APIClient], world: World
) -> None:
    client = api_for(world.alice)
    path = f"/api/chats/{world.team.pk}/messages/"
    first = client.post(
        path,
        '{"text": "hi", "client_id": null}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    again = client.post(
        path,
        '{"client_id":null,"text":"hi"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert Message.objects.filter(text="hi").count() == 1


def test_keys_are_per_user(api_for: Callable[[User], APIClient], world: World) -> None:
    path = f"/api/chats/{world.team.pk}/messages/"
    for author in (world.alice, world.bob):
        response = api_for(author).post(
            path, {"text": "same words"}, format="json", HTTP_IDEMPOTENCY_KEY="shared"
        )
        assert response.status_code == 201
    assert Message.objects.filter(text="same words").count() == 2


def test_a_first_answer_that_was_refused_is_what_a_retry_gets(
    api_for: Callable[[User], APIClient], world: World
) -> None:
    """Bob may not rename Alice's chat: his retry gets the same 403, and nothing changes."""
    client = api_for(world.bob)
    first = client.patch(
        f"/api/chats/{world.team.pk}/", {"title": "Mine"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    again = client.patch(
        f"/api/chats/{world.team.pk}/", {"title": "Mine"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert first.status_code == again.status_code == 403
    assert again.json() == first.json()


@pytest.mark.parametrize("key", ["", "k" * 65])
def test_a_key_of_the_wrong_length_is_refused(
    api_for: Callable[[User], APIClient], world: World, key: str
) -> None:
    response = api_for(world.alice).post(
        f"/api/chats/{world.team.pk}/messages/",
        {"text": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Message.objects.filter(text="x").exists()


def test_a_key_older_than_a_day_is_forgotten(
    api_for: Callable[[User], APIClient], world: World
) -> None:
    client = api_for(world.alice)
    path = f"/api/chats/{world.team.pk}/messages/"
    client.post(path, {"text": "monday"}, format="json", HTTP_IDEMPOTENCY_KEY="daily")
    IdempotencyRecord.objects.update(created=timezone.now() - timedelta(hours=25))

    again = client.post(path, {"text": "tuesday"}, format="json", HTTP_IDEMPOTENCY_KEY="daily")

    assert again.status_code == 201
    assert again.json()["text"] == "tuesday"


def test_the_hourly_purge_forgets_answers_older_than_a_day(world: World) -> None:
    for hours, key in ((25, "old"), (1, "fresh")):
        record = IdempotencyRecord.objects.create(
            user=world.alice, key=key, fingerprint="f", status_code=201
        )
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            created=timezone.now() - timedelta(hours=hours)
        )

    assert idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


def test_a_call_without_a_user_ignores_the_key(anon: APIClient, world: World) -> None:
    """Register and token have no user to keep keys for: the header changes nothing there."""
    body = {"login": "alice", "password": "wrong-password"}
    for _ in range(2):
        response = anon.post("/api/auth/token/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 401
    assert not IdempotencyRecord.objects.exists()
