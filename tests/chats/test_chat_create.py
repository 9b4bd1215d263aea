"""POST /api/chats/: groups, channels and direct chats."""

from collections.abc import Callable
from datetime import datetime

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, Membership, Role
from tests.chats.conftest import MakeUser

CHAT_FIELDS = {
    "id",
    "title",
    "description",
    "chat_type",
    "creator_user_id",
    "created",
    "updated",
    "last_seq",
    "version",
    "member_count",
    "my_role",
    "unread_count",
    "mention_count",
    "notify",
    "last_message",
}


def roles(chat_id: int) -> dict[str, str]:
    return dict(
        Membership.objects.filter(chat_id=chat_id).values_list("user__login", "role").order_by()
    )


@pytest.mark.parametrize("chat_type", ["group", "channel"])
def test_creating_a_group_or_channel_makes_me_its_owner(
    api: APIClient, user: User, other_user: User, carol: User, chat_type: str
) -> None:
    response = api.post(
        "/api/chats/",
        {
            "title": "Team",
            "description": "Where we talk",
            "chat_type": chat_type,
            "member_ids": [other_user.pk, carol.pk],
        },
        format="json",
    )

    assert response.status_code == 201
    chat = response.json()
    assert set(chat) == CHAT_FIELDS
    assert chat["title"] == "Team"
    assert chat["description"] == "Where we talk"
    assert chat["chat_type"] == chat_type
    assert chat["creator_user_id"] == user.pk
    assert chat["my_role"] == "owner"
    assert chat["member_count"] == 3
    assert chat["last_seq"] == 0
    assert chat["unread_count"] == 0
    assert chat["last_message"] is None
    assert datetime.fromisoformat(chat["created"]).tzinfo is not None
    assert roles(chat["id"]) == {"alice": "owner", "bob": "member", "carol": "member"}


def test_a_group_may_start_with_only_its_creator(api: APIClient) -> None:
    response = api.post("/api/chats/", {"title": "Notes", "chat_type": "group"}, format="json")

    assert response.status_code == 201
    assert response.json()["member_count"] == 1
    assert roles(response.json()["id"]) == {"alice": "owner"}


def test_listing_myself_among_the_members_does_not_make_me_a_plain_member(
    api: APIClient, user: User, other_user: User
) -> None:
    response = api.post(
        "/api/chats/",
        {"title": "Team", "chat_type": "group", "member_ids": [user.pk, other_user.pk]},
        format="json",
    )

    assert response.status_code == 201
    assert roles(response.json()["id"]) == {"alice": "owner", "bob": "member"}


@pytest.mark.parametrize("chat_type", ["group", "channel"])
@pytest.mark.parametrize("title", [None, "", "   "])
def test_a_group_or_channel_needs_a_title(
    api: APIClient, other_user: User, chat_type: str, title: str | None
) -> None:
    body: dict[str, object] = {"chat_type": chat_type, "member_ids": [other_user.pk]}
    if title is not None:
        body["title"] = title

    response = api.post("/api/chats/", body, format="json")

    assert response.status_code == 400
    assert "title" in response.json()
    assert not Chat.objects.exists()


def test_opening_a_direct_chat(api: APIClient, user: User, other_user: User) -> None:
    response = api.post(
        "/api/chats/", {"chat_type": "direct", "member_ids": [other_user.pk]}, format="json"
    )

    assert response.status_code == 201
    chat = response.json()
    assert chat["chat_type"] == "direct"
    assert chat["member_count"] == 2
    # Nobody owns a direct chat: neither person has power over the other's messages.
    assert chat["my_role"] == "member"
    assert roles(chat["id"]) == {"alice": "member", "bob": "member"}


def test_opening_an_existing_direct_chat_again_returns_it_with_200(
    api: APIClient, other_user: User
) -> None:
    body = {"chat_type": "direct", "member_ids": [other_user.pk]}
    first = api.post("/api/chats/", body, format="json")

    again = api.post("/api/chats/", body, format="json")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Chat.objects.count() == 1


def test_the_other_side_opening_the_direct_chat_gets_the_same_one(
    api: APIClient, api_for: Callable[[User], APIClient], user: User, other_user: User
) -> None:
    mine = api.post(
        "/api/chats/", {"chat_type": "direct", "member_ids": [other_user.pk]}, format="json"
    )

    theirs = api_for(other_user).post(
        "/api/chats/", {"chat_type": "direct", "member_ids": [user.pk]}, format="json"
    )

    assert theirs.status_code == 200
    assert theirs.json()["id"] == mine.json()["id"]
    assert theirs.json()["my_role"] == "member"
    assert Chat.objects.count() == 1


@pytest.mark.parametrize("who", ["nobody", "only myself", "two others", "myself and another"])
def test_a_direct_chat_needs_exactly_one_other_user(
    api: APIClient, user: User, other_user: User, carol: User, who: str
) -> None:
    member_ids = {
        "nobody": [],
        "only myself": [user.pk],
        "two others": [other_user.pk, carol.pk],
        "myself and another": [user.pk, other_user.pk],
    }[who]

    response = api.post(
        "/api/chats/", {"chat_type": "direct", "member_ids": member_ids}, format="json"
    )

    assert response.status_code == 400
    assert "member_ids" in response.json()
    assert not Chat.objects.exists()


@pytest.mark.parametrize("chat_type", ["group", "channel", "direct"])
def test_unknown_member_ids_are_refused(api: APIClient, other_user: User, chat_type: str) -> None:
    unknown = other_user.pk + 1000
    member_ids = [unknown] if chat_type == "direct" else [other_user.pk, unknown]

    response = api.post(
        "/api/chats/",
        {"title": "Team", "chat_type": chat_type, "member_ids": member_ids},
        format="json",
    )

    assert response.status_code == 400
    assert "member_ids" in response.json()
    assert not Chat.objects.exists()


@pytest.mark.parametrize("chat_type", ["group", "channel", "direct"])
def test_inactive_users_cannot_be_added(
    api: APIClient, make_user: MakeUser, chat_type: str
) -> None:
    gone = make_user(is_active=False)

    response = api.post(
        "/api/chats/",
        {"title": "Team", "chat_type": chat_type, "member_ids": [gone.pk]},
        format="json",
    )

    assert response.status_code == 400
    assert "member_ids" in response.json()
    assert not Chat.objects.exists()


def test_creating_a_chat_needs_a_token(anon: APIClient, other_user: User) -> None:
    response = anon.post("/api/chats/", {"title": "Team", "chat_type": "group"}, format="json")

    assert response.status_code == 401
    assert not Chat.objects.exists()


def test_the_creator_is_owner_of_the_stored_chat(api: APIClient, user: User) -> None:
    response = api.post("/api/chats/", {"title": "Team", "chat_type": "channel"}, format="json")

    membership = Membership.objects.get(chat_id=response.json()["id"])
    assert (membership.user, membership.role) == (user, Role.OWNER)
