"""Scheduled delivery and upkeep with real Celery worker and beat processes on RabbitMQ.

Each test starts its own processes against the test database, Redis and the broker.
"""

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import cast

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from chatproject.celery import app
from chats.models import Chat, Connection, Message, ScheduledMessage, ScheduledStatus
from chats.services.scheduling import (
    DELIVER_TASK,
    message_schedule,
    scheduled_cancel,
    scheduled_due_ids,
)
from tests.factories import UserFactory, chat_factory
from tests.realtime.conftest import sync

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.broker,
]


async def wait_until(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not await sync(condition)():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.2)


def schedule_in(chat: Chat, user: User, seconds: float, text: str = "later") -> ScheduledMessage:
    return message_schedule(
        chat=chat, user=user, text=text, send_at=timezone.now() + timedelta(seconds=seconds)
    )


async def test_a_message_scheduled_3s_ahead_arrives_live_within_2s_of_send_at(
    start, connect, user, other_user
):
    start("w1")
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)

    scheduled = await sync(schedule_in)(chat, user, 3)
    event = await bob.next_of("message.new", timeout=8)
    arrived = timezone.now()

    assert event["message"]["text"] == "later"
    assert event["message"]["user_id"] == user.pk
    assert arrived - scheduled.send_at < timedelta(seconds=2)
    await sync(scheduled.refresh_from_db)()
    assert scheduled.status == ScheduledStatus.SENT
    assert scheduled.message_id == event["message"]["id"]


async def test_a_worker_killed_before_send_at_delivers_once_when_started_again(
    start, user, other_user
):
    worker = start("w1")
    chat = await sync(chat_factory)(user, [other_user])
    scheduled = await sync(schedule_in)(chat, user, 3)
    await asyncio.sleep(1.5)  # the worker has reserved the eta task by now

    worker.kill()
    await asyncio.sleep(3)
    await sync(scheduled.refresh_from_db)()
    assert scheduled.status == ScheduledStatus.PENDING
    start("w2")

    await wait_until(lambda: Message.objects.filter(chat=chat).exists())
    await asyncio.sleep(1)
    assert await sync(Message.objects.filter(chat=chat).count)() == 1
    await sync(scheduled.refresh_from_db)()
    assert scheduled.status == ScheduledStatus.SENT


async def test_a_canceled_message_is_never_delivered(start, user, other_user):
    start("w1")
    start("beat")
    chat = await sync(chat_factory)(user, [other_user])
    scheduled = await sync(schedule_in)(chat, user, 2)

    await sync(scheduled_cancel)(scheduled=scheduled)
    await asyncio.sleep(5)

    assert not await sync(Message.objects.filter(chat=chat).exists)()
    await sync(scheduled.refresh_from_db)()
    assert scheduled.status == ScheduledStatus.CANCELED


async def test_two_workers_and_beat_deliver_each_of_50_due_messages_once(start, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    rows = [await sync(schedule_in)(chat, user, 60, text=f"due {n}") for n in range(50)]
    ids = [row.pk for row in rows]
    await sync(ScheduledMessage.objects.filter(pk__in=ids).update)(
        send_at=timezone.now() - timedelta(seconds=1)
    )
    for scheduled_id in ids:  # eta tasks racing the beat's dispatcher for the same rows
        app.send_task(DELIVER_TASK, args=[scheduled_id])

    start("w1")
    start("w2")
    start("beat")
    await wait_until(
        lambda: not ScheduledMessage.objects.filter(status=ScheduledStatus.PENDING).exists(),
        timeout=40,
    )

    messages = await sync(lambda: list(Message.objects.filter(chat=chat).order_by("seq")))()
    assert [m.seq for m in messages] == list(range(1, 51))
    assert sorted(m.text for m in messages) == sorted(f"due {n}" for n in range(50))
    sent = await sync(lambda: set(ScheduledMessage.objects.values_list("message_id", flat=True)))()
    assert sent == {m.pk for m in messages}


async def test_the_presence_sweep_turns_a_stale_online_user_offline(start, user):
    await sync(Connection.objects.create)(
        user=user, channel_name="dead-process!abc", heartbeat=timezone.now() - timedelta(hours=1)
    )
    await sync(User.objects.filter(pk=user.pk).update)(status="online")
    start("w1")

    app.send_task("chats.tasks.presence_sweep")

    await wait_until(lambda: User.objects.get(pk=user.pk).status == "offline")
    assert not await sync(Connection.objects.filter(user=user).exists)()


async def test_many_deliveries_from_a_worker_leak_no_redis_connections(start, user):
    chat = await sync(chat_factory)(user, [])
    client = redis.Redis.from_url(settings.REDIS_URL)
    start("w1")
    warm = await sync(schedule_in)(chat, user, 0.5, text="warm-up")
    await wait_until(lambda: Message.objects.filter(chat=chat).exists())
    baseline = len(client.client_list())

    rows = await sync(lambda: [schedule_in(chat, user, 60, text=f"n{n}") for n in range(100)])()
    await sync(ScheduledMessage.objects.filter(pk__in=[r.pk for r in rows]).update)(
        send_at=timezone.now()
    )
    for row in rows:
        app.send_task(DELIVER_TASK, args=[row.pk])
    await wait_until(lambda: Message.objects.filter(chat=chat).count() == 101, timeout=60)

    assert warm.pk
    assert len(client.client_list()) <= baseline + 2


def test_only_pending_due_rows_are_dispatched(db, user):
    chat = chat_factory(user, [cast(User, UserFactory())])
    due = schedule_in(chat, user, 60)
    ScheduledMessage.objects.filter(pk=due.pk).update(send_at=timezone.now())

    assert scheduled_due_ids() == [due.pk]
