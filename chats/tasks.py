"""Thin Celery tasks: each fetches by id and calls a service."""

import logging

from celery import Task, shared_task
from django.core.management import call_command
from django.utils import timezone

from accounts import services as account_services
from chats.services import attachments as attachment_services
from chats.services import presence
from chats.services.scheduling import (
    scheduled_deliver,
    scheduled_due_ids,
    scheduled_purge,
    scheduled_retry_at,
)

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=None)
def scheduled_message_deliver(self: Task, scheduled_id: int) -> str:
    attempted_at = timezone.now()
    scheduled = scheduled_deliver(scheduled_id=scheduled_id)
    if scheduled is not None:
        return scheduled.status
    # An eta timer may fire a moment before send_at; come back at send_at if it is near.
    retry_at = scheduled_retry_at(scheduled_id=scheduled_id, attempted_at=attempted_at)
    if retry_at is not None:
        raise self.retry(eta=retry_at)
    return "already settled, or left to the dispatcher"


@shared_task(expires=10)
def scheduled_messages_dispatch() -> int:
    """Deliver every due pending row. Beat runs this every few seconds; a queued eta task is only
    the fast path. Expires, so that runs queued while no worker was up do not pile up."""
    delivered = 0
    for scheduled_id in scheduled_due_ids():
        delivered += scheduled_deliver(scheduled_id=scheduled_id) is not None
    return delivered


@shared_task(expires=60)
def presence_sweep() -> int:
    return presence.presence_sweep()


@shared_task
def scheduled_messages_purge() -> int:
    return scheduled_purge()


@shared_task
def idempotency_records_purge() -> int:
    return account_services.idempotency_records_purge()


@shared_task
def tokens_flush_expired() -> None:
    """SimpleJWT's flushexpiredtokens: drop outstanding and blacklisted tokens past their expiry."""
    call_command("flushexpiredtokens")


@shared_task
def attachments_sweep() -> int:
    return attachment_services.attachments_sweep()
