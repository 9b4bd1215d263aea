"""Posting, editing and deleting messages, and read markers."""

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework import exceptions

from accounts.models import User
from chats.models import MANAGER_ROLES, Chat, ChatType, Membership, Message
from chats.realtime import events
from chats.services.access import membership_get, require_role


def _seq_next(chat_id: int) -> int:
    """Take the next seq for a chat, holding the chat row's lock until the transaction ends.

    Concurrent posts to one chat queue on this lock, so seqs follow commit order with no gaps.
    """
    with connection.cursor() as cursor:
        cursor.execute(_SEQ_NEXT_SQL, [timezone.now(), chat_id])
        (seq,) = cursor.fetchone()
    return int(seq)


_SEQ_NEXT_SQL = (
    f"UPDATE {Chat._meta.db_table} SET last_seq = last_seq + 1, last_activity = %s "  # noqa: S608
    "WHERE id = %s RETURNING last_seq"
)


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
            seq = _seq_next(chat.pk)
            message = Message.objects.create(
                chat=chat, seq=seq, user=user, text=text, client_id=client_id
            )
            # Posting reads the chat up to one's own message, as in every messenger.
            Membership.objects.filter(pk=membership.pk, last_read_seq__lt=seq).update(
                last_read_seq=seq
            )
            events.message_new(message)
    except IntegrityError:
        existing = _message_by_client_id(chat, user, client_id) if client_id else None
        if existing is None:
            raise
        return existing, False
    chat.last_seq = seq
    return message, True


@transaction.atomic
def message_edit(*, message: Message, actor: User, text: str) -> Message:
    if message.user_id != actor.pk:
        raise exceptions.PermissionDenied("Only the author may edit a message.")
    if message.deleted:
        raise exceptions.ValidationError({"detail": "A deleted message cannot be edited."})
    message.text = text
    message.edited = True
    message.save(update_fields=["text", "edited", "updated"])
    events.message_updated(message)
    return message


@transaction.atomic
def message_delete(*, message: Message, actor: User) -> None:
    """Tombstone a message: it keeps its seq, and its text is erased from the row (an open
    report about it keeps its own copy as evidence, until it closes)."""
    if message.user_id != actor.pk and not actor.is_staff:
        membership = membership_get(chat=message.chat, user=actor)
        require_role(membership, MANAGER_ROLES, "delete other people's messages")
    if message.deleted:
        return
    message.deleted = True
    message.text = ""
    message.save(update_fields=["deleted", "text", "updated"])
    events.message_updated(message)


@transaction.atomic
def read_mark(*, chat: Chat, user: User, seq: int) -> None:
    """Move the caller's read marker forward to seq. It never moves back."""
    membership = membership_get(chat=chat, user=user)
    if seq > chat.last_seq:
        raise exceptions.ValidationError({"seq": [f"The chat's last seq is {chat.last_seq}."]})
    moved = Membership.objects.filter(pk=membership.pk, last_read_seq__lt=seq).update(
        last_read_seq=seq
    )
    if moved:
        events.read(chat.pk, user.pk, seq)
