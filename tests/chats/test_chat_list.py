"""GET /api/chats/: my chats, latest activity first, each with its last message and unread count."""

import base64
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, ChatType
from chats.services.messages import message_delete, read_mark
from tests.factories import chat_factory, messages_factory


def chats_of(client: APIClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/chats/", params)
    assert response.status_code == 200
    return response.json()["results"]


def the_chat(client: APIClient, chat: Chat) -> dict[str, Any]:
    (found,) = [item for item in chats_of(client) if item["id"] == chat.pk]
    return found


def test_i_see_only_the_chats_i_belong_to(
    api: APIClient, user: User, other_user: User, carol: User
) -> None:
    mine = chat_factory(user, [other_user], title="Mine")
    invited = chat_factory(other_user, [user], title="Invited")
    chat_factory(other_user, [carol], title="Not mine")
    chat_factory(carol, chat_type=ChatType.DIRECT, members=[other_user])

    listed = chats_of(api)

    assert {item["id"] for item in listed} == {mine.pk, invited.pk}
    roles = {item["title"]: item["my_role"] for item in listed}
    assert roles == {"Mine": "owner", "Invited": "member"}


def test_a_user_without_chats_gets_an_empty_page(api: APIClient) -> None:
    response = api.get("/api/chats/")

    assert response.status_code == 200
    assert response.json() == {"results": [], "next": None, "previous": None}


def test_listing_chats_needs_a_token(anon: APIClient, group: Chat) -> None:
    assert anon.get("/api/chats/").status_code == 401


def test_the_chat_with_the_latest_activity_comes_first(
    api: APIClient, user: User, other_user: User
) -> None:
    older = chat_factory(user, [other_user], title="Older")
    newer = chat_factory(user, [other_user], title="Newer")
    assert [item["id"] for item in chats_of(api)] == [newer.pk, older.pk]

    messages_factory(older, other_user, 1)

    assert [item["id"] for item in chats_of(api)] == [older.pk, newer.pk]


def test_each_chat_carries_its_last_message(
    api: APIClient, group: Chat, user: User, other_user: User
) -> None:
    messages_factory(group, user, 2, text="from alice")
    (last,) = messages_factory(group, other_user, 1, text="from bob")

    chat = the_chat(api, group)

    assert chat["last_seq"] == 3
    assert chat["member_count"] == 2
    assert chat["last_message"]["id"] == last.pk
    assert chat["last_message"]["seq"] == 3
    assert chat["last_message"]["text"] == "from bob 1"
    assert chat["last_message"]["author"] == {"id": other_user.pk, "name": "Bob"}


def test_a_deleted_last_message_shows_as_a_tombstone(
    api: APIClient, group: Chat, other_user: User
) -> None:
    (message,) = messages_factory(group, other_user, 1, text="oops")
    message_delete(message=message, actor=other_user)

    last = the_chat(api, group)["last_message"]

    assert (last["seq"], last["text"], last["deleted"]) == (1, "", True)


def test_unread_counts_other_peoples_messages_after_my_read_marker(
    api: APIClient, group: Chat, user: User, other_user: User
) -> None:
    messages_factory(group, other_user, 5)
    assert the_chat(api, group)["unread_count"] == 5

    read_mark(chat=group, user=user, seq=2)

    assert the_chat(api, group)["unread_count"] == 3


def test_my_own_messages_are_never_unread(api: APIClient, group: Chat, user: User) -> None:
    messages_factory(group, user, 3)

    assert the_chat(api, group)["unread_count"] == 0


def test_posting_reads_the_chat_up_to_my_message(
    api: APIClient, group: Chat, user: User, other_user: User
) -> None:
    messages_factory(group, other_user, 3)
    messages_factory(group, user, 1)
    messages_factory(group, other_user, 2)

    assert the_chat(api, group)["unread_count"] == 2


def test_deleted_messages_are_not_unread(
    api: APIClient, group: Chat, user: User, other_user: User
) -> None:
    first, second, third = messages_factory(group, other_user, 3)
    message_delete(message=second, actor=other_user)

    assert the_chat(api, group)["unread_count"] == 2


def test_unread_counts_are_per_member(
    api_for: Callable[[User], APIClient], group: Chat, user: User, other_user: User
) -> None:
    messages_factory(group, user, 2)
    messages_factory(group, other_user, 3)

    assert the_chat(api_for(user), group)["unread_count"] == 3
    assert the_chat(api_for(other_user), group)["unread_count"] == 0


def test_the_list_is_cursor_paginated(api: APIClient, user: User, other_user: User) -> None:
    chats = [chat_factory(user, [other_user], title=f"Chat {n}") for n in range(5)]
    newest_first = [chat.pk for chat in reversed(chats)]

    first = api.get("/api/chats/", {"limit": 2}).json()
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()

    assert set(first) == {"results", "next", "previous"}
    assert [item["id"] for item in first["results"]] == newest_first[:2]
    assert first["previous"] is None
    assert [item["id"] for item in second["results"]] == newest_first[2:4]
    assert second["previous"] is not None
    assert [item["id"] for item in third["results"]] == newest_first[4:]
    assert third["next"] is None
    back = api.get(second["previous"]).json()
    assert [item["id"] for item in back["results"]] == newest_first[:2]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", ""])
def test_a_bad_page_size_is_refused(api: APIClient, group: Chat, limit: str) -> None:
    response = api.get("/api/chats/", {"limit": limit})

    assert response.status_code == 400
    assert "limit" in response.json()


@pytest.mark.parametrize("cursor", ["garbage", "p=2024", "p=not-a-date", "o=-5"])
def test_a_forged_cursor_is_refused(api: APIClient, group: Chat, cursor: str) -> None:
    encoded = cursor if cursor == "garbage" else base64.b64encode(cursor.encode()).decode()

    response = api.get("/api/chats/", {"cursor": encoded})

    assert response.status_code == 400
    assert "cursor" in response.json()
