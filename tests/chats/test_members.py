"""/api/chats/{id}/members/: listing, adding, changing roles, removing and leaving."""

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, ChatType, Membership, Role
from chats.services.members import member_add
from tests.chats.conftest import MakeUser
from tests.factories import chat_factory


def roles(chat: Chat) -> dict[str, str]:
    return dict(Membership.objects.filter(chat=chat).values_list("user__login", "role").order_by())


# --- Listing -------------------------------------------------------------------------------------


def test_a_member_lists_the_members_in_joining_order(
    api_for: Callable[[User], APIClient], team: Chat, other_user: User
) -> None:
    response = api_for(other_user).get(f"/api/chats/{team.pk}/members/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "next", "previous"}
    assert [(m["user"]["login"], m["role"]) for m in body["results"]] == [
        ("alice", "owner"),
        ("bob", "member"),
        ("carol", "admin"),
    ]
    assert set(body["results"][0]) == {"user", "role", "joined", "read_seq", "version"}


def test_the_member_list_is_cursor_paginated(api: APIClient, team: Chat) -> None:
    first = api.get(f"/api/chats/{team.pk}/members/", {"limit": 2}).json()
    second = api.get(first["next"]).json()

    assert [m["user"]["login"] for m in first["results"]] == ["alice", "bob"]
    assert [m["user"]["login"] for m in second["results"]] == ["carol"]
    assert second["next"] is None


def test_a_non_member_cannot_list_the_members(
    api_for: Callable[[User], APIClient], team: Chat, dave: User
) -> None:
    assert api_for(dave).get(f"/api/chats/{team.pk}/members/").status_code == 404


def test_listing_members_needs_a_token(anon: APIClient, team: Chat) -> None:
    assert anon.get(f"/api/chats/{team.pk}/members/").status_code == 401


# --- Adding --------------------------------------------------------------------------------------


@pytest.mark.parametrize("adder", ["owner", "admin"])
def test_the_owner_or_an_admin_adds_a_member(
    api_for: Callable[[User], APIClient],
    team: Chat,
    user: User,
    carol: User,
    dave: User,
    adder: str,
) -> None:
    client = api_for(user if adder == "owner" else carol)

    response = client.post(f"/api/chats/{team.pk}/members/", {"user_id": dave.pk}, format="json")

    assert response.status_code == 201
    member = response.json()
    assert set(member) == {"user", "role", "joined", "read_seq", "version"}
    assert (member["user"]["id"], member["user"]["login"], member["role"]) == (
        dave.pk,
        "dave",
        "member",
    )
    assert roles(team)["dave"] == "member"
    assert api_for(dave).get(f"/api/chats/{team.pk}/").status_code == 200


def test_the_owner_appoints_an_admin_when_adding(api: APIClient, team: Chat, dave: User) -> None:
    response = api.post(
        f"/api/chats/{team.pk}/members/", {"user_id": dave.pk, "role": "admin"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["role"] == "admin"
    assert roles(team)["dave"] == "admin"


def test_an_admin_may_not_appoint_admins(
    api_for: Callable[[User], APIClient], team: Chat, carol: User, dave: User
) -> None:
    response = api_for(carol).post(
        f"/api/chats/{team.pk}/members/", {"user_id": dave.pk, "role": "admin"}, format="json"
    )

    assert response.status_code == 403
    assert "dave" not in roles(team)


def test_nobody_is_added_as_owner(api: APIClient, team: Chat, dave: User) -> None:
    response = api.post(
        f"/api/chats/{team.pk}/members/", {"user_id": dave.pk, "role": "owner"}, format="json"
    )

    assert response.status_code == 400
    assert "role" in response.json()
    assert "dave" not in roles(team)


def test_a_plain_member_may_not_add_members(
    api_for: Callable[[User], APIClient], team: Chat, other_user: User, dave: User
) -> None:
    response = api_for(other_user).post(
        f"/api/chats/{team.pk}/members/", {"user_id": dave.pk}, format="json"
    )

    assert response.status_code == 403
    assert "dave" not in roles(team)


def test_a_non_member_adding_members_gets_404(
    api_for: Callable[[User], APIClient], team: Chat, dave: User
) -> None:
    response = api_for(dave).post(
        f"/api/chats/{team.pk}/members/", {"user_id": dave.pk}, format="json"
    )

    assert response.status_code == 404
    assert "dave" not in roles(team)


def test_nobody_is_added_to_a_direct_chat(
    api: APIClient, user: User, other_user: User, dave: User
) -> None:
    direct = chat_factory(user, [other_user], chat_type=ChatType.DIRECT)

    response = api.post(f"/api/chats/{direct.pk}/members/", {"user_id": dave.pk}, format="json")

    assert response.status_code == 403  # neither of the two manages it
    assert set(roles(direct)) == {"alice", "bob"}


def test_adding_someone_already_in_the_chat_is_refused(
    api: APIClient, team: Chat, other_user: User
) -> None:
    response = api.post(f"/api/chats/{team.pk}/members/", {"user_id": other_user.pk}, format="json")

    assert response.status_code == 400
    assert "user_id" in response.json()
    assert roles(team)["bob"] == "member"


@pytest.mark.parametrize("who", ["unknown", "inactive"])
def test_only_existing_active_users_are_added(
    api: APIClient, make_user: MakeUser, team: Chat, who: str
) -> None:
    user_id = make_user(is_active=False).pk if who == "inactive" else 10**12

    response = api.post(f"/api/chats/{team.pk}/members/", {"user_id": user_id}, format="json")

    assert response.status_code == 400
    assert "user_id" in response.json()
    assert len(roles(team)) == 3


# --- Changing roles ------------------------------------------------------------------------------


def test_the_owner_promotes_and_demotes(
    api: APIClient, team: Chat, other_user: User, carol: User
) -> None:
    promoted = api.patch(
        f"/api/chats/{team.pk}/members/{other_user.pk}/", {"role": "admin"}, format="json"
    )
    demoted = api.patch(
        f"/api/chats/{team.pk}/members/{carol.pk}/", {"role": "member"}, format="json"
    )

    assert promoted.status_code == 200
    assert (promoted.json()["user"]["id"], promoted.json()["role"]) == (other_user.pk, "admin")
    assert demoted.status_code == 200
    assert demoted.json()["role"] == "member"
    assert roles(team) == {"alice": "owner", "bob": "admin", "carol": "member"}


def test_the_owner_hands_ownership_over_and_becomes_admin(
    api: APIClient, api_for: Callable[[User], APIClient], team: Chat, other_user: User
) -> None:
    response = api.patch(
        f"/api/chats/{team.pk}/members/{other_user.pk}/", {"role": "owner"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["role"] == "owner"
    assert roles(team) == {"alice": "admin", "bob": "owner", "carol": "admin"}
    assert api.delete(f"/api/chats/{team.pk}/").status_code == 403
    assert api_for(other_user).delete(f"/api/chats/{team.pk}/").status_code == 204


@pytest.mark.parametrize("who", ["admin", "member"])
def test_only_the_owner_changes_roles(
    api_for: Callable[[User], APIClient],
    team: Chat,
    user: User,
    other_user: User,
    carol: User,
    who: str,
) -> None:
    client = api_for(carol if who == "admin" else other_user)

    response = client.patch(
        f"/api/chats/{team.pk}/members/{other_user.pk}/", {"role": "admin"}, format="json"
    )

    assert response.status_code == 403
    assert roles(team) == {"alice": "owner", "bob": "member", "carol": "admin"}


def test_a_non_member_changing_roles_gets_404(
    api_for: Callable[[User], APIClient], team: Chat, other_user: User, dave: User
) -> None:
    response = api_for(dave).patch(
        f"/api/chats/{team.pk}/members/{other_user.pk}/", {"role": "admin"}, format="json"
    )

    assert response.status_code == 404


def test_changing_the_role_of_a_non_member_gets_404(api: APIClient, team: Chat, dave: User) -> None:
    response = api.patch(
        f"/api/chats/{team.pk}/members/{dave.pk}/", {"role": "admin"}, format="json"
    )

    assert response.status_code == 404
    assert "dave" not in roles(team)


def test_the_owner_cannot_change_their_own_role(api: APIClient, team: Chat, user: User) -> None:
    response = api.patch(
        f"/api/chats/{team.pk}/members/{user.pk}/", {"role": "member"}, format="json"
    )

    assert response.status_code == 400
    assert roles(team)["alice"] == "owner"


@pytest.mark.parametrize("body", [{}, {"role": "boss"}, {"role": None}, {"role": ["admin"]}])
def test_a_role_change_needs_a_valid_role(
    api: APIClient, team: Chat, other_user: User, body: dict[str, object]
) -> None:
    response = api.patch(f"/api/chats/{team.pk}/members/{other_user.pk}/", body, format="json")

    assert response.status_code == 400
    assert "role" in response.json()


# --- Removing and leaving ------------------------------------------------------------------------


@pytest.mark.parametrize("remover", ["owner", "admin"])
def test_the_owner_or_an_admin_removes_a_member(
    api_for: Callable[[User], APIClient],
    team: Chat,
    user: User,
    other_user: User,
    carol: User,
    remover: str,
) -> None:
    client = api_for(user if remover == "owner" else carol)

    response = client.delete(f"/api/chats/{team.pk}/members/{other_user.pk}/")

    assert response.status_code == 204
    assert "bob" not in roles(team)


def test_a_removed_user_no_longer_sees_the_chat(
    api: APIClient, api_for: Callable[[User], APIClient], team: Chat, other_user: User
) -> None:
    api.delete(f"/api/chats/{team.pk}/members/{other_user.pk}/")
    bob = api_for(other_user)

    assert bob.get(f"/api/chats/{team.pk}/").status_code == 404
    assert bob.get(f"/api/chats/{team.pk}/messages/").status_code == 404
    assert (
        bob.post(f"/api/chats/{team.pk}/messages/", {"text": "hello?"}, format="json").status_code
        == 404
    )
    assert bob.get("/api/chats/").json()["results"] == []


def test_the_owner_removes_an_admin(api: APIClient, team: Chat, carol: User) -> None:
    assert api.delete(f"/api/chats/{team.pk}/members/{carol.pk}/").status_code == 204
    assert "carol" not in roles(team)


def test_an_admin_cannot_remove_the_owner(
    api_for: Callable[[User], APIClient], team: Chat, user: User, carol: User
) -> None:
    response = api_for(carol).delete(f"/api/chats/{team.pk}/members/{user.pk}/")

    assert response.status_code == 403
    assert roles(team)["alice"] == "owner"


def test_an_admin_cannot_remove_another_admin(
    api_for: Callable[[User], APIClient], team: Chat, user: User, carol: User, dave: User
) -> None:
    member_add(chat=team, actor=user, user_id=dave.pk, role=Role.ADMIN)

    response = api_for(carol).delete(f"/api/chats/{team.pk}/members/{dave.pk}/")

    assert response.status_code == 403
    assert roles(team)["dave"] == "admin"


def test_a_plain_member_cannot_remove_others(
    api_for: Callable[[User], APIClient], team: Chat, other_user: User, carol: User
) -> None:
    response = api_for(other_user).delete(f"/api/chats/{team.pk}/members/{carol.pk}/")

    assert response.status_code == 403
    assert "carol" in roles(team)


def test_a_non_member_removing_someone_gets_404(
    api_for: Callable[[User], APIClient], team: Chat, other_user: User, dave: User
) -> None:
    response = api_for(dave).delete(f"/api/chats/{team.pk}/members/{other_user.pk}/")

    assert response.status_code == 404
    assert "bob" in roles(team)


def test_removing_someone_who_is_not_a_member_gets_404(
    api: APIClient, team: Chat, dave: User
) -> None:
    assert api.delete(f"/api/chats/{team.pk}/members/{dave.pk}/").status_code == 404


@pytest.mark.parametrize("who", ["member", "admin"])
def test_anyone_may_leave(
    api_for: Callable[[User], APIClient],
    team: Chat,
    other_user: User,
    carol: User,
    who: str,
) -> None:
    leaver = other_user if who == "member" else carol

    response = api_for(leaver).delete(f"/api/chats/{team.pk}/members/{leaver.pk}/")

    assert response.status_code == 204
    assert leaver.login not in roles(team)
    assert api_for(leaver).get(f"/api/chats/{team.pk}/").status_code == 404


def test_an_owner_who_leaves_hands_the_chat_to_an_admin(
    api: APIClient, team: Chat, user: User
) -> None:
    response = api.delete(f"/api/chats/{team.pk}/members/{user.pk}/")

    assert response.status_code == 204
    assert roles(team) == {"bob": "member", "carol": "owner"}


def test_without_admins_the_longest_standing_member_inherits(
    api: APIClient, user: User, other_user: User, carol: User
) -> None:
    chat = chat_factory(user, [other_user])
    member_add(chat=chat, actor=user, user_id=carol.pk)

    api.delete(f"/api/chats/{chat.pk}/members/{user.pk}/")

    assert roles(chat) == {"bob": "owner", "carol": "member"}


def test_the_last_member_to_leave_deletes_the_chat(api: APIClient, user: User) -> None:
    chat = chat_factory(user, [], title="Alone")

    response = api.delete(f"/api/chats/{chat.pk}/members/{user.pk}/")

    assert response.status_code == 204
    assert not Chat.objects.filter(pk=chat.pk).exists()


def test_nobody_leaves_a_direct_chat(api: APIClient, user: User, other_user: User) -> None:
    direct = chat_factory(user, [other_user], chat_type=ChatType.DIRECT)

    response = api.delete(f"/api/chats/{direct.pk}/members/{user.pk}/")

    assert response.status_code == 400
    assert set(roles(direct)) == {"alice", "bob"}
