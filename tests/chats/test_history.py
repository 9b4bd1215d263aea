"""GET /api/chats/{id}/messages/: the latest page, paging back with `before`, catching up with
`after`."""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat
from chats.services.messages import message_delete
from tests.factories import messages_factory


@pytest.fixture
def busy(group: Chat, user: User, other_user: User) -> Chat:
    """The group with 120 messages, Alice and Bob taking turns in runs of ten."""
    for _ in range(6):
        messages_factory(group, user, 10, text="alice")
        messages_factory(group, other_user, 10, text="bob")
    return group


def history(client: APIClient, chat: Chat, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/chats/{chat.pk}/messages/", params)
    assert response.status_code == 200
    return response.json()


def seqs(page: dict[str, Any]) -> list[int]:
    return [message["seq"] for message in page["results"]]


def test_without_a_cursor_i_get_the_latest_50_in_ascending_order(
    api: APIClient, busy: Chat
) -> None:
    page = history(api, busy)

    assert set(page) == {"results", "has_more"}
    assert seqs(page) == list(range(71, 121))
    assert page["has_more"] is True
    assert page["results"][-1]["author"]["name"] == "Bob"


def test_a_short_chat_fits_one_page(api: APIClient, group: Chat, user: User) -> None:
    messages_factory(group, user, 3)

    page = history(api, group)

    assert seqs(page) == [1, 2, 3]
    assert page["has_more"] is False


def test_an_empty_chat_has_an_empty_history(api: APIClient, group: Chat) -> None:
    assert history(api, group) == {"results": [], "has_more": False}


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_limit_sets_the_page_size(api: APIClient, busy: Chat, limit: int) -> None:
    page = history(api, busy, limit=limit)

    assert seqs(page) == list(range(121 - limit, 121))
    assert page["has_more"] is True


def test_before_pages_back_through_older_messages(api: APIClient, busy: Chat) -> None:
    page = history(api, busy, before=71)

    assert seqs(page) == list(range(21, 71))
    assert page["has_more"] is True


def test_the_oldest_page_says_there_is_no_more(api: APIClient, busy: Chat) -> None:
    page = history(api, busy, before=21, limit=20)

    assert seqs(page) == list(range(1, 21))
    assert page["has_more"] is False


def test_paging_back_visits_every_message_once(api: APIClient, busy: Chat) -> None:
    seen: list[int] = []
    page = history(api, busy, limit=35)
    seen = seqs(page) + seen
    while page["has_more"]:
        page = history(api, busy, limit=35, before=seen[0])
        seen = seqs(page) + seen

    assert seen == list(range(1, 121))


def test_after_catches_up_from_the_oldest_missed_message(api: APIClient, busy: Chat) -> None:
    page = history(api, busy, after=10, limit=30)

    assert seqs(page) == list(range(11, 41))
    assert page["has_more"] is True


def test_catching_up_to_the_end(api: APIClient, busy: Chat) -> None:
    page = history(api, busy, after=100)

    assert seqs(page) == list(range(101, 121))
    assert page["has_more"] is False


def test_after_the_last_seq_there_is_nothing_yet(api: APIClient, busy: Chat) -> None:
    assert history(api, busy, after=120) == {"results": [], "has_more": False}


def test_catching_up_visits_every_message_once(api: APIClient, busy: Chat) -> None:
    seen: list[int] = []
    page = {"has_more": True}
    while page["has_more"]:
        page = history(api, busy, limit=50, after=seen[-1] if seen else 0)
        seen += seqs(page)

    assert seen == list(range(1, 121))


def test_before_and_after_together_give_the_window_between(api: APIClient, busy: Chat) -> None:
    page = history(api, busy, after=10, before=21)

    assert seqs(page) == list(range(11, 21))
    assert page["has_more"] is False


def test_a_window_larger_than_the_limit_says_there_is_more(api: APIClient, busy: Chat) -> None:
    page = history(api, busy, after=10, before=50, limit=5)

    assert seqs(page) == [11, 12, 13, 14, 15]
    assert page["has_more"] is True


def test_tombstones_keep_their_place_in_the_history(
    api: APIClient, group: Chat, user: User
) -> None:
    first, second, third = messages_factory(group, user, 3)
    message_delete(message=second, actor=user)

    page = history(api, group)

    assert seqs(page) == [1, 2, 3]
    assert (page["results"][1]["text"], page["results"][1]["deleted"]) == ("", True)


def test_a_non_member_cannot_read_the_history(
    api_for: Callable[[User], APIClient], busy: Chat, dave: User
) -> None:
    response = api_for(dave).get(f"/api/chats/{busy.pk}/messages/")

    assert response.status_code == 404
    assert "results" not in response.json()


def test_reading_history_needs_a_token(anon: APIClient, group: Chat) -> None:
    assert anon.get(f"/api/chats/{group.pk}/messages/").status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "-1"},
        {"limit": "abc"},
        {"limit": "1e3"},
        {"before": "-1"},
        {"before": "abc"},
        {"after": "-1"},
        {"after": "99999999999999999999"},
        {"before": "99999999999999999999"},
        {"after": "9" * 5000},
        {"after": "1.5"},
        {"before": "\u0000"},
    ],
    ids=lambda params: ",".join(f"{key}={value[:25]!r}" for key, value in params.items()),
)
def test_bad_paging_parameters_are_refused(
    api: APIClient, group: Chat, params: dict[str, str]
) -> None:
    response = api.get(f"/api/chats/{group.pk}/messages/", params)

    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_the_largest_bigint_is_a_valid_cursor(api: APIClient, busy: Chat) -> None:
    biggest = str(2**63 - 1)

    assert seqs(history(api, busy, after=biggest)) == []
    assert seqs(history(api, busy, before=biggest, limit=1)) == [120]
