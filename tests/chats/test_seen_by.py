"""GET /api/chats/{id}/messages/{message_id}/seen/: who has seen a message.

Seqs have no gaps, so a member has seen a message when their read marker is at or past its seq:
"seen by" is derived from the read markers, with no receipt row per message. The author is never
listed. Alice (`user`) owns the team, Carol is its admin and Bob (`other_user`) a plain member;
Dave is in no chat.
"""

from collections.abc import Callable
from typing import Any

import pytest
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, Message
from chats.services.members import member_add, member_remove
from chats.services.messages import message_send, read_mark
from tests.chats.conftest import MakeUser
from tests.factories import chat_factory, messages_factory

Api = Callable[[User], APIClient]

# Authentication, the chat with its membership check, the message, the first readers with their
# users, and how many they are in all.
SEEN_BY_QUERIES = 5


def seen(client: APIClient, message: Message) -> dict[str, Any]:
    response = client.get(f"/api/chats/{message.chat_id}/messages/{message.pk}/seen/")
    assert response.status_code == 200, response.content
    return dict(response.json())


def seen_ids(client: APIClient, message: Message) -> list[int]:
    answer = seen(client, message)
    assert answer["count"] == len(answer["users"])
    return [u["id"] for u in answer["users"]]


def read(client: APIClient, chat: Chat, seq: int) -> None:
    assert (
        client.post(f"/api/chats/{chat.pk}/read/", {"seq": seq}, format="json").status_code == 204
    )


def test_a_message_nobody_else_has_read_is_seen_by_nobody(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    (message,) = messages_factory(team, user, 1)

    assert seen(api_for(user), message) == {"users": [], "count": 0}
    assert seen(api_for(other_user), message) == {"users": [], "count": 0}


def test_moving_a_read_marker_adds_the_reader_latest_first(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    (message,) = messages_factory(team, user, 1)
    alice = api_for(user)

    read(api_for(other_user), team, 1)
    after_bob = seen(alice, message)
    read(api_for(carol), team, 1)
    after_carol = seen(alice, message)

    members = {
        m["user"]["id"]: m["user"]
        for m in alice.get(f"/api/chats/{team.pk}/members/").json()["results"]
    }
    assert after_bob == {"users": [members[other_user.pk]], "count": 1}
    assert after_carol == {"users": [members[carol.pk], members[other_user.pk]], "count": 2}
    assert set(after_carol["users"][0]) == {
        "id",
        "login",
        "name",
        "status",
        "last_seen",
        "created",
        "updated",
    }


def test_a_marker_past_a_message_has_seen_it_and_one_before_it_has_not(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    first, second, third = messages_factory(team, user, 3)
    read_mark(chat=team, user=other_user, seq=3)
    read_mark(chat=team, user=carol, seq=1)
    alice = api_for(user)

    assert seen_ids(alice, first) == [carol.pk, other_user.pk]
    assert seen_ids(alice, second) == [other_user.pk]
    assert seen_ids(alice, third) == [other_user.pk]


def test_posting_reads_what_came_before(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    (alices,) = messages_factory(team, user, 1)

    (bobs, _) = message_send(chat=team, user=other_user, text="on it")

    assert seen_ids(api_for(user), alices) == [other_user.pk]
    assert seen_ids(api_for(user), bobs) == []


def test_the_author_is_never_listed(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    (bobs,) = messages_factory(team, other_user, 1)
    messages_factory(team, other_user, 2)
    read_mark(chat=team, user=user, seq=3)

    assert seen_ids(api_for(other_user), bobs) == [user.pk]
    assert seen_ids(api_for(carol), bobs) == [user.pk]


def test_a_thread_reply_is_seen_like_any_message(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    (root, _) = message_send(chat=team, user=user, text="Friday plans?")
    (reply, _) = message_send(chat=team, user=carol, text="pizza", thread_root_id=root.pk)

    read_mark(chat=team, user=other_user, seq=reply.seq)

    assert seen_ids(api_for(carol), reply) == [other_user.pk]
    assert seen_ids(api_for(user), root) == [other_user.pk, carol.pk]


def test_a_member_who_left_is_no_longer_listed(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    (message,) = messages_factory(team, user, 1)
    read_mark(chat=team, user=other_user, seq=1)
    read_mark(chat=team, user=carol, seq=1)

    member_remove(chat=team, actor=other_user, user_id=other_user.pk)

    assert seen_ids(api_for(user), message) == [carol.pk]


def test_the_list_stops_at_100_but_the_count_counts_everyone(
    api_for: Api, user: User, make_user: MakeUser
) -> None:
    readers = [make_user() for _ in range(101)]
    chat = chat_factory(user, readers[:100])  # as many as a new chat takes
    member_add(chat=chat, actor=user, user_id=readers[100].pk)
    (message,) = messages_factory(chat, user, 1)
    for reader in readers:
        read_mark(chat=chat, user=reader, seq=1)

    answer = seen(api_for(user), message)

    assert answer["count"] == 101
    assert len(answer["users"]) == 100
    assert [u["id"] for u in answer["users"]] == [r.pk for r in reversed(readers)][:100]


# --- Who may ask ----------------------------------------------------------------------------------


def test_a_non_member_gets_404(api_for: Api, team: Chat, user: User, dave: User) -> None:
    (message,) = messages_factory(team, user, 1)

    response = api_for(dave).get(f"/api/chats/{team.pk}/messages/{message.pk}/seen/")

    assert response.status_code == 404


def test_asking_needs_a_token(anon: APIClient, team: Chat, user: User) -> None:
    (message,) = messages_factory(team, user, 1)

    assert anon.get(f"/api/chats/{team.pk}/messages/{message.pk}/seen/").status_code == 401


def test_an_unknown_message_gets_404(api_for: Api, team: Chat, user: User) -> None:
    messages_factory(team, user, 1)

    response = api_for(user).get(f"/api/chats/{team.pk}/messages/999999/seen/")

    assert response.status_code == 404


def test_a_message_of_another_chat_gets_404(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    elsewhere = chat_factory(user, [other_user], title="Elsewhere")
    (message,) = messages_factory(elsewhere, user, 1)
    read_mark(chat=elsewhere, user=other_user, seq=1)

    response = api_for(user).get(f"/api/chats/{team.pk}/messages/{message.pk}/seen/")

    assert response.status_code == 404


# --- Cost -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 30])
def test_seen_by_costs_the_same_for_1_or_30_readers(
    api: APIClient,
    user: User,
    make_user: MakeUser,
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    readers = [make_user() for _ in range(rows)]
    chat = chat_factory(user, readers)
    (message,) = messages_factory(chat, user, 1)
    for reader in readers:
        read_mark(chat=chat, user=reader, seq=1)

    with django_assert_max_num_queries(SEEN_BY_QUERIES):
        answer = seen(api, message)

    assert answer["count"] == rows
