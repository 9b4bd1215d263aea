"""The periodic upkeep: the beat's rows that the data migration writes, the tasks they run, and the
queues those tasks go to.
"""

import importlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from pytest_django import DjangoCaptureOnCommitCallbacks
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import User, UserStatus
from accounts.services import tokens_issue
from chatproject.celery import app as celery_app
from chats import tasks
from chats.models import Attachment, Chat, Connection
from chats.services.attachments import attachment_storage, attachment_upload
from tests.chats.conftest import Event
from tests.factories import chat_factory

# The upkeep the beat runs: task -> (every, period).
UPKEEP = {
    "chats.tasks.scheduled_messages_dispatch": (2, IntervalSchedule.SECONDS),
    "chats.tasks.presence_sweep": (30, IntervalSchedule.SECONDS),
    "chats.tasks.scheduled_messages_purge": (1, IntervalSchedule.DAYS),
    "chats.tasks.tokens_flush_expired": (1, IntervalSchedule.DAYS),
}

migration = importlib.import_module("chats.migrations.0005_periodic_tasks")
create_periodic_tasks: Callable[[Any, Any], None] = migration.create


def upkeep_rows() -> dict[str, tuple[int, str, bool]]:
    rows = PeriodicTask.objects.filter(task__in=UPKEEP).select_related("interval")
    return {
        row.task: (row.interval.every, row.interval.period, row.enabled)
        for row in rows
        if row.interval is not None
    }


def beat_tables() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return (
        list(PeriodicTask.objects.order_by("pk").values()),
        list(IntervalSchedule.objects.order_by("pk").values()),
    )


# --- The beat's rows -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_writes_the_upkeep_for_the_beat_enabled() -> None:
    # Run the migration for real, from before it to after it: the test does not depend on what
    # earlier tests left in a reused database.
    try:
        call_command("migrate", "chats", "0004", verbosity=0)
        assert upkeep_rows() == {}

        call_command("migrate", "chats", "0005", verbosity=0)

        assert upkeep_rows() == {task: (*every, True) for task, every in UPKEEP.items()}
        assert PeriodicTask.objects.filter(task__in=UPKEEP).count() == len(UPKEEP)
    finally:
        call_command("migrate", verbosity=0)


def test_running_the_migration_again_changes_nothing_and_keeps_an_admins_edits(
    db: None,
) -> None:
    create_periodic_tasks(apps, None)
    dispatch = PeriodicTask.objects.get(task="chats.tasks.scheduled_messages_dispatch")
    dispatch.interval, _ = IntervalSchedule.objects.get_or_create(
        every=5, period=IntervalSchedule.SECONDS
    )
    dispatch.save()
    PeriodicTask.objects.filter(task="chats.tasks.scheduled_messages_purge").update(enabled=False)
    before = beat_tables()

    create_periodic_tasks(apps, None)

    assert beat_tables() == before
    assert upkeep_rows()["chats.tasks.scheduled_messages_dispatch"] == (
        5,
        IntervalSchedule.SECONDS,
        True,
    )
    assert upkeep_rows()["chats.tasks.scheduled_messages_purge"][2] is False


def test_the_beat_purges_idempotency_answers_hourly(db: None) -> None:
    row = PeriodicTask.objects.select_related("interval").get(
        task="chats.tasks.idempotency_records_purge"
    )

    assert row.interval is not None
    assert (row.interval.every, row.interval.period, row.enabled) == (
        1,
        IntervalSchedule.HOURS,
        True,
    )


def test_the_beat_sweeps_uploads_never_posted_hourly(db: None) -> None:
    row = PeriodicTask.objects.select_related("interval").get(task="chats.tasks.attachments_sweep")

    assert row.interval is not None
    assert (row.interval.every, row.interval.period, row.enabled) == (
        1,
        IntervalSchedule.HOURS,
        True,
    )


def test_the_sweep_task_removes_an_upload_left_for_over_a_day(
    user: User, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    chat = chat_factory(user, [])
    upload = SimpleUploadedFile("left.txt", b"never posted")
    left = attachment_upload(chat=chat, user=user, upload=upload)
    Attachment.objects.filter(pk=left.pk).update(created=timezone.now() - timedelta(days=2))

    with django_capture_on_commit_callbacks(execute=True):
        swept = tasks.attachments_sweep.apply().get()

    assert swept == 1
    assert not attachment_storage().exists(left.key)


def test_every_upkeep_row_names_a_task_the_workers_know() -> None:
    for task in UPKEEP:
        assert task in celery_app.tasks
    assert {task for _, task, *_ in migration.PERIODIC_TASKS} == set(UPKEEP)


# --- The tasks -----------------------------------------------------------------------------------


def test_flushing_tokens_removes_the_expired_and_keeps_the_live(user: User) -> None:
    expired = tokens_issue(user=user)["refresh"]
    live = tokens_issue(user=user)["refresh"]
    OutstandingToken.objects.filter(token=expired).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    tasks.tokens_flush_expired()

    assert list(OutstandingToken.objects.filter(user=user).values_list("token", flat=True)) == [
        live
    ]


def test_the_presence_sweep_takes_offline_a_user_whose_server_stopped_heartbeating(
    user: User,
    other_user: User,
    group: Chat,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    long_ago = timezone.now() - timedelta(hours=1)
    Connection.objects.create(user=user, channel_name="crashed-process!1", heartbeat=long_ago)
    Connection.objects.create(user=other_user, channel_name="live-process!1")
    User.objects.filter(pk__in=[user.pk, other_user.pk]).update(status=UserStatus.ONLINE)

    with django_capture_on_commit_callbacks(execute=True):
        went_offline = tasks.presence_sweep()

    assert went_offline == 1
    user.refresh_from_db()
    other_user.refresh_from_db()
    assert (user.status, other_user.status) == (UserStatus.OFFLINE, UserStatus.ONLINE)
    assert list(Connection.objects.values_list("channel_name", flat=True)) == ["live-process!1"]
    assert sent_events == [
        (
            f"chat.{group.pk}",
            {"type": "presence", "user_id": user.pk, "status": "offline"},
        )
    ]


# --- Queues --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("chats.tasks.scheduled_message_deliver", "scheduled"),
        ("chats.tasks.scheduled_messages_dispatch", "scheduled"),
        ("chats.tasks.presence_sweep", "maintenance"),
        ("chats.tasks.tokens_flush_expired", "maintenance"),
        ("chats.tasks.scheduled_messages_purge", "maintenance"),
        ("chats.tasks.idempotency_records_purge", "maintenance"),
        ("chats.tasks.attachments_sweep", "maintenance"),
    ],
)
def test_delivery_and_upkeep_each_go_to_their_own_queue(task: str, queue: str) -> None:
    assert task in celery_app.tasks
    assert celery_app.amqp.router.route({}, task)["queue"].name == queue
    # ...and a worker started the usual way consumes that queue.
    assert queue in settings.CELERY_WORKER_QUEUES.split(",")
