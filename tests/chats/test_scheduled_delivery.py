"""Delivering scheduled messages: at send_at the message is posted as its author, exactly as
`POST .../messages/` would, pushed live, once, and never when it may no longer be posted.

The tests control time by scheduling a message for later and then moving its send_at into the
past, as if the clock had run on.
"""

import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks

from accounts.models import User
from chatproject.celery import app as celery_app
from chats import tasks
from chats.models import (
    Chat,
    Membership,
    Message,
    Role,
    ScheduledMessage,
    ScheduledStatus,
)
from chats.services.members import member_remove, member_role_set
from chats.services.scheduling import (
    DELIVER_TASK,
    message_schedule,
    scheduled_cancel,
    scheduled_deliver,
    scheduled_due_ids,
    scheduled_purge,
    scheduled_update,
)
from tests.chats.conftest import Event, MakeUser
from tests.factories import chat_factory, messages_factory


def schedule(
    chat: Chat, author: User, text: str = "later", *, hours: float = 1
) -> ScheduledMessage:
    """Schedule far enough ahead that no delivery task is queued: the dispatcher finds it."""
    return message_schedule(
        chat=chat, user=author, text=text, send_at=timezone.now() + timedelta(hours=hours)
    )


def make_due(*rows: ScheduledMessage, ago: timedelta = timedelta(seconds=1)) -> None:
    """The clock runs on past the rows' send_at."""
    ScheduledMessage.objects.filter(pk__in=[row.pk for row in rows]).update(
        send_at=timezone.now() - ago
    )


def reloaded(row: ScheduledMessage) -> ScheduledMessage:
    return ScheduledMessage.objects.get(pk=row.pk)


def published(sent: list[Event]) -> list[tuple[str, str]]:
    return [(group, frame["type"]) for group, frame in sent]


# --- Delivery ------------------------------------------------------------------------------------


def test_a_due_message_is_posted_as_its_author_with_the_next_seq_and_pushed_live(
    user: User,
    other_user: User,
    group: Chat,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    messages_factory(group, other_user, 2)
    row = schedule(group, user, "Good morning!")
    make_due(row)

    with django_capture_on_commit_callbacks(execute=True):
        delivered = scheduled_deliver(scheduled_id=row.pk)

    assert delivered is not None
    assert delivered.pk == row.pk
    row = reloaded(row)
    assert row.status == ScheduledStatus.SENT
    assert row.failure == ""
    assert row.message_id is not None
    message = Message.objects.get(pk=row.message_id)
    assert (message.chat_id, message.seq, message.user_id) == (group.pk, 3, user.pk)
    assert message.text == "Good morning!"
    group.refresh_from_db()
    assert group.last_seq == 3
    # As when posting by hand, the author has read the chat up to their own message.
    assert Membership.objects.get(chat=group, user=user).last_read_seq == 3
    assert published(sent_events) == [(f"chat.{group.pk}", "message.new")]
    frame = sent_events[0][1]
    assert frame["chat_id"] == group.pk
    assert frame["message"]["id"] == message.pk
    assert frame["message"]["seq"] == 3
    assert frame["message"]["user_id"] == user.pk
    assert frame["message"]["author"] == {"id": user.pk, "name": user.name}
    assert frame["message"]["text"] == "Good morning!"


def test_delivering_twice_posts_once(
    user: User,
    group: Chat,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    row = schedule(group, user)
    make_due(row)

    with django_capture_on_commit_callbacks(execute=True):
        first = scheduled_deliver(scheduled_id=row.pk)
        second = scheduled_deliver(scheduled_id=row.pk)

    assert first is not None
    assert second is None
    assert Message.objects.filter(chat=group).count() == 1
    assert reloaded(row).message_id == Message.objects.get(chat=group).pk
    assert published(sent_events) == [(f"chat.{group.pk}", "message.new")]


def test_a_message_not_yet_due_is_not_delivered(user: User, group: Chat) -> None:
    row = schedule(group, user)

    assert scheduled_deliver(scheduled_id=row.pk) is None

    assert reloaded(row).status == ScheduledStatus.PENDING
    assert not Message.objects.filter(chat=group).exists()


def test_a_canceled_message_is_never_delivered(user: User, group: Chat) -> None:
    row = schedule(group, user)
    scheduled_cancel(scheduled=row)
    make_due(row)

    assert scheduled_deliver(scheduled_id=row.pk) is None

    assert reloaded(row).status == ScheduledStatus.CANCELED
    assert not Message.objects.filter(chat=group).exists()


def test_a_deleted_row_is_simply_not_delivered(user: User, group: Chat) -> None:
    row = schedule(group, user)
    ScheduledMessage.objects.filter(pk=row.pk).delete()

    assert scheduled_deliver(scheduled_id=row.pk) is None


# --- When the author may no longer post -----------------------------------------------------------


def assert_failed_without_a_message(
    row: ScheduledMessage, chat: Chat, delivered: ScheduledMessage | None, sent: list[Event]
) -> ScheduledMessage:
    assert delivered is not None
    row = reloaded(row)
    assert row.status == ScheduledStatus.FAILED
    assert row.failure != ""
    assert row.message_id is None
    assert not Message.objects.filter(chat=chat).exists()
    assert not [frame for _, frame in sent if frame["type"] == "message.new"]
    return row


def test_an_author_who_left_the_chat_has_their_message_fail(
    other_user: User,
    group: Chat,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    row = schedule(group, other_user, "I'll be gone by then")
    member_remove(chat=group, actor=other_user, user_id=other_user.pk)
    make_due(row)

    with django_capture_on_commit_callbacks(execute=True):
        delivered = scheduled_deliver(scheduled_id=row.pk)

    assert_failed_without_a_message(row, group, delivered, sent_events)
    # Failed is settled: the next run leaves it alone.
    assert scheduled_deliver(scheduled_id=row.pk) is None


def test_a_channel_admin_demoted_before_send_at_has_their_message_fail(
    user: User,
    carol: User,
    channel: Chat,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    row = schedule(channel, carol, "Announcement")
    member_role_set(chat=channel, actor=user, user_id=carol.pk, role=Role.MEMBER)
    make_due(row)

    with django_capture_on_commit_callbacks(execute=True):
        delivered = scheduled_deliver(scheduled_id=row.pk)

    failed = assert_failed_without_a_message(row, channel, delivered, sent_events)
    assert "channel" in failed.failure


def test_a_deactivated_author_has_their_message_fail(
    other_user: User,
    group: Chat,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    row = schedule(group, other_user)
    other_user.is_active = False
    other_user.save(update_fields=["is_active"])
    make_due(row)

    with django_capture_on_commit_callbacks(execute=True):
        delivered = scheduled_deliver(scheduled_id=row.pk)

    failed = assert_failed_without_a_message(row, group, delivered, sent_events)
    assert "deactivated" in failed.failure


def test_one_failure_does_not_hold_up_the_others(user: User, other_user: User, group: Chat) -> None:
    leaving = schedule(group, other_user, "gone")
    staying = schedule(group, user, "here")
    member_remove(chat=group, actor=other_user, user_id=other_user.pk)
    make_due(leaving, staying)

    assert tasks.scheduled_messages_dispatch() == 2

    assert reloaded(leaving).status == ScheduledStatus.FAILED
    assert reloaded(staying).status == ScheduledStatus.SENT
    assert list(Message.objects.filter(chat=group).values_list("seq", "text")) == [(1, "here")]


# --- The dispatcher ------------------------------------------------------------------------------


def test_due_ids_are_the_pending_rows_whose_time_has_come_oldest_first(
    user: User, other_user: User, group: Chat
) -> None:
    older = schedule(group, user, "older")
    newer = schedule(group, other_user, "newer")
    make_due(older, ago=timedelta(minutes=5))
    make_due(newer, ago=timedelta(minutes=1))
    schedule(group, user, "not yet")
    canceled = schedule(group, user, "canceled")
    scheduled_cancel(scheduled=canceled)
    sent = schedule(group, user, "sent")
    make_due(canceled, sent, ago=timedelta(minutes=10))
    scheduled_deliver(scheduled_id=sent.pk)

    assert scheduled_due_ids() == [older.pk, newer.pk]
    assert scheduled_due_ids(limit=1) == [older.pk]


def test_the_dispatch_task_delivers_every_due_message_once(
    user: User,
    other_user: User,
    group: Chat,
    team: Chat,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    due = [
        schedule(group, user, "one"),
        schedule(group, other_user, "two"),
        schedule(team, user, "three"),
    ]
    make_due(*due)
    later = schedule(team, other_user, "later")

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.scheduled_messages_dispatch() == 3
        assert tasks.scheduled_messages_dispatch() == 0

    assert all(reloaded(row).status == ScheduledStatus.SENT for row in due)
    assert reloaded(later).status == ScheduledStatus.PENDING
    posted = Message.objects.order_by("chat_id", "seq").values_list("chat_id", "seq", "text")
    assert sorted(posted) == sorted(
        [(group.pk, 1, "one"), (group.pk, 2, "two"), (team.pk, 1, "three")]
    )
    assert Counter(published(sent_events)) == Counter(
        {(f"chat.{group.pk}", "message.new"): 2, (f"chat.{team.pk}", "message.new"): 1}
    )


def test_the_delivery_task_reports_what_it_did(user: User, group: Chat) -> None:
    row = schedule(group, user)
    make_due(row)

    assert tasks.scheduled_message_deliver(row.pk) == "sent"
    # A second copy of the task settles nothing and says so.
    assert tasks.scheduled_message_deliver(row.pk) not in ScheduledStatus.values
    assert Message.objects.filter(chat=group).count() == 1


# --- Queuing the fast path -----------------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[Any], datetime]]:
    """Every delivery task handed to the broker, as (task name, args, eta)."""
    sent: list[tuple[str, list[Any], datetime]] = []

    def send_task(name: str, *, args: list[Any], eta: datetime) -> None:
        sent.append((name, args, eta))

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return sent


def test_a_message_due_soon_is_queued_for_its_time_once_the_schedule_commits(
    user: User,
    group: Chat,
    queued: list[tuple[str, list[Any], datetime]],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    send_at = timezone.now() + timedelta(minutes=5)

    with django_capture_on_commit_callbacks() as callbacks:
        row = message_schedule(chat=group, user=user, text="soon", send_at=send_at)
    assert queued == []
    for callback in callbacks:
        callback()

    assert queued == [(DELIVER_TASK, [row.pk], send_at)]


def test_a_message_due_later_is_left_to_the_dispatcher(
    user: User,
    group: Chat,
    queued: list[tuple[str, list[Any], datetime]],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        row = schedule(group, user, hours=2)
        scheduled_update(scheduled=row, send_at=timezone.now() + timedelta(minutes=3))

    # Nothing for the far-off time; moved near, it is queued for its new time.
    assert queued == [(DELIVER_TASK, [row.pk], reloaded(row).send_at)]


def test_moving_a_message_again_and_again_queues_one_task(
    user: User,
    group: Chat,
    queued: list[tuple[str, list[Any], datetime]],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Security review finding 3: each move of send_at queued another Celery task. The one task
    that comes too early re-queues itself for the new time (scheduled_retry_at)."""
    with django_capture_on_commit_callbacks(execute=True):
        row = message_schedule(
            chat=group, user=user, text="soon", send_at=timezone.now() + timedelta(minutes=5)
        )
        for minutes in (6, 7, 2, 8, 9):
            scheduled_update(scheduled=row, send_at=timezone.now() + timedelta(minutes=minutes))

    assert [args for _, args, _ in queued] == [[row.pk]]
    assert reloaded(row).delivery_queued


def test_a_broker_that_is_down_does_not_stop_the_scheduling(
    user: User,
    group: Chat,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    def send_task(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("no broker")

    monkeypatch.setattr(celery_app, "send_task", send_task)

    with django_capture_on_commit_callbacks(execute=True):
        row = message_schedule(
            chat=group, user=user, text="soon", send_at=timezone.now() + timedelta(minutes=1)
        )

    assert reloaded(row).status == ScheduledStatus.PENDING
    make_due(row)
    assert tasks.scheduled_messages_dispatch() == 1
    assert reloaded(row).status == ScheduledStatus.SENT


# --- Purging -------------------------------------------------------------------------------------


def test_the_purge_forgets_settled_rows_long_past_and_keeps_the_messages(
    user: User, other_user: User, group: Chat
) -> None:
    sent = schedule(group, user, "sent long ago")
    failed = schedule(group, other_user, "failed long ago")
    canceled = schedule(group, user, "canceled long ago")
    recent = schedule(group, user, "sent yesterday")
    waiting = schedule(group, user, "still waiting", hours=24 * 300)
    make_due(sent, failed, recent)
    scheduled_deliver(scheduled_id=sent.pk)
    scheduled_deliver(scheduled_id=recent.pk)
    other_user.is_active = False
    other_user.save(update_fields=["is_active"])
    scheduled_deliver(scheduled_id=failed.pk)
    scheduled_cancel(scheduled=canceled)
    long_ago = timezone.now() - timedelta(days=31)
    ScheduledMessage.objects.filter(pk__in=[sent.pk, failed.pk, canceled.pk, waiting.pk]).update(
        updated=long_ago
    )
    ScheduledMessage.objects.filter(pk=recent.pk).update(updated=timezone.now() - timedelta(days=1))
    posted = reloaded(sent).message_id

    assert tasks.scheduled_messages_purge() == 3

    assert set(ScheduledMessage.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}
    assert reloaded(waiting).status == ScheduledStatus.PENDING
    assert list(Message.objects.filter(chat=group).order_by("seq").values_list("pk", "text")) == [
        (posted, "sent long ago"),
        (reloaded(recent).message_id, "sent yesterday"),
    ]


def test_the_purge_takes_its_cutoff(user: User, group: Chat) -> None:
    row = schedule(group, user)
    scheduled_cancel(scheduled=row)
    ScheduledMessage.objects.filter(pk=row.pk).update(updated=timezone.now() - timedelta(days=2))

    assert scheduled_purge(older_than=timedelta(days=3)) == 0
    assert scheduled_purge(older_than=timedelta(days=1)) == 1
    assert not ScheduledMessage.objects.exists()


# --- Racing workers (PostgreSQL) -----------------------------------------------------------------

WORKERS = 4
ROWS = 30


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_workers_deliver_each_due_message_exactly_once(
    make_user: MakeUser, sent_events: list[Event]
) -> None:
    alice, bob = make_user(), make_user()
    chat = chat_factory(alice, [bob])
    rows = [schedule(chat, alice if n % 2 else bob, f"scheduled {n}") for n in range(ROWS)]
    make_due(*rows)
    row_ids = [row.pk for row in rows]
    barrier = threading.Barrier(WORKERS)
    settled: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            barrier.wait()
            # Half the workers walk the rows backwards, so they meet in the middle as well.
            order = row_ids if index % 2 == 0 else row_ids[::-1]
            settled[index] = [
                scheduled.pk
                for scheduled_id in order
                if (scheduled := scheduled_deliver(scheduled_id=scheduled_id))
            ]
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(index,)) for index in range(WORKERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    all_settled = [pk for pks in settled.values() for pk in pks]
    assert sorted(all_settled) == sorted(row_ids)
    messages = list(Message.objects.filter(chat=chat).order_by("seq"))
    assert [message.seq for message in messages] == list(range(1, ROWS + 1))
    delivered = {row.pk: row for row in ScheduledMessage.objects.filter(pk__in=row_ids)}
    assert {row.status for row in delivered.values()} == {ScheduledStatus.SENT}
    assert {row.message_id for row in delivered.values()} == {message.pk for message in messages}
    by_id = {message.pk: message for message in messages}
    for row in rows:
        message_id = delivered[row.pk].message_id
        assert message_id is not None
        message = by_id[message_id]
        assert (message.user_id, message.text) == (row.user_id, row.text)
    published_seqs = [
        frame["message"]["seq"] for _, frame in sent_events if frame["type"] == "message.new"
    ]
    assert sorted(published_seqs) == list(range(1, ROWS + 1))
