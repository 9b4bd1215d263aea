"""Posting, editing and deleting messages, and read markers."""

import re

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest, Lower
from rest_framework import exceptions

from accounts.models import User
from chats import selectors
from chats.models import MANAGER_ROLES, QUOTE_MAX, Attachment, Chat, Membership, Message
from chats.moderation.services import message_remove
from chats.realtime import events
from chats.services.access import (
    may_post,
    membership_get,
    removes_messages_anywhere,
    require_role,
)
from chats.services.attachments import attachments_take
from chats.services.dependents import (
    mentions_write,
    message_hidden,
    messages_publish,
    thread_root_recount,
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


# `@login`: login characters after an @ that does not follow a word character (an address).
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_.-]+)")
MENTION_EVERYONE = "all"
# In chats of more members than this, only owners and admins may mention everyone.
MENTION_EVERYONE_OPEN_MAX = 10


def mentions_parse(*, chat: Chat, author: Membership, text: str) -> list[int]:
    """The ids of the members `text` mentions, the author aside: `@login` of a member (a login
    that is not a member's mentions nobody), and `@all` for every member, which in chats of more
    than MENTION_EVERYONE_OPEN_MAX members only owners and admins may use. One query, none for a
    text with no @."""
    logins: set[str] = set()
    for match in _MENTION.finditer(text):
        # "@bob." at a sentence's end: the login is "bob", unless "bob." is one.
        logins.update(login.lower() for login in {match[1], match[1].rstrip(".-")} if login)
    if not logins:
        return []
    others = Membership.objects.filter(chat=chat).exclude(user_id=author.user_id)
    if MENTION_EVERYONE in logins and (
        author.role in MANAGER_ROLES or others.count() < MENTION_EVERYONE_OPEN_MAX
    ):
        mentioned = others
    else:
        mentioned = others.annotate(login=Lower("user__login")).filter(login__in=logins)
    return sorted(mentioned.values_list("user_id", flat=True))


def _quoted_get(chat: Chat, message_id: int) -> Message:
    quoted = Message.objects.filter(chat=chat, pk=message_id, deleted=False).first()
    if quoted is None:
        raise exceptions.ValidationError({"reply_to_id": ["No such message in this chat."]})
    return quoted


def message_send(
    *,
    chat: Chat,
    user: User,
    text: str,
    client_id: str | None = None,
    reply_to_id: int | None = None,
    thread_root_id: int | None = None,
    attachment_ids: list[int] | None = None,
) -> tuple[Message, bool]:
    """Post a message, perhaps quoting another (`reply_to_id`) or in a thread
    (`thread_root_id`, a top-level message), with up to ten of the poster's uploads into the
    chat (`attachment_ids`). Returns (message, created).

    The same client_id from the same user in the same chat returns the original message, never a
    second one, even when two copies race.
    """
    membership = may_post(chat, user)
    if client_id is not None:
        existing = _message_by_client_id(chat, user, client_id)
        if existing is not None:
            return existing, False
    quoted = None if reply_to_id is None else _quoted_get(chat, reply_to_id)
    root = None
    if thread_root_id is not None:
        root = selectors.thread_root_get(chat=chat, message_id=thread_root_id)
        if root.deleted:
            raise exceptions.ValidationError({"thread_root_id": ["That message is deleted."]})
    mention_ids = mentions_parse(chat=chat, author=membership, text=text)
    try:
        with transaction.atomic():
            attachments = attachments_take(
                chat=chat, user=user, attachment_ids=attachment_ids or []
            )
            seq, version = chat_post_next(chat.pk)
            message = Message.objects.create(
                chat=chat,
                seq=seq,
                version=version,
                user=user,
                text=text,
                client_id=client_id,
                reply_to=quoted,
                reply_to_text="" if quoted is None else quoted.text[:QUOTE_MAX],
                thread_root=root,
                mention_ids=mention_ids,
                attachment_count=len(attachments),
            )
            if attachments:
                Attachment.objects.filter(pk__in=[a.pk for a in attachments]).update(
                    message=message
                )
                message.attachments = attachments
            if mention_ids:
                mentions_write(message)
            # Posting reads the chat up to one's own message, as in every messenger.
            Membership.objects.filter(pk=membership.pk).update(last_read_seq=seq, version=version)
            updated = []
            if root is not None:
                thread_root_recount(root.pk, version)
                updated = [selectors.message_get(chat=chat, message_id=root.pk)]
            messages_publish(message.chat_id, version, new=message, updated=updated)
    except IntegrityError:
        existing = _message_by_client_id(chat, user, client_id) if client_id else None
        if existing is None:
            raise
        return existing, False
    chat.last_seq, chat.version = seq, version
    return message, True


@transaction.atomic
def message_edit(*, message: Message, actor: User, text: str) -> Message:
    """The author's new text. The mentions follow it; the quote a reply carries does not (it
    is a copy of what was answered, as it was)."""
    if message.user_id != actor.pk:
        raise exceptions.PermissionDenied("Only the author may edit a message.")
    # As posting would now: a member who left, or was demoted in a channel, edits no more.
    membership = may_post(message.chat, actor)
    mention_ids = mentions_parse(chat=message.chat, author=membership, text=text)
    version = chat_version_next(message.chat_id)
    # Read again under the chat's lock, which every write to the chat's messages takes first.
    message.refresh_from_db(fields=["deleted", "reacted"])
    if message.deleted:
        raise exceptions.ValidationError({"detail": "A deleted message cannot be edited."})
    message.version = version
    message.text = text
    message.edited = True
    fields = ["version", "text", "edited", "updated"]
    if mention_ids != message.mention_ids:
        message.mention_ids = mention_ids
        mentions_write(message)
        fields.append("mention_ids")
    message.save(update_fields=fields)
    messages_publish(message.chat_id, version, updated=[message])
    return message


@transaction.atomic
def message_delete(*, message: Message, actor: User) -> None:
    """Tombstone a message: it keeps its seq, and its text, its quote, its reactions, its pin and
    its files are erased from the database and the file store (an open report about it keeps its
    own copy of the text as evidence, until it closes).

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
    message.reply_to_text = ""
    message.mention_ids = []
    message.pinned_at = None
    message.reacted = False
    message.attachment_count = 0
    message.save(
        update_fields=[
            "version",
            "deleted",
            "text",
            "reply_to_text",
            "mention_ids",
            "pinned_at",
            "reacted",
            "attachment_count",
            "updated",
        ]
    )
    others = message_hidden(message, version, erase=True)
    messages_publish(message.chat_id, version, updated=[message, *others])


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
