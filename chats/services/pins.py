"""Pinned messages: a short list per chat, kept by its managers (by anyone in small chats)."""

from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions

from accounts.models import User
from chats.models import MANAGER_ROLES, PINS_MAX, ChatType, Membership, Message
from chats.realtime import events
from chats.services.access import membership_get
from chats.services.versions import chat_version_next

# Groups of fewer members than this let every member pin, as direct chats do.
PIN_OPEN_MEMBERS_MAX = 10


def _may_pin(message: Message, membership: Membership) -> None:
    chat = message.chat
    if membership.role in MANAGER_ROLES or chat.chat_type == ChatType.DIRECT:
        return
    if (
        chat.chat_type == ChatType.GROUP
        and Membership.objects.filter(chat=chat).count() < PIN_OPEN_MEMBERS_MAX
    ):
        return
    raise exceptions.PermissionDenied("Only the owner and admins pin messages in this chat.")


@transaction.atomic
def pin_set(*, message: Message, actor: User, pinned: bool) -> None:
    """Pin or unpin a message. Already so: nothing changes."""
    _may_pin(message, membership_get(chat=message.chat, user=actor))
    version = chat_version_next(message.chat_id)
    message.refresh_from_db(fields=["deleted", "pinned_at"])
    if message.deleted:
        raise exceptions.ValidationError({"detail": "A deleted message cannot be pinned."})
    if (message.pinned_at is not None) == pinned:
        transaction.set_rollback(True)  # gives the version back: nothing changed
        return
    pins = Message.objects.filter(chat_id=message.chat_id, pinned_at__isnull=False, deleted=False)
    if pinned and pins.count() >= PINS_MAX:
        raise exceptions.ValidationError(
            {"detail": f"A chat keeps at most {PINS_MAX} pinned messages; unpin one first."}
        )
    message.pinned_at = timezone.now() if pinned else None
    Message.objects.filter(pk=message.pk).update(pinned_at=message.pinned_at, version=version)
    events.pins(chat_id=message.chat_id, message_id=message.pk, pinned=pinned, version=version)
