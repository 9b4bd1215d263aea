"""Chats, members and messages as REST answers and socket events both show them.

Pure functions from objects to dicts: no queries, no writes. What a payload needs beyond the
object (a count, the last message, the caller's role) its caller passes in, having read it
through a selector, so a payload costs nothing a list has not already paid for.
"""

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from accounts.payloads import api_time, user_payload
from chats import downloads
from chats.models import Attachment, Chat, Membership, Message

if TYPE_CHECKING:
    from chats.selectors import ChatChanges, UserChanges


class MessageFields(Protocol):
    """What a message payload reads: a Message, or a history row (chats.selectors.MessageRow)."""

    @property
    def id(self) -> int: ...
    @property
    def chat_id(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def user_id(self) -> int | None: ...
    @property
    def author_name(self) -> str | None: ...
    @property
    def text(self) -> str: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def created(self) -> datetime: ...
    @property
    def updated(self) -> datetime: ...
    @property
    def edited(self) -> bool: ...
    @property
    def deleted(self) -> bool: ...
    @property
    def reply_to_id(self) -> int | None: ...
    @property
    def reply_to_seq(self) -> int | None: ...
    @property
    def reply_to_user_id(self) -> int | None: ...
    @property
    def reply_to_author_name(self) -> str | None: ...
    @property
    def reply_to_text(self) -> str: ...
    @property
    def thread_root_id(self) -> int | None: ...
    @property
    def reply_count(self) -> int: ...
    @property
    def last_reply_at(self) -> datetime | None: ...
    @property
    def mention_ids(self) -> list[int]: ...
    @property
    def pinned_at(self) -> datetime | None: ...
    @property
    def reactions(self) -> list[dict[str, Any]]: ...
    @property
    def attachments(self) -> list[Attachment]: ...


def message_payload(
    message: MessageFields, *, reactions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Built directly, not through DRF's fields: every history page, sync batch and event
    serializes messages, and DRF's per-field machinery was a third of a history request's CPU in
    the profile (bench/README.md). A tombstone shows no mentions, reactions, pin or files: a
    removal hides them, and a restore brings them back. `reactions`, where given, are the
    message's as one recipient of an event sees them, instead of those read for a viewer."""
    deleted = message.deleted
    return {
        "id": message.id,
        "chat_id": message.chat_id,
        "seq": message.seq,
        "version": message.version,
        "user_id": message.user_id,
        "author": None
        if message.user_id is None
        else {"id": message.user_id, "name": message.author_name},
        "text": "" if deleted else message.text,
        "client_id": message.client_id,
        "created": api_time(message.created),
        "updated": api_time(message.updated),
        "edited": message.edited,
        "deleted": deleted,
        "reply_to": None if message.reply_to_id is None else _quote(message),
        "thread_root_id": message.thread_root_id,
        "reply_count": message.reply_count,
        "last_reply_at": api_time(message.last_reply_at),
        "mentions": [] if deleted else message.mention_ids,
        "reactions": [] if deleted else message.reactions if reactions is None else reactions,
        "pinned": message.pinned_at is not None and not deleted,
        "attachments": [] if deleted else [attachment_payload(a) for a in message.attachments],
    }


def attachment_payload(attachment: Attachment) -> dict[str, Any]:
    """Its URLs unsigned: the answer or frame is signed for its recipient on the way out
    (chats/downloads.py)."""
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "width": attachment.width,
        "height": attachment.height,
        "url": downloads.url(attachment.pk),
        "thumbnail_url": downloads.url(attachment.pk, thumbnail=True)
        if attachment.thumbnail_key
        else None,
    }


def _quote(message: MessageFields) -> dict[str, Any]:
    return {
        "id": message.reply_to_id,
        "seq": message.reply_to_seq,
        "author": None
        if message.reply_to_user_id is None
        else {"id": message.reply_to_user_id, "name": message.reply_to_author_name},
        "text": "" if message.deleted else message.reply_to_text,
    }


def chat_payload(
    chat: Chat,
    *,
    member_count: int,
    last_message: Message | None,
    last_message_reactions: list[dict[str, Any]] | None = None,
    my_role: str | None = None,
    unread_count: int = 0,
    mention_count: int = 0,
    notify: str = "all",
) -> dict[str, Any]:
    """A chat as one member sees it. Without my_role, the per-member fields are left out: an
    event that every member gets carries only what they share. `last_message_reactions` as in
    message_payload."""
    payload: dict[str, Any] = {
        "id": chat.pk,
        "title": chat.title,
        "description": chat.description,
        "chat_type": chat.chat_type,
        "creator_user_id": chat.creator_id,
        "created": api_time(chat.created),
        "updated": api_time(chat.updated),
        "last_seq": chat.last_seq,
        "version": chat.version,
        "member_count": member_count,
    }
    if my_role is not None:
        payload["my_role"] = my_role
        payload["unread_count"] = unread_count
        payload["mention_count"] = mention_count
        payload["notify"] = notify
    payload["last_message"] = (
        None
        if last_message is None
        else message_payload(last_message, reactions=last_message_reactions)
    )
    return payload


def my_chat_payload(chat: Chat) -> dict[str, Any]:
    """A chat read with the per-member annotations of the selectors (chats.selectors
    `chat_list_for_user`), as that member sees it."""
    last = chat.last_messages  # type: ignore[attr-defined]
    return chat_payload(
        chat,
        member_count=chat.member_count,  # type: ignore[attr-defined]
        last_message=last[0] if last else None,
        my_role=chat.my_role,  # type: ignore[attr-defined]
        unread_count=chat.unread_count,  # type: ignore[attr-defined]
        mention_count=chat.mention_count,  # type: ignore[attr-defined]
        notify=chat.my_notify,  # type: ignore[attr-defined]
    )


def member_payload(membership: Membership) -> dict[str, Any]:
    return {
        "user": user_payload(membership.user),
        "role": membership.role,
        "joined": api_time(membership.joined),
        "read_seq": membership.last_read_seq,
        "version": membership.version,
    }


def changes_payload(changes: "ChatChanges") -> dict[str, Any]:
    return {
        "chat_id": changes.chat_id,
        "version": changes.version,
        "chat": None if changes.chat is None else my_chat_payload(changes.chat),
        "messages": [message_payload(message) for message in changes.messages],
        "members": [member_payload(membership) for membership in changes.members],
        "removed_user_ids": changes.removed_user_ids,
        "has_more": changes.has_more,
    }


def user_changes_payload(changes: "UserChanges") -> dict[str, Any]:
    return {
        "user_version": changes.user_version,
        "chats": [my_chat_payload(chat) for chat in changes.chats],
        "removed_chat_ids": changes.removed_chat_ids,
    }
