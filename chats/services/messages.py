"""Posting, editing and deleting messages, and read markers."""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from rest_framework import exceptions

from accounts.models import User
from chats.models import MANAGER_ROLES, Chat, ChatType, Membership, Message
from chats.moderation.services import message_remove
from chats.realtime import events
from chats.services.access import (
    membership_get,
    removes_messages_anywhere,
    require_not_blocked,
    require_role,
)
from chats.services.versions import chat_post_next, chat_version_next

# The audit entry's reason when a moderator deletes through REST, which takes no body.
REMOVED_THROUGH_API = "Deleted by a moderator through the API."


def _message_by_client_id(chat: Chat, user: User, client_id: str) -> Message | None:
    return (
        Message.objects.select_related("user")
        .filter(chat=chat, user=user, client_id=client_id)
        .first()
    )


def may_post(chat: Chat, user: User) -> Membership:
    membership = membership_get(chat=chat, user=user)
    if chat.chat_type == ChatType.CHANNEL:
        require_role(membership, MANAGER_ROLES, "post in this channel")
    if chat.chat_type == ChatType.DIRECT:
        other = Membership.objects.filter(chat=chat).exclude(user=user).values("user_id")
        require_not_blocked(user, other)
    return membership


def message_send(
    *, chat: Chat, user: User, text: str, client_id: str | None = None
) -> tuple[Message, bool]:
    """Post a message. Returns (message, created).

    The same client_id from the same user in the same chat returns the original message, never a
    second one, even when two copies race.
    """
    membership = may_post(chat, user)
    if client_id is not None:
        existing = _message_by_client_id(chat, user, client_id)
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            seq, version = chat_post_next(chat.pk)
            message = Message.objects.create(
                chat=chat, seq=seq, version=version, user=user, text=text, client_id=client_id
            )
            # Posting reads the chat up to one's own message, as in every messenger.
            Membership.objects.filter(pk=membership.pk).update(last_read_seq=seq, version=version)
            events.message_new(message)
    except IntegrityError:
        existing = _message_by_client_id(chat, user, client_id) if client_id else None
        if existing is None:
            raise
        return existing, False
    chat.last_seq, chat.version = seq, version
    return message, True


@transaction.atomic
def message_edit(*, message: Message, actor: User, text: str) -> Message:
    if message.user_id != actor.pk:
        raise exceptions.PermissionDenied("Only the author may edit a message.")
    # As posting would now: a member who left, or was demoted in a channel, edits no more.
    may_post(message.chat, actor)
    version = chat_version_next(message.chat_id)
    # Read again under the chat's lock, which every write to the chat's messages takes first.
    message.refresh_from_db(fields=["deleted"])
    if message.deleted:
        raise exceptions.ValidationError({"detail": "A deleted message cannot be edited."})
    message.version = version
    message.text = text
    message.edited = True
    message.save(update_fields=["version", "text", "edited", "updated"])
    events.message_updated(message)
    return message


@transaction.atomic
def message_delete(*, message: Message, actor: User) -> None:
    """Tombstone a message: it keeps its seq, and its text is erased from the row (an open
    report about it keeps its own copy as evidence, until it closes).

    Someone else's message is deleted so by the chat's owner or an admin. A moderator (the
    remove_message permission) who is neither removes it instead, as the admin does: audited and
    restorable. Anyone else, staff included, may not."""
    if message.user_id != actor.pk:
        membership = Membership.objects.filter(chat_id=message.chat_id, user=actor).first()
        if membership is None or membership.role not in MANAGER_ROLES:
            if removes_messages_anywhere(actor):
                if not message.deleted:  # as a delete is, a second one is a no-op
                    message_remove(message=message, moderator=actor, reason=REMOVED_THROUGH_API)
                return
            if membership is None:
                raise exceptions.NotFound("No such chat.")
            require_role(membership, MANAGER_ROLES, "delete other people's messages")
    version = chat_version_next(message.chat_id)
    message.refresh_from_db(fields=["deleted"])  # under the chat's lock, as in message_edit
    if message.deleted:
        transaction.set_rollback(True)  # gives the version back: nothing changed
        return
    message.version = version
    message.deleted = True
    message.text = ""
    message.save(update_fields=["version", "deleted", "text", "updated"])
    events.message_updated(message)


@transaction.atomic
def read_mark(*, chat: Chat, user: User, seq: int) -> None:
    """Move the caller's read marker forward to seq. It never moves back."""
    membership = membership_get(chat=chat, user=user)
    if seq > chat.last_seq:
        raise exceptions.ValidationError({"seq": [f"The chat's last seq is {chat.last_seq}."]})
    if seq <= membership.last_read_seq:
        return
    version = chat_version_next(chat.pk)
    # Greatest: another read may have moved it further since; the version is taken all the
    # same, so the event goes out with the marker as it now stands.
    mine = Membership.objects.filter(pk=membership.pk)
    mine.update(last_read_seq=Greatest(F("last_read_seq"), seq), version=version)
    events.read(chat.pk, user.pk, mine.values_list("last_read_seq", flat=True).get(), version)
