"""Concurrent writers on PostgreSQL: seqs stay gapless and unique, client_ids and direct chats
stay one of a kind.

Every thread takes its own database connection, starts at a barrier so they really race, and
closes its connection when done.
"""

import threading
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

import pytest
from django.db import connection

from accounts.models import User
from chats.models import Chat, ChatType, Message
from chats.services.chats import chat_create
from chats.services.messages import message_send
from tests.chats.conftest import Event, MakeUser
from tests.factories import chat_factory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

T = TypeVar("T")

THREADS = 8
POSTS_PER_THREAD = 25


def race(threads: int, work: Callable[[int], T]) -> list[T]:
    """Run work(0), ..., work(threads - 1) at once, each in its own thread; return the results."""
    barrier = threading.Barrier(threads)
    results: dict[int, T] = {}
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    return [results[index] for index in range(threads)]


def test_concurrent_posts_get_every_seq_exactly_once(
    make_user: MakeUser, sent_events: list[Event]
) -> None:
    authors = [make_user() for _ in range(THREADS)]
    chat = chat_factory(authors[0], authors[1:])

    def post_many(index: int) -> list[int]:
        own_chat = Chat.objects.get(pk=chat.pk)
        return [
            message_send(chat=own_chat, user=authors[index], text=f"{index}/{n}")[0].seq
            for n in range(POSTS_PER_THREAD)
        ]

    per_thread = race(THREADS, post_many)

    total = THREADS * POSTS_PER_THREAD
    stored = list(Message.objects.filter(chat=chat).order_by("seq").values_list("seq", flat=True))
    assert stored == list(range(1, total + 1))
    assert sorted(seq for seqs in per_thread for seq in seqs) == stored
    assert all(seqs == sorted(seqs) for seqs in per_thread)
    chat.refresh_from_db()
    assert chat.last_seq == total
    published = [
        frame["message"]["seq"] for _, frame in sent_events if frame["type"] == "message.new"
    ]
    assert sorted(published) == stored


def test_racing_copies_of_one_client_id_make_one_message(
    make_user: MakeUser, sent_events: list[Event]
) -> None:
    alice, bob = make_user(), make_user()
    chat = chat_factory(alice, [bob])

    def post(index: int) -> tuple[int, bool]:
        message, created = message_send(
            chat=Chat.objects.get(pk=chat.pk), user=alice, text=f"copy {index}", client_id="c-1"
        )
        return message.pk, created

    outcomes = race(THREADS, post)

    assert len({message_id for message_id, _ in outcomes}) == 1
    assert Counter(created for _, created in outcomes) == Counter({True: 1, False: THREADS - 1})
    assert list(Message.objects.filter(chat=chat).values_list("seq", "client_id")) == [(1, "c-1")]
    chat.refresh_from_db()
    assert chat.last_seq == 1
    assert [frame["type"] for _, frame in sent_events if "message" in frame] == ["message.new"]


def test_two_users_opening_the_same_direct_chat_at_once_get_one_chat(make_user: MakeUser) -> None:
    pairs = [(make_user(), make_user()) for _ in range(THREADS // 2)]

    def open_direct(index: int) -> tuple[int, bool]:
        first, second = pairs[index // 2]
        me, other = (first, second) if index % 2 == 0 else (second, first)
        chat, created = chat_create(creator=me, chat_type=ChatType.DIRECT, member_ids=[other.pk])
        return chat.pk, created

    outcomes = race(THREADS, open_direct)

    assert Chat.objects.filter(chat_type=ChatType.DIRECT).count() == len(pairs)
    for pair_index, (first, second) in enumerate(pairs):
        mine, theirs = outcomes[2 * pair_index], outcomes[2 * pair_index + 1]
        assert mine[0] == theirs[0]
        assert {mine[1], theirs[1]} == {True, False}
        chat = Chat.objects.get(pk=mine[0])
        members: set[User] = {membership.user for membership in chat.memberships.all()}
        assert members == {first, second}
