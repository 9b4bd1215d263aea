"""GET, PATCH and DELETE /api/chats/{id}/."""

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, Membership, Message
from chats.services.members import member_add
from tests.factories import chat_factory, messages_factory

MEMBER_FIELDS = {"user", "role", "joined", "read_seq", "version"}
USER_FIELDS = {"id", "login", "name", "status", "last_seen", "created", "updated"}


def test_a_member_sees_the_chat_its_members_and_the_last_20_messages(
    api_for: Callable[[User], APIClient], team: Chat, user: User, other_user: User
) -> None:
    messages_factory(team, user, 15)
    messages_factory(team, other_user, 15)

    response = api_for(other_user).get(f"/api/chats/{team.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"chat", "members", "messages"}
    assert body["chat"]["id"] == team.pk
    assert body["chat"]["my_role"] == "member"
    assert body["chat"]["member_count"] == 3
    assert body["chat"]["last_seq"] == 30
    assert [m["seq"] for m in body["messages"]] == list(range(11, 31))
    assert all(set(member) == MEMBER_FIELDS for member in body["members"])
    assert all(set(member["user"]) == USER_FIELDS for member in body["members"])
    roles = {member["user"]["login"]: member["role"] for member in body["members"]}
    assert roles == {"alice": "owner", "bob": "member", "carol": "admin"}


def test_a_chat_with_few_messages_shows_them_all(api: APIClient, group: Chat, user: User) -> None:
    messages_factory(group, user, 3)

    messages = api.get(f"/api/chats/{group.pk}/").json()["messages"]

    assert [m["seq"] for m in messages] == [1, 2, 3]


def test_a_non_member_gets_404_as_if_the_chat_did_not_exist(
    api_for: Callable[[User], APIClient], group: Chat, dave: User
) -> None:
    response = api_for(dave).get(f"/api/chats/{group.pk}/")

    assert response.status_code == 404
    assert set(response.json()) == {"detail"}
    assert api_for(dave).get("/api/chats/999999/").json() == response.json()


def test_viewing_a_chat_needs_a_token(anon: APIClient, group: Chat) -> None:
    assert anon.get(f"/api/chats/{group.pk}/").status_code == 401


@pytest.mark.parametrize("editor", ["owner", "admin"])
def test_the_owner_or_an_admin_edits_title_and_description(
    api_for: Callable[[User], APIClient], team: Chat, user: User, carol: User, editor: str
) -> None:
    client = api_for(user if editor == "owner" else carol)

    response = client.patch(
        f"/api/chats/{team.pk}/",
        {"title": "  Renamed  ", "description": "New topic"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["title"] == "Renamed"
    assert response.json()["description"] == "New topic"
    assert response.json()["my_role"] == editor
    team.refresh_from_db()
    assert (team.title, team.description) == ("Renamed", "New topic")


def test_editing_only_the_description_keeps_the_title(api: APIClient, team: Chat) -> None:
    response = api.patch(f"/api/chats/{team.pk}/", {"description": ""}, format="json")

    assert response.status_code == 200
    assert (response.json()["title"], response.json()["description"]) == ("Team", "")


def test_a_title_cannot_be_emptied(api: APIClient, team: Chat) -> None:
    response = api.patch(f"/api/chats/{team.pk}/", {"title": "  "}, format="json")

    assert response.status_code == 400
    assert "title" in response.json()
    team.refresh_from_db()
    assert team.title == "Team"


def test_a_plain_member_may_not_edit_the_chat(
    api_for: Callable[[User], APIClient], team: Chat, other_user: User
) -> None:
    response = api_for(other_user).patch(
        f"/api/chats/{team.pk}/", {"title": "Mine now"}, format="json"
    )

    assert response.status_code == 403
    team.refresh_from_db()
    assert team.title == "Team"


def test_a_non_member_editing_the_chat_gets_404(
    api_for: Callable[[User], APIClient], team: Chat, dave: User
) -> None:
    response = api_for(dave).patch(f"/api/chats/{team.pk}/", {"title": "Mine"}, format="json")

    assert response.status_code == 404
    team.refresh_from_db()
    assert team.title == "Team"


def test_the_owner_deletes_the_chat_with_its_messages(
    api: APIClient, team: Chat, user: User
) -> None:
    messages_factory(team, user, 3)

    response = api.delete(f"/api/chats/{team.pk}/")

    assert response.status_code == 204
    assert not Chat.objects.filter(pk=team.pk).exists()
    assert not Membership.objects.filter(chat_id=team.pk).exists()
    assert not Message.objects.filter(chat_id=team.pk).exists()
    assert api.get(f"/api/chats/{team.pk}/").status_code == 404


@pytest.mark.parametrize("who", ["admin", "member"])
def test_only_the_owner_may_delete_the_chat(
    api_for: Callable[[User], APIClient], team: Chat, other_user: User, carol: User, who: str
) -> None:
    response = api_for(carol if who == "admin" else other_user).delete(f"/api/chats/{team.pk}/")

    assert response.status_code == 403
    assert Chat.objects.filter(pk=team.pk).exists()


def test_a_non_member_deleting_the_chat_gets_404(
    api_for: Callable[[User], APIClient], team: Chat, dave: User
) -> None:
    response = api_for(dave).delete(f"/api/chats/{team.pk}/")

    assert response.status_code == 404
    assert Chat.objects.filter(pk=team.pk).exists()


def test_deleting_one_chat_leaves_the_others(
    api: APIClient, team: Chat, user: User, other_user: User
) -> None:
    other = chat_factory(user, [other_user], title="Other")

    api.delete(f"/api/chats/{team.pk}/")

    assert list(Chat.objects.values_list("pk", flat=True)) == [other.pk]


def test_a_crowded_chat_shows_its_first_100_members_and_pages_the_rest(
    api_for: Callable[[User], APIClient], user: User
) -> None:
    """Security review finding 10: the detail returned every member, unpaginated."""
    crowd = User.objects.bulk_create(User(login=f"crowd{n}", name=f"Crowd {n}") for n in range(120))
    chat = chat_factory(user, crowd[:99])
    for late in crowd[99:]:
        member_add(chat=chat, actor=user, user_id=late.pk)
    api = api_for(user)

    body = api.get(f"/api/chats/{chat.pk}/").json()
    paged = api.get(f"/api/chats/{chat.pk}/members/", {"limit": 100}).json()

    assert body["chat"]["member_count"] == 121
    assert len(body["members"]) == 100
    assert body["members"][0]["user"]["id"] == user.pk  # the first to join, the owner
    assert [m["user"]["id"] for m in body["members"]] == [m["user"]["id"] for m in paged["results"]]
    assert paged["next"] is not None


def test_no_more_than_100_people_are_added_in_one_request(
    api_for: Callable[[User], APIClient], user: User
) -> None:
    crowd = User.objects.bulk_create(User(login=f"crowd{n}", name=f"Crowd {n}") for n in range(101))
    body = {"title": "Everyone", "chat_type": "group", "member_ids": [u.pk for u in crowd]}

    response = api_for(user).post("/api/chats/", body, format="json")

    assert response.status_code == 400
    assert "member_ids" in response.json()
    assert not Chat.objects.filter(title="Everyone").exists()
