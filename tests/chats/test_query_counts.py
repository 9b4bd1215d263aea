"""Every list costs the same number of queries for 1 row as for 30: no query per row.

Each test builds its world with `rows` rows, each from a different author or in a different chat,
then asserts one bound for both sizes.
"""

from collections.abc import Callable

import pytest
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat
from chats.services.messages import message_send
from tests.chats.conftest import MakeUser
from tests.factories import chat_factory

# Authentication, the chat with its membership check, then the rows with their joins. (A page
# of messages reads their reactions in one more query when any has some: test_reactions.py.)
CHAT_LIST_QUERIES = 3
MEMBER_LIST_QUERIES = 4
CHAT_DETAIL_QUERIES = 5
HISTORY_QUERIES = 4
SEARCH_QUERIES = 2
SEARCH_IN_CHAT_QUERIES = 4

ROWS = pytest.mark.parametrize("rows", [1, 30])


@pytest.fixture
def crowd(user: User, make_user: MakeUser) -> Callable[[int], Chat]:
    """A group of Alice's where each of `rows` other members posted one message."""

    def make(rows: int) -> Chat:
        members = [make_user() for _ in range(rows)]
        chat = chat_factory(user, members)
        for member in members:
            message_send(chat=chat, user=member, text=f"needle from {member.login}")
        return chat

    return make


@ROWS
def test_chat_list(
    api: APIClient,
    user: User,
    make_user: MakeUser,
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for _ in range(rows):
        author = make_user()
        chat = chat_factory(user, [author])
        message_send(chat=chat, user=author, text="hi")

    with django_assert_max_num_queries(CHAT_LIST_QUERIES):
        response = api.get("/api/chats/", {"limit": 100})

    assert len(response.json()["results"]) == rows
    assert all(item["last_message"]["text"] == "hi" for item in response.json()["results"])


@ROWS
def test_member_list(
    api: APIClient,
    crowd: Callable[[int], Chat],
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    chat = crowd(rows)

    with django_assert_max_num_queries(MEMBER_LIST_QUERIES):
        response = api.get(f"/api/chats/{chat.pk}/members/", {"limit": 100})

    assert len(response.json()["results"]) == rows + 1


@ROWS
def test_chat_detail(
    api: APIClient,
    crowd: Callable[[int], Chat],
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    chat = crowd(rows)

    with django_assert_max_num_queries(CHAT_DETAIL_QUERIES):
        response = api.get(f"/api/chats/{chat.pk}/")

    assert len(response.json()["members"]) == rows + 1
    assert len(response.json()["messages"]) == min(rows, 20)


@ROWS
def test_history(
    api: APIClient,
    crowd: Callable[[int], Chat],
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    chat = crowd(rows)

    with django_assert_max_num_queries(HISTORY_QUERIES):
        response = api.get(f"/api/chats/{chat.pk}/messages/")

    assert len(response.json()["results"]) == rows


@ROWS
def test_search(
    api: APIClient,
    crowd: Callable[[int], Chat],
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    crowd(rows)

    with django_assert_max_num_queries(SEARCH_QUERIES):
        response = api.get("/api/messages/search/", {"q": "needle"})

    assert len(response.json()["results"]) == rows


@ROWS
def test_search_in_one_chat(
    api: APIClient,
    crowd: Callable[[int], Chat],
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    chat = crowd(rows)

    with django_assert_max_num_queries(SEARCH_IN_CHAT_QUERIES):
        response = api.get("/api/messages/search/", {"q": "needle", "chat_id": str(chat.pk)})

    assert len(response.json()["results"]) == rows


@ROWS
def test_chat_list_across_many_chats_with_many_members(
    api: APIClient,
    user: User,
    make_user: MakeUser,
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    """Member counts and unread counts are computed in the list query, not per chat."""
    others = [make_user() for _ in range(3)]
    for _ in range(rows):
        chat = chat_factory(others[0], [user, *others[1:]])
        message_send(chat=chat, user=others[1], text="unread")

    with django_assert_max_num_queries(CHAT_LIST_QUERIES):
        response = api.get("/api/chats/", {"limit": 100})

    results = response.json()["results"]
    assert len(results) == rows
    assert {(item["member_count"], item["unread_count"]) for item in results} == {(4, 1)}
