"""Blocks: Alice blocks Mallory. Mallory can no longer open a direct chat with her, add her to a
chat, or message her in their direct chat; each is 403 for Mallory, and nothing is made. Alice's
other chats, and everyone else, are untouched."""

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, ChatType, Membership, Message
from tests.factories import chat_factory

Api = Callable[[User], APIClient]
BLOCKS = "/api/users/me/blocks/"


@pytest.fixture
def mallory(make_user: Callable[..., User]) -> User:
    return make_user(login="mallory", name="Mallory")


@pytest.fixture
def blocked(api_for: Api, user: User, mallory: User) -> User:
    assert api_for(user).put(f"{BLOCKS}{mallory.pk}/").status_code == 204
    return mallory


def test_blocking_is_idempotent_and_listed(api_for: Api, user: User, blocked: User) -> None:
    api = api_for(user)

    assert api.put(f"{BLOCKS}{blocked.pk}/").status_code == 204
    page = api.get(BLOCKS).json()
    assert [u["login"] for u in page["results"]] == ["mallory"]
    assert api.delete(f"{BLOCKS}{blocked.pk}/").status_code == 204
    assert api.delete(f"{BLOCKS}{blocked.pk}/").status_code == 204
    assert api.get(BLOCKS).json()["results"] == []


def test_blocking_oneself_or_nobody_is_refused(api_for: Api, user: User) -> None:
    api = api_for(user)

    assert api.put(f"{BLOCKS}{user.pk}/").status_code == 400
    assert api.put(f"{BLOCKS}999999/").status_code == 404


def test_a_blocked_user_cannot_open_a_direct_chat(api_for: Api, user: User, blocked: User) -> None:
    body = {"chat_type": "direct", "member_ids": [user.pk]}

    response = api_for(blocked).post("/api/chats/", body, format="json")

    assert response.status_code == 403
    assert not Chat.objects.filter(chat_type=ChatType.DIRECT).exists()


def test_a_blocked_user_cannot_add_me_to_a_chat(api_for: Api, user: User, blocked: User) -> None:
    group = chat_factory(blocked, [], title="Mallory's")
    new = {"title": "Trap", "chat_type": "group", "member_ids": [user.pk]}

    added = api_for(blocked).post(
        f"/api/chats/{group.pk}/members/", {"user_id": user.pk}, format="json"
    )
    created = api_for(blocked).post("/api/chats/", new, format="json")

    assert (added.status_code, created.status_code) == (403, 403)
    assert not Membership.objects.filter(user=user).exists()


def test_a_blocked_user_cannot_message_me_in_our_direct_chat(
    api_for: Api, user: User, mallory: User
) -> None:
    direct = chat_factory(user, [mallory], chat_type=ChatType.DIRECT)
    api_for(user).put(f"{BLOCKS}{mallory.pk}/")

    refused = api_for(mallory).post(
        f"/api/chats/{direct.pk}/messages/", {"text": "hello?"}, format="json"
    )
    mine = api_for(user).post(f"/api/chats/{direct.pk}/messages/", {"text": "bye"}, format="json")

    assert refused.status_code == 403
    assert mine.status_code == 201
    assert list(Message.objects.values_list("text", flat=True)) == ["bye"]


def test_a_blocked_user_still_posts_in_a_group_we_share(
    api_for: Api, user: User, blocked: User
) -> None:
    group = chat_factory(user, [blocked])

    response = api_for(blocked).post(
        f"/api/chats/{group.pk}/messages/", {"text": "in the group"}, format="json"
    )

    assert response.status_code == 201


def test_unblocking_lets_them_reach_me_again(api_for: Api, user: User, blocked: User) -> None:
    api_for(user).delete(f"{BLOCKS}{blocked.pk}/")
    body = {"chat_type": "direct", "member_ids": [user.pk]}

    assert api_for(blocked).post("/api/chats/", body, format="json").status_code == 201
