"""Scheduled messages: posted later, exactly as a post at that moment would be.

The row is the truth. Scheduling queues a delivery task with an eta when send_at is near; the
beat's dispatcher also delivers every due pending row every few seconds, so nothing depends on
the broker holding a task (RabbitMQ's consumer_timeout kills channels that hold long-eta tasks,
so far-off rows are left to the dispatcher alone). Delivery claims the row under a lock.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions

from accounts.models import User
from chatproject.celery import app as celery_app
from chats.models import Chat, ScheduledMessage, ScheduledStatus
from chats.services.access import may_post
from chats.services.messages import message_send

logger = logging.getLogger(__name__)

SCHEDULE_AHEAD_MAX = timedelta(days=365)
# Tasks are queued with an eta only this far ahead; later rows wait for the dispatcher.
SCHEDULE_ETA_HORIZON = timedelta(minutes=10)
DELIVER_TASK = "chats.tasks.scheduled_message_deliver"


def _check_send_at(send_at: datetime) -> None:
    now = timezone.now()
    if send_at <= now:
        raise exceptions.ValidationError({"send_at": ["Must be in the future."]})
    if send_at > now + SCHEDULE_AHEAD_MAX:
        raise exceptions.ValidationError({"send_at": ["Must be at most a year ahead."]})


def _check_pending_room(chat: Chat, user: User) -> None:
    """Pending scheduled messages are capped per user and per chat (security review finding 3:
    150 of them were all posted within half a second of their time). The user's row lock makes
    one user's schedulings count one at a time."""
    User.objects.select_for_update().filter(pk=user.pk).exists()
    pending = ScheduledMessage.objects.filter(status=ScheduledStatus.PENDING)
    if pending.filter(user=user).count() >= settings.SCHEDULED_PENDING_PER_USER:
        raise exceptions.ValidationError(
            {
                "detail": f"At most {settings.SCHEDULED_PENDING_PER_USER} pending scheduled "
                "messages per user: cancel one first."
            }
        )
    if pending.filter(chat=chat).count() >= settings.SCHEDULED_PENDING_PER_CHAT:
        raise exceptions.ValidationError(
            {
                "detail": f"At most {settings.SCHEDULED_PENDING_PER_CHAT} pending scheduled "
                "messages per chat."
            }
        )


def _queue_delivery_once(scheduled: ScheduledMessage) -> None:
    """Queue the row's delivery task if its time is near and none was queued yet; the caller
    saves `delivery_queued`."""
    if scheduled.delivery_queued or scheduled.send_at - timezone.now() > SCHEDULE_ETA_HORIZON:
        return
    scheduled.delivery_queued = True
    scheduled_id, send_at = scheduled.pk, scheduled.send_at

    def queue() -> None:
        try:
            celery_app.send_task(DELIVER_TASK, args=[scheduled_id], eta=send_at)
        except Exception:  # the dispatcher delivers it all the same
            logger.exception("could not queue delivery of scheduled message %s", scheduled_id)

    transaction.on_commit(queue)


@transaction.atomic
def message_schedule(*, chat: Chat, user: User, text: str, send_at: datetime) -> ScheduledMessage:
    may_post(chat, user)
    _check_send_at(send_at)
    _check_pending_room(chat, user)
    scheduled = ScheduledMessage.objects.create(chat=chat, user=user, text=text, send_at=send_at)
    _queue_delivery_once(scheduled)
    if scheduled.delivery_queued:
        scheduled.save(update_fields=["delivery_queued"])
    return scheduled


def _require_pending(scheduled: ScheduledMessage) -> None:
    if scheduled.status != ScheduledStatus.PENDING:
        raise exceptions.ValidationError(
            {"detail": f"This scheduled message is {scheduled.status}; only pending ones change."}
        )


@transaction.atomic
def scheduled_update(
    *,
    scheduled: ScheduledMessage,
    text: str | None = None,
    send_at: datetime | None = None,
) -> ScheduledMessage:
    scheduled = ScheduledMessage.objects.select_for_update().get(pk=scheduled.pk)
    _require_pending(scheduled)
    if text is not None:
        scheduled.text = text
    if send_at is not None:
        _check_send_at(send_at)
        scheduled.send_at = send_at
        # A task queued for the old time finds the row not yet due, and comes back at the new one.
        _queue_delivery_once(scheduled)
    scheduled.save(update_fields=["text", "send_at", "delivery_queued", "updated"])
    return scheduled


@transaction.atomic
def scheduled_cancel(*, scheduled: ScheduledMessage) -> ScheduledMessage:
    scheduled = ScheduledMessage.objects.select_for_update().get(pk=scheduled.pk)
    _require_pending(scheduled)
    scheduled.status = ScheduledStatus.CANCELED
    scheduled.save(update_fields=["status", "updated"])
    return scheduled


@transaction.atomic
def scheduled_deliver(*, scheduled_id: int) -> ScheduledMessage | None:
    """Post a due pending row as its author, exactly as POST .../messages/ would, once.

    The row is claimed with SELECT ... FOR UPDATE SKIP LOCKED: a second worker skips it, and
    finds it sent once the first commits. The row's id is the post's client_id as well. Returns
    the row if this call settled it, else None.
    """
    scheduled = (
        ScheduledMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("chat", "user")
        .filter(pk=scheduled_id, status=ScheduledStatus.PENDING, send_at__lte=timezone.now())
        .first()
    )
    if scheduled is None:
        return None
    try:
        if not scheduled.user.is_active:
            raise exceptions.PermissionDenied("The author's account is deactivated.")
        message, _ = message_send(
            chat=scheduled.chat,
            user=scheduled.user,
            text=scheduled.text,
            client_id=f"scheduled-{scheduled.pk}",
        )
    except (exceptions.NotFound, exceptions.PermissionDenied) as exc:
        scheduled.status = ScheduledStatus.FAILED
        scheduled.failure = str(exc.detail)[:200]
        scheduled.save(update_fields=["status", "failure", "updated"])
        return scheduled
    scheduled.status = ScheduledStatus.SENT
    scheduled.message = message
    scheduled.save(update_fields=["status", "message", "updated"])
    return scheduled


def scheduled_retry_at(*, scheduled_id: int, attempted_at: datetime) -> datetime | None:
    """When a delivery task that settled nothing at `attempted_at` should come back: at send_at,
    if the row was not yet due then (an eta timer fires a moment early) and send_at is within the
    eta horizon. Later rows are left to the dispatcher.

    A row that was already due and is still pending was skipped because another transaction holds
    it: that one settles it, or, if its worker dies, the dispatcher does. Retrying would spin for
    as long as the lock is held (a worker killed mid-task holds it until its connection ends)."""
    send_at = (
        ScheduledMessage.objects.filter(pk=scheduled_id, status=ScheduledStatus.PENDING)
        .values_list("send_at", flat=True)
        .first()
    )
    if send_at is None or send_at <= attempted_at:
        return None
    if send_at - timezone.now() > SCHEDULE_ETA_HORIZON:
        return None
    return send_at


def scheduled_due_ids(*, limit: int = 500) -> list[int]:
    due = ScheduledMessage.objects.filter(
        status=ScheduledStatus.PENDING, send_at__lte=timezone.now()
    ).order_by("send_at")
    return list(due.values_list("pk", flat=True)[:limit])


def scheduled_purge(*, older_than: timedelta = timedelta(days=30)) -> int:
    """Forget settled scheduled messages (the posted messages stay)."""
    settled = ScheduledMessage.objects.exclude(status=ScheduledStatus.PENDING).filter(
        updated__lt=timezone.now() - older_than
    )
    deleted, _ = settled.delete()
    return deleted
