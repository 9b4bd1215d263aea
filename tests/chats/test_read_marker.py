"""POST /api/chats/{id}/read/: my read marker, which only moves forward."""

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, Membership
from tests.factories import messages_factory


@pytest.fixture
def five_unread(group: Chat, other_user: User) -> Chat:
    """The group after Bob posted five messages that Alice has not read."""
    messages_factory(group, other_user, 5)
    return group


def marker(chat: Chat, user: User) -> int:
    return Membership.objects.get(chat=chat, user=user).last_read_seq


def unread(client: APIClient, chat: Chat) -> int:
    return client.get(f"/api/chats/{chat.pk}/").json()["chat"]["unread_count"]


def read(client: APIClient, chat: Chat, seq: object) -> int:
    return client.post(f"/api/chats/{chat.pk}/read/", {"seq": seq}, format="json").status_code


def test_marking_messages_read(api: APIClient, five_unread: Chat, user: User) -> None:
    response = api.post(f"/api/chats/{five_unread.pk}/read/", {"seq": 3}, format="json")

    assert response.status_code == 204
    assert response.content == b""
    assert marker(five_unread, user) == 3


def test_the_unread_count_follows_the_marker(api: APIClient, five_unread: Chat) -> None:
    assert unread(api, five_unread) == 5

    read(api, five_unread, 2)
    assert unread(api, five_unread) == 3

    read(api, five_unread, 5)
    assert unread(api, five_unread) == 0


def test_new_messages_after_the_marker_are_unread_again(
    api: APIClient, five_unread: Chat, other_user: User
) -> None:
    read(api, five_unread, 5)

    messages_factory(five_unread, other_user, 2)

    assert unread(api, five_unread) == 2


def test_the_marker_never_moves_back(api: APIClient, five_unread: Chat, user: User) -> None:
    read(api, five_unread, 4)

    status = read(api, five_unread, 2)

    assert status == 204
    assert marker(five_unread, user) == 4
    assert unread(api, five_unread) == 1


def test_marking_the_same_seq_again_changes_nothing(
    api: APIClient, five_unread: Chat, user: User
) -> None:
    read(api, five_unread, 4)

    assert read(api, five_unread, 4) == 204
    assert marker(five_unread, user) == 4


def test_reading_beyond_the_last_message_is_refused(
    api: APIClient, five_unread: Chat, user: User
) -> None:
    response = api.post(f"/api/chats/{five_unread.pk}/read/", {"seq": 6}, format="json")

    assert response.status_code == 400
    assert "seq" in response.json()
    assert marker(five_unread, user) == 0


def test_my_marker_leaves_the_others_alone(
    api: APIClient, five_unread: Chat, other_user: User
) -> None:
    read(api, five_unread, 5)

    assert marker(five_unread, other_user) == 5  # Bob's own posts, not Alice's reading


def test_a_non_member_has_no_read_marker(
    api_for: Callable[[User], APIClient], five_unread: Chat, dave: User
) -> None:
    assert read(api_for(dave), five_unread, 1) == 404


def test_marking_read_needs_a_token(anon: APIClient, five_unread: Chat) -> None:
    assert read(anon, five_unread, 1) == 401


@pytest.mark.parametrize("seq", [-1, "abc", None, [3], 1.5, 2**63, True])
def test_a_bad_seq_is_refused(api: APIClient, five_unread: Chat, user: User, seq: object) -> None:
    assert read(api, five_unread, seq) == 400
    assert marker(five_unread, user) == 0


def test_a_seq_is_required(api: APIClient, five_unread: Chat) -> None:
    response = api.post(f"/api/chats/{five_unread.pk}/read/", {}, format="json")

    assert response.status_code == 400
    assert "seq" in response.json()
