"""The only module that touches the channel layer.

Services call these after their writes; each event is queued with `transaction.on_commit`, so a
rolled-back write publishes nothing. A frame is encoded to JSON once per event, not once per
recipient, and a channel-layer failure is logged, never raised: the write has committed, and
clients recover anything they missed with `sync` or `?after=`.

Sockets join `chat.<id>` for every chat of their user and `user.<id>` for their user. A user-group
event may carry `subscribe` or `unsubscribe` with a chat id, which tells the user's sockets to join
or leave that chat's group while connected.
"""

import json
import logging
from typing import TYPE_CHECKING, Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from rest_framework.utils.encoders import JSONEncoder

from chats.api.serializers import MemberSerializer, MessageSerializer, chat_payload

if TYPE_CHECKING:
    from chats.models import Chat, Membership, Message

logger = logging.getLogger(__name__)


class ChannelEvent(TypedDict, total=False):
    type: str  # the consumer handler: "chat.event" -> ChatConsumer.chat_event
    frame: str  # the JSON text sent to the client as is
    subscribe: int
    unsubscribe: int


def chat_group(chat_id: int) -> str:
    return f"chat.{chat_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def encode_frame(frame_type: str, **fields: Any) -> str:
    return json.dumps({"type": frame_type, **fields}, cls=JSONEncoder, separators=(",", ":"))


def _group_send(group: str, event: ChannelEvent) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, dict(event))
    except Exception:
        logger.exception("channel layer send to %s failed; clients will recover with sync", group)


def publish_on_commit(
    group: str,
    frame: str,
    *,
    subscribe: int | None = None,
    unsubscribe: int | None = None,
) -> None:
    event: ChannelEvent = {"type": "chat.event", "frame": frame}
    if subscribe is not None:
        event["subscribe"] = subscribe
    if unsubscribe is not None:
        event["unsubscribe"] = unsubscribe
    transaction.on_commit(lambda: _group_send(group, event))


def _to_chat(chat_id: int, /, frame_type: str, **fields: Any) -> None:
    publish_on_commit(chat_group(chat_id), encode_frame(frame_type, chat_id=chat_id, **fields))


def _to_user(
    recipient_id: int,
    /,
    frame_type: str,
    *,
    subscribe: int | None = None,
    unsubscribe: int | None = None,
    **fields: Any,
) -> None:
    frame = encode_frame(frame_type, **fields)
    publish_on_commit(user_group(recipient_id), frame, subscribe=subscribe, unsubscribe=unsubscribe)


# --- The events, one function each ---------------------------------------------------------------
# Payload shapes are the REST shapes, so a client parses an object the same way from either.


def message_new(message: "Message") -> None:

    _to_chat(message.chat_id, "message.new", message=MessageSerializer(message).data)


def message_updated(message: "Message") -> None:

    _to_chat(message.chat_id, "message.updated", message=MessageSerializer(message).data)


def chat_created(chat: "Chat", memberships: "list[Membership]") -> None:
    """Tell each member about the chat, with their own role, and subscribe their sockets to it."""

    for membership in memberships:
        payload = chat_payload(chat, my_role=membership.role, member_count=len(memberships))
        _to_user(membership.user_id, "chat.created", chat=payload, subscribe=chat.pk)


def chat_updated(chat: "Chat") -> None:
    """The shared fields of the chat; my_role and unread_count differ per member: left out."""

    _to_chat(chat.pk, "chat.updated", chat=chat_payload(chat))


def chat_deleted(chat_id: int, member_ids: list[int]) -> None:
    for user_id in member_ids:
        _to_user(user_id, "chat.deleted", chat_id=chat_id, unsubscribe=chat_id)


def member_added(membership: "Membership") -> None:
    """Tell the chat, then subscribe the new member's sockets and send them the chat."""

    chat = membership.chat
    _to_chat(chat.pk, "member.added", member=MemberSerializer(membership).data)
    payload = chat_payload(chat, my_role=membership.role, unread_count=chat.last_seq)
    _to_user(membership.user_id, "chat.created", chat=payload, subscribe=chat.pk)


def member_updated(membership: "Membership") -> None:

    _to_chat(membership.chat_id, "member.updated", member=MemberSerializer(membership).data)


def member_removed(chat_id: int, user_id: int) -> None:
    _to_chat(chat_id, "member.removed", user_id=user_id)
    _to_user(user_id, "member.removed", chat_id=chat_id, user_id=user_id, unsubscribe=chat_id)


def read(chat_id: int, user_id: int, seq: int) -> None:
    _to_chat(chat_id, "read", user_id=user_id, seq=seq)
