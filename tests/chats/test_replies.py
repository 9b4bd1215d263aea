"""Replies: a quoted reply (`reply_to_id`) stays in the main flow with a short copy of what it
answers; a thread reply (`thread_root_id`) goes into a top-level message's thread, whose root
counts its replies. History pages one thread, or the main flow without thread replies.

Alice (`user`) owns the team, Carol is its admin and Bob (`other_user`) a plain member. Mo is a
moderator: staff with the remove_message permission, in none of the chats.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, Message
from chats.moderation.services import message_remove, message_restore
from chats.services.messages import message_delete, message_send
from tests.chats.conftest import Event, MakeUser
from tests.factories import chat_factory

Api = Callable[[User], APIClient]

# Authentication, the chat with its membership check, the page of messages with their quotes'
# authors joined, and their reactions (tests/chats/test_query_counts.py).
HISTORY_QUERIES = 4
# And the thread's root, checked to be a top-level message of the chat.
THREAD_HISTORY_QUERIES = HISTORY_QUERIES + 1


@pytest.fixture
def mo(make_user: MakeUser) -> User:
    moderator = make_user(login="mo", name="Mo", is_staff=True)
    moderator.user_permissions.add(
        Permission.objects.get(content_type__app_label="chats", codename="remove_message")
    )
    return moderator


def post(client: APIClient, chat: Chat, **body: object) -> tuple[int, dict[str, Any]]:
    response = client.post(f"/api/chats/{chat.pk}/messages/", body, format="json")
    return response.status_code, response.json()


def history(client: APIClient, chat: Chat, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/chats/{chat.pk}/messages/", params)
    assert response.status_code == 200, response.content
    return dict(response.json())


def seqs(page: dict[str, Any]) -> list[int]:
    return [message["seq"] for message in page["results"]]


def as_seen_by(client: APIClient, message_id: int, chat: Chat) -> dict[str, Any]:
    """The message as the caller's client shows it in the chat's full history."""
    (found,) = [m for m in history(client, chat, limit=100)["results"] if m["id"] == message_id]
    return dict(found)


def changes(client: APIClient, chat: Chat, since: int) -> dict[str, Any]:
    response = client.get(f"/api/chats/{chat.pk}/changes/", {"since": since})
    assert response.status_code == 200, response.content
    return dict(response.json())


def chat_version(chat: Chat) -> int:
    chat.refresh_from_db(fields=["version", "last_seq"])
    return chat.version


# --- Quoted replies -------------------------------------------------------------------------------


def test_a_quoted_reply_carries_a_copy_of_what_it_answers(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    (question, _) = message_send(chat=team, user=user, text="Lunch at noon?")

    status, reply = post(api_for(other_user), team, text="Yes!", reply_to_id=question.pk)

    assert status == 201, reply
    assert reply["reply_to"] == {
        "id": question.pk,
        "seq": 1,
        "author": {"id": user.pk, "name": "Alice"},
        "text": "Lunch at noon?",
    }
    assert (reply["seq"], reply["thread_root_id"]) == (2, None)
    assert as_seen_by(api_for(carol), reply["id"], team) == reply


def test_a_quote_copies_at_most_the_first_200_characters(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    long_text = "".join(str(n % 10) for n in range(500))
    (speech, _) = message_send(chat=team, user=user, text=long_text)

    _, reply = post(api_for(other_user), team, text="tl;dr?", reply_to_id=speech.pk)

    assert reply["reply_to"]["text"] == long_text[:200]
    assert as_seen_by(api_for(user), reply["id"], team)["reply_to"]["text"] == long_text[:200]


def test_a_quoted_reply_stays_in_the_main_flow(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    (question, _) = message_send(chat=team, user=user, text="Lunch at noon?")

    _, reply = post(api_for(other_user), team, text="Yes!", reply_to_id=question.pk)

    alice = api_for(user)
    assert seqs(history(alice, team, thread_root_id="none")) == [1, 2]
    assert as_seen_by(alice, question.pk, team)["reply_count"] == 0
    assert reply["thread_root_id"] is None


def test_a_thread_reply_may_quote_as_well(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    (root, _) = message_send(chat=team, user=user, text="Friday plans?")
    (pizza, _) = message_send(chat=team, user=other_user, text="pizza", thread_root_id=root.pk)

    status, reply = post(
        api_for(carol), team, text="+1", thread_root_id=root.pk, reply_to_id=pizza.pk
    )

    assert status == 201, reply
    assert reply["thread_root_id"] == root.pk
    assert reply["reply_to"]["id"] == pizza.pk
    assert reply["reply_to"]["text"] == "pizza"


@pytest.mark.parametrize("what", ["another chat's message", "an unknown id", "a tombstone"])
def test_quoting_what_is_no_message_of_this_chat_is_refused(
    api_for: Api, team: Chat, user: User, other_user: User, what: str
) -> None:
    elsewhere = chat_factory(user, [other_user], title="Elsewhere")
    (foreign, _) = message_send(chat=elsewhere, user=user, text="over there")
    (gone, _) = message_send(chat=team, user=user, text="soon deleted")
    message_delete(message=gone, actor=user)
    quoted = {
        "another chat's message": foreign.pk,
        "an unknown id": 999_999,
        "a tombstone": gone.pk,
    }[what]
    before = chat_version(team), team.last_seq

    status, body = post(api_for(other_user), team, text="re", reply_to_id=quoted)

    assert status == 400
    assert "reply_to_id" in body
    assert (chat_version(team), team.last_seq) == before
    assert not Message.objects.filter(chat=team, user=other_user).exists()


@pytest.mark.parametrize("value", ["abc", 0, -1, 1.5, [1], {"id": 1}, True])
def test_a_reply_to_id_that_is_no_id_is_refused(
    api_for: Api, team: Chat, other_user: User, value: object
) -> None:
    status, body = post(api_for(other_user), team, text="re", reply_to_id=value)

    assert status == 400
    assert "reply_to_id" in body
    assert not Message.objects.exists()


def test_when_the_quoted_message_is_deleted_the_quote_keeps_who_and_where_but_not_what(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    (question, _) = message_send(chat=team, user=user, text="my phone number is 555-0100")
    (reply, _) = message_send(chat=team, user=other_user, text="got it", reply_to_id=question.pk)
    bob = api_for(other_user)
    since = chat_version(team)

    assert api_for(user).delete(f"/api/chats/{team.pk}/messages/{question.pk}/").status_code == 204

    shown = as_seen_by(bob, reply.pk, team)
    assert shown["reply_to"] == {
        "id": question.pk,
        "seq": 1,
        "author": {"id": user.pk, "name": "Alice"},
        "text": "",
    }
    assert shown["text"] == "got it"
    assert shown["version"] == chat_version(team) == since + 1
    feed = changes(bob, team, since)
    assert [(m["id"], m["version"]) for m in feed["messages"]] == [
        (question.pk, since + 1),
        (reply.pk, since + 1),
    ]
    assert feed["messages"][1] == shown
    reply.refresh_from_db()
    assert reply.reply_to_text == ""  # erased, not only hidden


def test_deleting_a_quoted_message_announces_its_replies_in_the_same_event(
    api_for: Api,
    team: Chat,
    user: User,
    other_user: User,
    carol: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: Any,
) -> None:
    (question, _) = message_send(chat=team, user=user, text="who is in?")
    (first, _) = message_send(chat=team, user=other_user, text="me", reply_to_id=question.pk)
    (second, _) = message_send(chat=team, user=carol, text="me too", reply_to_id=question.pk)
    since = chat_version(team)

    with django_capture_on_commit_callbacks(execute=True):
        api_for(user).delete(f"/api/chats/{team.pk}/messages/{question.pk}/")

    assert [
        (group, frame["type"], frame["message"]["id"], frame["version"])
        for group, frame in sent_events
    ] == [
        (f"chat.{team.pk}", "message.updated", question.pk, since + 1),
        (f"chat.{team.pk}", "message.updated", first.pk, since + 1),
        (f"chat.{team.pk}", "message.updated", second.pk, since + 1),
    ]
    assert [frame["message"]["reply_to"]["text"] for _, frame in sent_events[1:]] == ["", ""]


def test_a_moderator_s_removal_empties_the_quote_and_a_restore_brings_it_back(
    api_for: Api, team: Chat, user: User, other_user: User, mo: User
) -> None:
    (question, _) = message_send(chat=team, user=user, text="borderline joke")
    (reply, _) = message_send(chat=team, user=other_user, text="lol", reply_to_id=question.pk)
    bob = api_for(other_user)
    since = chat_version(team)

    message_remove(message=question, moderator=mo, reason="offensive")

    removed = as_seen_by(bob, reply.pk, team)
    assert removed["reply_to"] == {
        "id": question.pk,
        "seq": 1,
        "author": {"id": user.pk, "name": "Alice"},
        "text": "",
    }
    assert removed["version"] == since + 1

    message_restore(message=question, moderator=mo)

    restored = as_seen_by(bob, reply.pk, team)
    assert restored["reply_to"]["text"] == "borderline joke"
    assert restored["version"] == chat_version(team) == since + 2
    assert [m["id"] for m in changes(bob, team, since + 1)["messages"]] == [question.pk, reply.pk]


def test_a_removed_reply_restored_after_its_quoted_message_was_deleted_shows_an_empty_quote(
    api_for: Api, team: Chat, user: User, other_user: User, mo: User
) -> None:
    (question, _) = message_send(chat=team, user=user, text="secret plan")
    (reply, _) = message_send(chat=team, user=other_user, text="rude", reply_to_id=question.pk)
    message_remove(message=reply, moderator=mo, reason="rude")
    message_delete(message=question, actor=user)

    message_restore(message=reply, moderator=mo)

    shown = as_seen_by(api_for(user), reply.pk, team)
    assert (shown["deleted"], shown["text"]) == (False, "rude")
    assert shown["reply_to"]["text"] == ""


def test_a_deleted_message_s_text_is_erased_from_the_quotes_of_removed_replies_too(
    team: Chat, user: User, other_user: User, mo: User
) -> None:
    """A delete erases the text from storage, not only from view: no quote of it may keep a
    copy, a reply that a moderator removed (and may restore) included."""
    (question, _) = message_send(chat=team, user=user, text="my password is hunter2")
    (shown, _) = message_send(chat=team, user=other_user, text="noted", reply_to_id=question.pk)
    (hidden, _) = message_send(chat=team, user=other_user, text="lol", reply_to_id=question.pk)
    message_remove(message=hidden, moderator=mo, reason="rude")

    message_delete(message=question, actor=user)

    kept = Message.objects.filter(chat=team, reply_to_text__contains="hunter2")
    assert list(kept.values_list("seq", flat=True)) == []


# --- Threads --------------------------------------------------------------------------------------


def test_a_thread_reply_has_its_own_seq_and_the_root_counts_it(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    (root, _) = message_send(chat=team, user=user, text="Friday plans?")
    alice = api_for(user)

    status, first = post(api_for(other_user), team, text="pizza", thread_root_id=root.pk)
    after_one = as_seen_by(alice, root.pk, team)
    _, second = post(api_for(carol), team, text="bowling", thread_root_id=root.pk)
    after_two = as_seen_by(alice, root.pk, team)

    assert status == 201, first
    assert (first["seq"], first["thread_root_id"], first["reply_to"]) == (2, root.pk, None)
    assert (second["seq"], second["thread_root_id"]) == (3, root.pk)
    assert (after_one["reply_count"], after_one["last_reply_at"]) == (1, first["created"])
    assert (after_two["reply_count"], after_two["last_reply_at"]) == (2, second["created"])
    assert (first["reply_count"], first["last_reply_at"]) == (0, None)


def test_a_thread_reply_and_its_root_s_new_count_take_one_version(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    (root, _) = message_send(chat=team, user=user, text="Friday plans?")
    bob = api_for(other_user)
    since = chat_version(team)

    _, reply = post(bob, team, text="pizza", thread_root_id=root.pk)

    assert reply["version"] == chat_version(team) == since + 1
    assert as_seen_by(bob, root.pk, team)["version"] == since + 1
    feed = changes(bob, team, since)
    assert [(m["id"], m["version"], m["reply_count"]) for m in feed["messages"]] == [
        (root.pk, since + 1, 1),
        (reply["id"], since + 1, 0),
    ]


def test_deleting_a_thread_reply_lowers_the_root_s_count(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    (root, _) = message_send(chat=team, user=user, text="Friday plans?")
    _, first = post(api_for(other_user), team, text="pizza", thread_root_id=root.pk)
    _, second = post(api_for(carol), team, text="bowling", thread_root_id=root.pk)
    alice = api_for(user)
    since = chat_version(team)

    deleted = api_for(carol).delete(f"/api/chats/{team.pk}/messages/{second['id']}/")

    assert deleted.status_code == 204
    shown = as_seen_by(alice, root.pk, team)
    assert (shown["reply_count"], shown["last_reply_at"]) == (1, first["created"])
    assert shown["version"] == chat_version(team) == since + 1
    assert {m["id"] for m in changes(alice, team, since)["messages"]} == {root.pk, second["id"]}

    api_for(other_user).delete(f"/api/chats/{team.pk}/messages/{first['id']}/")

    shown = as_seen_by(alice, root.pk, team)
    assert (shown["reply_count"], shown["last_reply_at"]) == (0, None)


def test_a_moderator_s_removal_of_a_thread_reply_lowers_the_count_and_a_restore_raises_it(
    api_for: Api, team: Chat, user: User, other_user: User, mo: User
) -> None:
    (root, _) = message_send(chat=team, user=user, text="Friday plans?")
    (reply, _) = message_send(chat=team, user=other_user, text="spam", thread_root_id=root.pk)
    alice = api_for(user)

    message_remove(message=reply, moderator=mo, reason="spam")
    removed = as_seen_by(alice, root.pk, team)
    message_restore(message=reply, moderator=mo)
    restored = as_seen_by(alice, root.pk, team)

    assert (removed["reply_count"], removed["last_reply_at"]) == (0, None)
    assert restored["reply_count"] == 1
    assert restored["last_reply_at"] == as_seen_by(alice, reply.pk, team)["created"]


def test_a_thread_reply_to_a_thread_reply_is_refused(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    (root, _) = message_send(chat=team, user=user, text="Friday plans?")
    (reply, _) = message_send(chat=team, user=other_user, text="pizza", thread_root_id=root.pk)
    before = chat_version(team), team.last_seq

    status, body = post(api_for(user), team, text="which one?", thread_root_id=reply.pk)

    assert status == 400
    assert "thread_root_id" in body
    assert (chat_version(team), team.last_seq) == before
    assert as_seen_by(api_for(user), reply.pk, team)["reply_count"] == 0


@pytest.mark.parametrize("what", ["another chat's message", "an unknown id", "a tombstone"])
def test_a_thread_on_what_is_no_message_of_this_chat_is_refused(
    api_for: Api, team: Chat, user: User, other_user: User, what: str
) -> None:
    elsewhere = chat_factory(user, [other_user], title="Elsewhere")
    (foreign, _) = message_send(chat=elsewhere, user=user, text="over there")
    (gone, _) = message_send(chat=team, user=user, text="soon deleted")
    message_delete(message=gone, actor=user)
    root = {"another chat's message": foreign.pk, "an unknown id": 999_999, "a tombstone": gone.pk}
    before = chat_version(team), team.last_seq

    status, body = post(api_for(other_user), team, text="re", thread_root_id=root[what])

    assert status == 400
    assert "thread_root_id" in body
    assert (chat_version(team), team.last_seq) == before


def test_unread_counts_include_thread_replies(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    (root, _) = message_send(chat=team, user=user, text="Friday plans?")
    message_send(chat=team, user=carol, text="pizza", thread_root_id=root.pk)
    message_send(chat=team, user=user, text="bowling", thread_root_id=root.pk)

    detail = api_for(other_user).get(f"/api/chats/{team.pk}/").json()["chat"]
    (listed,) = api_for(other_user).get("/api/chats/").json()["results"]

    assert detail["unread_count"] == listed["unread_count"] == 3


# --- History of one thread, or of the main flow ---------------------------------------------------


@pytest.fixture
def threads(team: Chat, user: User, other_user: User, carol: User) -> dict[str, Message]:
    """The team's conversation: two threads and a quoted reply among the main flow's messages.

    seq 1 plans (root) · 2 unrelated · 3 in plans · 4 games (root) · 5 in plans · 6 in games ·
    7 quotes plans · 8 in plans
    """

    def send(
        author: User,
        text: str,
        *,
        reply_to_id: int | None = None,
        thread_root_id: int | None = None,
    ) -> Message:
        message, _ = message_send(
            chat=team,
            user=author,
            text=text,
            reply_to_id=reply_to_id,
            thread_root_id=thread_root_id,
        )
        return message

    plans = send(user, "Friday plans?")
    send(other_user, "unrelated")
    send(other_user, "pizza", thread_root_id=plans.pk)
    games = send(carol, "Games night?")
    send(carol, "bowling", thread_root_id=plans.pk)
    send(user, "chess", thread_root_id=games.pk)
    send(other_user, "about friday...", reply_to_id=plans.pk)
    send(user, "both!", thread_root_id=plans.pk)
    return {"plans": plans, "games": games}


def test_history_of_a_thread_has_its_replies_but_not_its_root(
    api: APIClient, team: Chat, threads: dict[str, Message]
) -> None:
    plans = history(api, team, thread_root_id=threads["plans"].pk)
    games = history(api, team, thread_root_id=threads["games"].pk)

    assert (seqs(plans), plans["has_more"]) == ([3, 5, 8], False)
    assert [m["text"] for m in plans["results"]] == ["pizza", "bowling", "both!"]
    assert (seqs(games), games["has_more"]) == ([6], False)


def test_a_thread_s_history_pages_with_limit_before_and_after(
    api: APIClient, team: Chat, threads: dict[str, Message]
) -> None:
    root = threads["plans"].pk

    latest = history(api, team, thread_root_id=root, limit=2)
    older = history(api, team, thread_root_id=root, limit=2, before=5)
    caught_up = history(api, team, thread_root_id=root, after=3)
    one_more = history(api, team, thread_root_id=root, after=3, limit=1)

    assert (seqs(latest), latest["has_more"]) == ([5, 8], True)
    assert (seqs(older), older["has_more"]) == ([3], False)
    assert (seqs(caught_up), caught_up["has_more"]) == ([5, 8], False)
    assert (seqs(one_more), one_more["has_more"]) == ([5], True)


def test_a_thread_without_replies_has_an_empty_history(
    api: APIClient, team: Chat, user: User
) -> None:
    (lonely, _) = message_send(chat=team, user=user, text="anyone?")

    assert history(api, team, thread_root_id=lonely.pk) == {"results": [], "has_more": False}


def test_the_main_flow_leaves_thread_replies_out(
    api: APIClient, team: Chat, threads: dict[str, Message]
) -> None:
    main = history(api, team, thread_root_id="none")
    latest = history(api, team, thread_root_id="none", limit=2)
    older = history(api, team, thread_root_id="none", limit=2, before=4)
    caught_up = history(api, team, thread_root_id="none", after=2)

    assert (seqs(main), main["has_more"]) == ([1, 2, 4, 7], False)
    assert (seqs(latest), latest["has_more"]) == ([4, 7], True)
    assert (seqs(older), older["has_more"]) == ([1, 2], False)
    assert (seqs(caught_up), caught_up["has_more"]) == ([4, 7], False)
    roots = {m["seq"]: m["reply_count"] for m in main["results"]}
    assert roots == {1: 3, 2: 0, 4: 1, 7: 0}


def test_without_a_thread_history_has_every_message(
    api: APIClient, team: Chat, threads: dict[str, Message]
) -> None:
    page = history(api, team)

    assert seqs(page) == [1, 2, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", "None", "99999999999999999999"])
def test_a_thread_root_id_that_is_no_id_or_none_is_refused(
    api: APIClient, team: Chat, threads: dict[str, Message], value: str
) -> None:
    response = api.get(f"/api/chats/{team.pk}/messages/", {"thread_root_id": value})

    assert response.status_code == 400
    assert "thread_root_id" in response.json()


@pytest.mark.parametrize("what", ["a thread reply", "another chat's message", "an unknown id"])
def test_the_history_of_no_thread_of_this_chat_is_refused(
    api: APIClient, team: Chat, user: User, other_user: User, threads: dict[str, Message], what: str
) -> None:
    elsewhere = chat_factory(user, [other_user], title="Elsewhere")
    (foreign, _) = message_send(chat=elsewhere, user=user, text="over there")
    in_thread = Message.objects.get(chat=team, seq=3)
    root = {"a thread reply": in_thread.pk, "another chat's message": foreign.pk}.get(what, 999_999)

    response = api.get(f"/api/chats/{team.pk}/messages/", {"thread_root_id": root})

    assert response.status_code == 400
    assert "thread_root_id" in response.json()


def test_a_non_member_cannot_page_a_thread(
    api_for: Api, team: Chat, dave: User, threads: dict[str, Message]
) -> None:
    response = api_for(dave).get(
        f"/api/chats/{team.pk}/messages/", {"thread_root_id": threads["plans"].pk}
    )

    assert response.status_code == 404


# --- Cost -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 50])
def test_a_page_of_quoted_replies_with_mentions_costs_the_same_for_1_or_50(
    api: APIClient,
    user: User,
    make_user: MakeUser,
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    """Each reply quotes the one before it, by someone else, and mentions a third member."""
    people = [make_user() for _ in range(5)]
    chat = chat_factory(user, people)
    (previous, _) = message_send(chat=chat, user=user, text="opening")
    for n in range(rows):
        author, mentioned = people[n % 5], people[(n + 1) % 5]
        previous, _ = message_send(
            chat=chat,
            user=author,
            text=f"@{mentioned.login} reply {n}",
            reply_to_id=previous.pk,
        )

    with django_assert_max_num_queries(HISTORY_QUERIES):
        response = api.get(f"/api/chats/{chat.pk}/messages/", {"limit": 50, "after": 1})

    results = response.json()["results"]
    assert len(results) == rows
    assert all(m["reply_to"]["author"]["name"] for m in results)
    assert results[0]["reply_to"]["text"] == "opening"
    assert [m["mentions"] for m in results] == [[people[(n + 1) % 5].pk] for n in range(rows)]


@pytest.mark.parametrize("rows", [1, 50])
def test_a_page_of_one_thread_costs_the_same_for_1_or_50_replies(
    api: APIClient,
    user: User,
    make_user: MakeUser,
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    people = [make_user() for _ in range(5)]
    chat = chat_factory(user, people)
    (root, _) = message_send(chat=chat, user=user, text="Friday plans?")
    for n in range(rows):
        message_send(
            chat=chat, user=people[n % 5], text=f"@{user.login} idea {n}", thread_root_id=root.pk
        )

    with django_assert_max_num_queries(THREAD_HISTORY_QUERIES):
        response = api.get(
            f"/api/chats/{chat.pk}/messages/", {"limit": 50, "thread_root_id": root.pk}
        )

    results = response.json()["results"]
    assert len(results) == rows
    assert all(m["thread_root_id"] == root.pk for m in results)
