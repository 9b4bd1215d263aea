"""GET /api/messages/search/: words from my chats, newest first.

PostgreSQL answers with full-text search over the GIN index of migration 0002; SQLite with
substring matching. These tests hold on both.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from chats import selectors
from chats.models import Chat, Message
from chats.services.members import member_remove
from chats.services.messages import message_delete, message_edit, message_send
from tests.factories import chat_factory


def say(chat: Chat, author: User, *texts: str) -> list[int]:
    return [message_send(chat=chat, user=author, text=text)[0].pk for text in texts]


def search(client: APIClient, **params: Any) -> list[str]:
    response = client.get("/api/messages/search/", params)
    assert response.status_code == 200, response.json()
    return [message["text"] for message in response.json()["results"]]


def test_every_word_must_match(api: APIClient, group: Chat, user: User) -> None:
    say(group, user, "Hello brave new world", "hello there", "a whole new world")

    assert search(api, q="world hello") == ["Hello brave new world"]
    assert search(api, q="new   world") == ["a whole new world", "Hello brave new world"]


def test_words_match_case_insensitively_and_through_punctuation(
    api: APIClient, group: Chat, user: User
) -> None:
    say(group, user, "Lunch? Pizza, at NOON!", "no lunch today")

    assert search(api, q="pizza noon") == ["Lunch? Pizza, at NOON!"]
    assert search(api, q="LUNCH") == ["no lunch today", "Lunch? Pizza, at NOON!"]


def test_a_word_matches_as_a_prefix(api: APIClient, group: Chat, user: User) -> None:
    say(group, user, "hello", "help me", "shell")

    assert search(api, q="hel") == ["help me", "hello"]
    assert search(api, q="hell") == ["hello"]


def test_a_word_that_appears_nowhere_finds_nothing(api: APIClient, group: Chat, user: User) -> None:
    say(group, user, "hello")

    assert search(api, q="goodbye") == []
    assert search(api, q="hello goodbye") == []


def test_results_are_full_messages_newest_first(
    api: APIClient, group: Chat, user: User, other_user: User
) -> None:
    ids = say(group, user, "release one")
    ids += say(group, other_user, "release two")
    ids += say(group, user, "release three")

    response = api.get("/api/messages/search/", {"q": "release"})

    body = response.json()
    assert set(body) == {"results", "next", "previous"}
    assert [m["id"] for m in body["results"]] == ids[::-1]
    assert body["results"][1]["author"] == {"id": other_user.pk, "name": "Bob"}
    assert body["results"][1]["chat_id"] == group.pk


def test_results_are_cursor_paginated(api: APIClient, group: Chat, user: User) -> None:
    say(group, user, *(f"note {n}" for n in range(5)))

    first = api.get("/api/messages/search/", {"q": "note", "limit": "3"}).json()
    second = api.get(first["next"]).json()

    assert [m["text"] for m in first["results"]] == ["note 4", "note 3", "note 2"]
    assert [m["text"] for m in second["results"]] == ["note 1", "note 0"]
    assert second["next"] is None


def test_only_my_chats_are_searched(
    api: APIClient, user: User, other_user: User, carol: User
) -> None:
    mine = chat_factory(user, [other_user], title="Mine")
    theirs = chat_factory(other_user, [carol], title="Theirs")
    say(mine, other_user, "secret plan, the one I may see")
    say(theirs, other_user, "secret plan, not for Alice")

    assert search(api, q="secret plan") == ["secret plan, the one I may see"]


def test_a_chat_i_left_is_no_longer_searched(api: APIClient, group: Chat, user: User) -> None:
    say(group, user, "findable")
    member_remove(chat=group, actor=user, user_id=user.pk)

    assert search(api, q="findable") == []


def test_chat_id_narrows_the_search_to_one_chat(
    api: APIClient, user: User, other_user: User
) -> None:
    first = chat_factory(user, [other_user], title="First")
    second = chat_factory(user, [other_user], title="Second")
    say(first, user, "status report one")
    say(second, user, "status report two")

    assert search(api, q="status", chat_id=second.pk) == ["status report two"]
    assert search(api, q="status", chat_id=first.pk) == ["status report one"]


def test_searching_a_chat_i_am_not_in_gets_404(
    api_for: Callable[[User], APIClient], group: Chat, user: User, dave: User
) -> None:
    say(group, user, "hidden")

    response = api_for(dave).get("/api/messages/search/", {"q": "hidden", "chat_id": str(group.pk)})

    assert response.status_code == 404
    assert "results" not in response.json()


def test_tombstones_are_never_found(api: APIClient, group: Chat, user: User) -> None:
    say(group, user, "keep this banana")
    (gone,) = say(group, user, "delete this banana")
    message_delete(message=group.messages.get(pk=gone), actor=user)

    assert search(api, q="banana") == ["keep this banana"]
    assert search(api, q="delete") == []


def test_an_edited_message_is_found_by_its_new_words(
    api: APIClient, group: Chat, user: User
) -> None:
    (message_id,) = say(group, user, "tpyo")
    message_edit(message=group.messages.get(pk=message_id), actor=user, text="typo")

    assert search(api, q="typo") == ["typo"]
    assert search(api, q="tpyo") == []


def test_links_addresses_and_numbers_are_found_as_typed(
    api: APIClient, group: Chat, user: User
) -> None:
    docs = "Docs at example.com/start, ask bob@example.org"
    say(group, user, docs, "pi is 3.14159", "state-of-the-art design", "example")

    assert search(api, q="example.com") == [docs]
    assert search(api, q="bob@example.org") == [docs]
    assert search(api, q="3.14") == ["pi is 3.14159"]
    assert search(api, q="state-of") == ["state-of-the-art design"]
    assert search(api, q="art design") == ["state-of-the-art design"]
    assert search(api, q="example") == ["example", docs]


def test_words_in_other_scripts_are_found(api: APIClient, group: Chat, user: User) -> None:
    say(group, user, "Привет, мир", "Grüße aus München")

    assert search(api, q="привет") == ["Привет, мир"]
    assert search(api, q="МИР") == ["Привет, мир"]
    assert search(api, q="münch") == ["Grüße aus München"]


@pytest.mark.parametrize(
    "params",
    [{}, {"q": ""}, {"q": "   "}, {"q": "!!! ... ?"}, {"q": "&|!:*()'"}, {"q": "x" * 201}],
    ids=["missing", "empty", "blank", "punctuation", "tsquery-syntax", "too-long"],
)
def test_a_query_without_words_is_refused(
    api: APIClient, group: Chat, user: User, params: dict[str, str]
) -> None:
    say(group, user, "anything at all")

    response = api.get("/api/messages/search/", params)

    assert response.status_code == 400
    assert "q" in response.json()


@pytest.mark.parametrize(
    "chat_id", ["abc", "0", "-1", "99999999999999999999"], ids=["word", "zero", "neg", "huge"]
)
def test_a_bad_chat_id_is_refused(api: APIClient, group: Chat, chat_id: str) -> None:
    response = api.get("/api/messages/search/", {"q": "hello", "chat_id": chat_id})

    assert response.status_code == 400
    assert "chat_id" in response.json()


def test_searching_needs_a_token(anon: APIClient) -> None:
    assert anon.get("/api/messages/search/", {"q": "hello"}).status_code == 401


@pytest.mark.postgres
def test_the_search_query_can_use_the_gin_index(group: Chat, user: User) -> None:
    """With enough messages that scanning them all is costly, the planner takes the GIN index:
    the search expression is exactly the indexed one."""
    Message.objects.bulk_create(
        Message(chat=group, seq=seq, user=user, text=f"filler number {seq}")
        for seq in range(1, 3001)
    )
    Chat.objects.filter(pk=group.pk).update(last_seq=3000)
    say(group, user, "hello world")
    results = selectors.message_search(user=user, q="hello wor")

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE chats_message")
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = results.explain()

    assert "message_text_search" in plan
    assert [message.text for message in results] == ["hello world"]


@pytest.mark.parametrize(
    "q",
    [
        *("_", "__init__", "snake_case", "１２３", "x" * 200, "don't", "e-mail", "3.14", "a:b"),
        *("ǅ", "a'b", "a''", "a\\", "a\\'", "'a'", "a & b", "a:* | !b", "a<->b", "(a))"),
    ],
)
def test_odd_words_are_searched_not_crashed_on(
    api: APIClient, group: Chat, user: User, q: str
) -> None:
    say(group, user, "plain text")

    response = api.get("/api/messages/search/", {"q": q})

    assert response.status_code == 200
    assert response.json()["results"] == []
