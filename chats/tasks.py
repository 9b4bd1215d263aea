"""Thin Celery tasks: each fetches by id and calls a service."""

import logging

from celery import shared_task
from django.core.management import call_command

from chats import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def scheduled_message_deliver(scheduled_id: int) -> str:
    scheduled = services.scheduled_deliver(scheduled_id=scheduled_id)
    return scheduled.status if scheduled else "not due or already settled"


@shared_task(expires=10)
def scheduled_messages_dispatch() -> int:
    """Deliver every due pending row. Beat runs this every few seconds; a queued eta task is only
    the fast path. Expires, so that runs queued while no worker was up do not pile up."""
    delivered = 0
    for scheduled_id in services.scheduled_due_ids():
        delivered += services.scheduled_deliver(scheduled_id=scheduled_id) is not None
    return delivered


@shared_task(expires=60)
def presence_sweep() -> int:
    return services.presence_sweep()


@shared_task
def scheduled_messages_purge() -> int:
    return services.scheduled_purge()


@shared_task
def tokens_flush_expired() -> None:
    """SimpleJWT's flushexpiredtokens: drop outstanding and blacklisted tokens past their expiry."""
    call_command("flushexpiredtokens")
