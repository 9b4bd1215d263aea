"""RabbitMQ restarts, and a worker dies mid-task: every scheduled message is posted exactly once.

The ScheduledMessage row is the truth and the broker only speeds delivery up (docs/celery.md).
Each test runs a private RabbitMQ node, so no other run's workers take its tasks and a purge by
another run cannot empty its queues.
"""

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from chatproject.celery import app
from chats.models import Message, ScheduledMessage, ScheduledStatus
from chats.services.scheduling import DELIVER_TASK
from chats.tasks import scheduled_message_deliver
from tests.celery.conftest import _periodic_tasks_present
from tests.factories import UserFactory, chat_factory
from tests.faults.conftest import Http, wait_until
from tests.processes import celery_beat, celery_worker, daphne, free_port, process_env
from tests.realtime.conftest import access_token, sync

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.broker,
]


def pending_count() -> int:
    return ScheduledMessage.objects.filter(status=ScheduledStatus.PENDING).count()


async def assert_each_posted_exactly_once(chat_id: int, expected: int) -> None:
    """Every row sent, each with its own message, and no message that is not one of theirs."""
    rows = await sync(lambda: list(ScheduledMessage.objects.filter(chat_id=chat_id)))()
    messages = await sync(lambda: list(Message.objects.filter(chat_id=chat_id).order_by("seq")))()
    assert len(rows) == expected
    assert {row.status for row in rows} == {ScheduledStatus.SENT}
    assert [m.seq for m in messages] == list(range(1, expected + 1))
    by_id = {m.pk: m for m in messages}
    assert sorted(row.message_id for row in rows) == sorted(by_id)
    for row in rows:
        posted = by_id[row.message_id]
        assert (posted.text, posted.client_id) == (row.text, f"scheduled-{row.pk}")


async def test_scheduled_messages_survive_a_rabbitmq_restart_exactly_once(
    private_rabbitmq, processes, tmp_path: Path
):
    """Alice schedules messages before and during a RabbitMQ restart; each is posted once."""
    await sync(_periodic_tasks_present)()
    alice = await sync(UserFactory)(login="alice")
    bob = await sync(UserFactory)(login="bob")
    chat = await sync(chat_factory)(alice, [bob])
    broker = {"CELERY_BROKER_URL": private_rabbitmq.url}
    port = free_port()
    processes.append(daphne(port, tmp_path, **broker))
    processes.append(celery_worker("w1", tmp_path, **broker))
    processes.append(celery_beat(tmp_path, **broker))
    server = f"http://127.0.0.1:{port}"
    api = Http(server, await access_token(alice))

    async def schedule(text: str, seconds: float) -> None:
        send_at = (timezone.now() + timedelta(seconds=seconds)).isoformat()
        status, body = await api.post(
            f"/api/chats/{chat.pk}/scheduled/", {"text": text, "send_at": send_at}
        )
        assert status == 201, body

    # Queued as eta tasks; the worker holds them, unacknowledged, until send_at.
    for n in range(5):
        await schedule(f"queued {n}", 4)
    await asyncio.sleep(1.5)

    private_rabbitmq.stop()

    # Scheduling still works while the broker is down: the row is stored and the task is not.
    for n in range(3):
        await schedule(f"during {n}", 1)
    status, report = await Http(server).get("/healthz")
    assert (status, report["broker"]) == (503, "down")
    # Every send_at passes during the outage.
    latest = await sync(lambda: max(ScheduledMessage.objects.values_list("send_at", flat=True)))()
    await asyncio.sleep(max(0.0, (latest - timezone.now()).total_seconds()) + 0.5)

    private_rabbitmq.start()

    await wait_until(all_sent, timeout=60, what="every scheduled message to be sent")
    # Redelivered tasks and the dispatcher find every row settled: nothing is posted twice.
    await asyncio.sleep(4)
    await assert_each_posted_exactly_once(chat.pk, 8)


async def workers_waiting_on_a_chat_lock() -> int:
    def count() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE %%chats_chat%%'"
            )
            return int(cursor.fetchone()[0])

    return await sync(count)()


async def all_sent() -> bool:
    return await sync(pending_count)() == 0


async def test_a_worker_killed_mid_delivery_loses_and_doubles_nothing(
    private_rabbitmq, processes, tmp_path: Path
):
    """Thirty due messages; the worker is killed while posting one; another worker posts all
    thirty, each once, with seqs 1 to 30."""
    await sync(_periodic_tasks_present)()
    alice = await sync(UserFactory)(login="alice")
    chat = await sync(chat_factory)(alice, [await sync(UserFactory)(login="bob")])
    # Many messages due at once, as after a time with no worker, each with its eta task queued.
    due = timezone.now() - timedelta(seconds=1)
    rows = [
        await sync(ScheduledMessage.objects.create)(
            chat=chat, user=alice, text=f"due {n}", send_at=due
        )
        for n in range(30)
    ]
    # On an explicit connection: CELERY_BROKER_URL in this environment names the shared broker.
    with app.connection_for_write(private_rabbitmq.url) as conn:
        for row in rows:
            app.send_task(DELIVER_TASK, args=[row.pk], connection=conn)
    broker = {"CELERY_BROKER_URL": private_rabbitmq.url}
    lock = psycopg2.connect(process_env()["DATABASE_URL"])
    try:
        with lock.cursor() as cursor:
            cursor.execute("SELECT id FROM chats_chat WHERE id = %s FOR UPDATE", [chat.pk])
        worker = celery_worker("w1", tmp_path, **broker)
        processes.append(worker)

        # The worker has claimed a row and waits inside message_send: kill it there.
        await wait_until(
            lambda: _positive(workers_waiting_on_a_chat_lock()), timeout=30, what="a task mid-way"
        )
        worker.kill()
    finally:
        lock.rollback()
        lock.close()

    processes.append(celery_worker("w2", tmp_path, **broker))
    processes.append(celery_beat(tmp_path, **broker))
    await wait_until(all_sent, timeout=60, what="every scheduled message to be sent")
    await asyncio.sleep(4)
    await assert_each_posted_exactly_once(chat.pk, 30)


async def _positive(count: Awaitable[int]) -> bool:
    return await count > 0


async def test_a_delivery_task_leaves_a_row_that_a_stuck_worker_holds_without_spinning(
    processes,
):
    """A worker killed mid-task holds its row until the database notices; meanwhile the task's
    redelivered copy must not retry in a loop: the holder settles the row, or the dispatcher."""
    alice = await sync(UserFactory)(login="alice")
    chat = await sync(chat_factory)(alice, [])
    row = await sync(ScheduledMessage.objects.create)(
        chat=chat, user=alice, text="due", send_at=timezone.now() - timedelta(seconds=1)
    )
    holder = psycopg2.connect(process_env()["DATABASE_URL"])
    try:
        with holder.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {ScheduledMessage._meta.db_table} WHERE id = %s FOR UPDATE",  # noqa: S608
                [row.pk],
            )
        outcome = await sync(lambda: scheduled_message_deliver.apply(args=[row.pk]).get())()
    finally:
        holder.rollback()
        holder.close()

    assert outcome == "already settled, or left to the dispatcher"
    await sync(row.refresh_from_db)()
    assert row.status == ScheduledStatus.PENDING  # for the dispatcher's next run
