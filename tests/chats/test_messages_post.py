"""POST /api/chats/{id}/messages/: posting, seq order, channels, idempotency and text limits."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from pytest_django import Settings
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, Membership, Message
from tests.factories import chat_factory

MESSAGE_FIELDS = {
    "id",
    "chat_id",
    "seq",
    "version",
    "user_id",
    "author",
    "text",
    "client_id",
    "created",
    "updated",
    "edited",
    "deleted",
    "reply_to",
    "thread_root_id",
    "reply_count",
    "last_reply_at",
    "mentions",
    "reactions",
    "pinned",
    "attachments",
}


def post(client: APIClient, chat: Chat, **body: object) -> tuple[int, dict[str, Any]]:
    response = client.post(f"/api/chats/{chat.pk}/messages/", body, format="json")
    return response.status_code, response.json()


def test_a_member_posts_a_message(
    api_for: Callable[[User], APIClient], group: Chat, other_user: User
) -> None:
    status, message = post(api_for(other_user), group, text="Hello, Alice!")

    assert status == 201
    assert set(message) == MESSAGE_FIELDS
    assert message["chat_id"] == group.pk
    assert message["seq"] == 1
    assert message["user_id"] == other_user.pk
    assert message["author"] == {"id": other_user.pk, "name": "Bob"}
    assert message["text"] == "Hello, Alice!"
    assert message["client_id"] is None
    assert (message["edited"], message["deleted"]) == (False, False)
    assert datetime.fromisoformat(message["created"]).tzinfo is not None
    assert datetime.fromisoformat(message["updated"]).tzinfo is not None
    stored = Message.objects.get(pk=message["id"])
    assert (stored.chat_id, stored.seq, stored.user_id, stored.text) == (
        group.pk,
        1,
        other_user.pk,
        "Hello, Alice!",
    )


def test_seqs_count_1_2_3_within_each_chat(
    api: APIClient, api_for: Callable[[User], APIClient], user: User, other_user: User
) -> None:
    first_chat = chat_factory(user, [other_user])
    second_chat = chat_factory(user, [other_user])
    bob = api_for(other_user)

    seqs = [
        post(api, first_chat, text="a")[1]["seq"],
        post(bob, first_chat, text="b")[1]["seq"],
        post(api, second_chat, text="c")[1]["seq"],
        post(api, first_chat, text="d")[1]["seq"],
    ]

    assert seqs == [1, 2, 1, 3]
    first_chat.refresh_from_db()
    assert first_chat.last_seq == 3


def test_posting_moves_my_read_marker_to_my_message(
    api: APIClient, group: Chat, user: User
) -> None:
    post(api, group, text="hello")

    assert Membership.objects.get(chat=group, user=user).last_read_seq == 1


def test_a_non_member_posting_gets_404(
    api_for: Callable[[User], APIClient], group: Chat, dave: User
) -> None:
    status, _ = post(api_for(dave), group, text="let me in")

    assert status == 404
    assert not Message.objects.exists()


def test_posting_needs_a_token(anon: APIClient, group: Chat) -> None:
    assert anon.post(f"/api/chats/{group.pk}/messages/", {"text": "hi"}).status_code == 401
    assert not Message.objects.exists()


def test_a_plain_member_may_not_post_in_a_channel(
    api_for: Callable[[User], APIClient], channel: Chat, other_user: User
) -> None:
    status, body = post(api_for(other_user), channel, text="me too")

    assert status == 403
    assert set(body) == {"detail"}
    assert not Message.objects.exists()


@pytest.mark.parametrize("poster", ["owner", "admin"])
def test_the_owner_and_admins_post_in_a_channel(
    api_for: Callable[[User], APIClient], channel: Chat, user: User, carol: User, poster: str
) -> None:
    status, message = post(api_for(user if poster == "owner" else carol), channel, text="News")

    assert status == 201
    assert message["seq"] == 1


# --- Idempotency ---------------------------------------------------------------------------------


def test_the_same_client_id_again_returns_the_original_message(api: APIClient, group: Chat) -> None:
    first_status, first = post(api, group, text="once", client_id="c-1")

    again_status, again = post(api, group, text="once", client_id="c-1")

    assert (first_status, again_status) == (201, 200)
    assert again == first
    assert first["client_id"] == "c-1"
    assert Message.objects.count() == 1
    group.refresh_from_db()
    assert group.last_seq == 1


def test_a_retry_with_different_text_still_returns_the_original(
    api: APIClient, group: Chat
) -> None:
    _, first = post(api, group, text="first try", client_id="c-1")

    status, again = post(api, group, text="edited retry", client_id="c-1")

    assert status == 200
    assert again["text"] == "first try"
    assert again["id"] == first["id"]


def test_the_same_client_id_from_another_user_is_a_new_message(
    api: APIClient, api_for: Callable[[User], APIClient], group: Chat, other_user: User
) -> None:
    _, mine = post(api, group, text="mine", client_id="c-1")

    status, theirs = post(api_for(other_user), group, text="theirs", client_id="c-1")

    assert status == 201
    assert theirs["id"] != mine["id"]
    assert theirs["seq"] == 2
    assert Message.objects.count() == 2


def test_the_same_client_id_in_another_chat_is_a_new_message(
    api: APIClient, user: User, other_user: User
) -> None:
    first_chat = chat_factory(user, [other_user])
    second_chat = chat_factory(user, [other_user])
    _, first = post(api, first_chat, text="one", client_id="c-1")

    status, second = post(api, second_chat, text="two", client_id="c-1")

    assert status == 201
    assert (second["chat_id"], second["seq"]) == (second_chat.pk, 1)
    assert Message.objects.count() == 2


def test_messages_without_client_id_are_never_merged(api: APIClient, group: Chat) -> None:
    statuses = [
        post(api, group, text="same")[0],
        post(api, group, text="same", client_id=None)[0],
        post(api, group, text="same")[0],
    ]

    assert statuses == [201, 201, 201]
    assert Message.objects.count() == 3


def test_a_client_id_is_at_most_64_characters(api: APIClient, group: Chat) -> None:
    assert post(api, group, text="ok", client_id="x" * 64)[0] == 201

    status, body = post(api, group, text="too long", client_id="x" * 65)

    assert status == 400
    assert "client_id" in body
    assert Message.objects.count() == 1


# --- Text ----------------------------------------------------------------------------------------


def test_text_is_stripped(api: APIClient, group: Chat) -> None:
    _, message = post(api, group, text="  \n hello world \t ")

    assert message["text"] == "hello world"
    assert Message.objects.get().text == "hello world"


@pytest.mark.parametrize("text", ["", " ", "\n\t  \r\n"])
def test_text_that_is_empty_after_stripping_is_refused(
    api: APIClient, group: Chat, text: str
) -> None:
    status, body = post(api, group, text=text)

    assert status == 400
    assert "text" in body
    assert not Message.objects.exists()


def test_text_of_10000_characters_is_accepted(api: APIClient, group: Chat) -> None:
    status, message = post(api, group, text="é" * 10_000)

    assert status == 201
    assert message["text"] == "é" * 10_000


def test_text_of_10001_characters_is_refused(api: APIClient, group: Chat) -> None:
    status, body = post(api, group, text="x" * 10_001)

    assert status == 400
    assert "text" in body
    assert not Message.objects.exists()


def test_surrounding_whitespace_does_not_count_towards_the_limit(
    api: APIClient, group: Chat
) -> None:
    status, message = post(api, group, text="  " + "x" * 10_000 + "  ")

    assert status == 201
    assert len(message["text"]) == 10_000


def test_a_refused_post_takes_no_seq(api: APIClient, group: Chat) -> None:
    post(api, group, text="   ")

    _, message = post(api, group, text="first real one")

    assert message["seq"] == 1


# --- Throttling ----------------------------------------------------------------------------------


def test_posting_too_fast_is_throttled_with_retry_after(
    api: APIClient,
    api_for: Callable[[User], APIClient],
    group: Chat,
    other_user: User,
    settings: Settings,
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "message_send": "2/min",
        },
    }
    statuses = [post(api, group, text=f"message {n}")[0] for n in range(3)]
    throttled = api.post(f"/api/chats/{group.pk}/messages/", {"text": "again"}, format="json")

    assert statuses == [201, 201, 429]
    assert int(throttled["Retry-After"]) > 0
    assert Message.objects.count() == 2
    assert api.get(f"/api/chats/{group.pk}/messages/").status_code == 200
    assert post(api_for(other_user), group, text="my own budget")[0] == 201
