"""The only module that publishes to the channel layer.

Services call these after their writes; each event is queued with `transaction.on_commit`, so a
rolled-back write publishes nothing. A frame is encoded to JSON once per event, not once per
recipient, and a channel-layer failure is logged, never raised: the write has committed, and
clients recover anything they missed with `sync` or `?after=`.

Events go to `chat.<id>` (the chat's members), `user.<id>` (every socket of a user) and
`session.<sid>` (the sockets of one login session); each server process receives the groups its
sockets follow (chats/realtime/fanout.py). A user-group event may carry `subscribe` or
`unsubscribe` with a chat id, which tells the user's sockets to follow or stop following that
chat while connected (chats/realtime/subscriptions.py); `close` closes the sockets it reaches.
"""

import asyncio
import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from chatproject import metrics
from chatproject.overrides import asgiref
from chatproject.renderers import json_bytes
from chats.payloads import chat_payload, member_payload, message_payload, my_chat_payload
from chats.realtime.protocol import CLOSE_REVOKED

if TYPE_CHECKING:
    from chats.models import Chat, Membership, Message
    from chats.selectors import ChatSummary, Emojis, Reactors

logger = logging.getLogger(__name__)


class ChannelEvent(TypedDict, total=False):
    group: str  # the group it was sent to: the process's fan-out hands it to that group's sockets
    frames: list[str]  # the JSON texts sent to the client as they are, in order
    chat_id: int  # on chat events: sockets that have left the chat drop them
    version: int  # on a chat's versioned events: sockets send each chat's events in version
    # order; on subscribe: the version the live stream starts after
    sender: int  # a user whose own sockets skip the event (typing, presence)
    subscribe: int  # a chat id: the user's sockets join its group
    unsubscribe: int  # a chat id: the user's sockets leave its group
    close: int  # a close code: the sockets close (revoked sessions)
    personal: dict[str, list[str]]  # a user id's own frames, instead of `frames` (reactions' `me`)


def chat_group(chat_id: int) -> str:
    return f"chat.{chat_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_group(session_id: str) -> str:
    """The sockets opened with access tokens of one login session (one refresh-token family)."""
    return f"session.{session_id}"


def encode_frame(frame_type: str, **fields: Any) -> str:
    return json_bytes({"type": frame_type, **fields}).decode()


# The event loop of this process's sockets, when a thread that is none of its own (the embedded
# Celery worker) must publish on it: the in-memory layer lives on one loop.
_socket_loop: asyncio.AbstractEventLoop | None = None

# Chat events waiting to be published on a server's loop (see Publisher), beyond which they are
# dropped.
PUBLISH_QUEUE_MAX = 10_000


def publish_from_threads_on(loop: asyncio.AbstractEventLoop) -> None:
    global _socket_loop
    _socket_loop = loop


def _send_failed(group: str) -> None:
    metrics.increment("chat_channel_layer_send_failures_total")
    logger.exception("channel layer send to %s failed; clients will recover with sync", group)


async def _send(group: str, event: ChannelEvent) -> None:
    try:
        layer = get_channel_layer()
        if layer is not None:
            await layer.group_send(group, {**event, "group": group})
    except Exception:
        _send_failed(group)


class Publisher:
    """Publishes on a server's event loop, in the order they were committed, the events of writes
    made on its sync threads. The committing thread goes on at once: it is the process's one
    database thread, which every socket's and request's database work queues on, and waiting there
    for the loop and Redis took 41% of a post's time on it (bench/README.md, optimisations)."""

    def __init__(self) -> None:
        self.queue: deque[tuple[str, ChannelEvent]] = deque()
        self.draining: asyncio.Task[None] | None = None

    def enqueue(self, group: str, event: ChannelEvent) -> None:
        """On the loop. While Redis stalls the queue is bounded by dropping chat events, which
        clients recover with sync; an event that closes or (un)subscribes sockets is kept, as no
        sync would bring it."""
        if len(self.queue) >= PUBLISH_QUEUE_MAX and "chat_id" in event:
            metrics.increment("chat_channel_layer_send_failures_total")
            logger.error("publish queue full; event to %s dropped", group)
            return
        self.queue.append((group, event))
        if self.draining is None or self.draining.done():
            self.draining = asyncio.get_running_loop().create_task(self.drain())

    async def drain(self) -> None:
        while self.queue:
            await _send(*self.queue.popleft())


# One per loop, or two threads' events could cross. The loop holds no reference to its publisher,
# so a test's loop and its publisher go together.
_publishers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Publisher]" = (
    weakref.WeakKeyDictionary()
)
_publishers_lock = threading.Lock()


def _publish_on(loop: asyncio.AbstractEventLoop, group: str, event: ChannelEvent) -> None:
    with _publishers_lock:
        publisher = _publishers.get(loop)
        if publisher is None:
            publisher = _publishers[loop] = Publisher()
    loop.call_soon_threadsafe(publisher.enqueue, group, event)


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The running server loop to publish on: the one this sync thread works for, or else the
    sockets' loop that the embedded Celery worker's threads publish on."""
    loop = asgiref.recorded_event_loop() or _socket_loop
    return loop if loop is not None and loop.is_running() else None


def _group_send(group: str, event: ChannelEvent) -> None:
    """Never raises: the write has committed."""
    try:
        loop = _server_loop()
        if loop is None:
            # A Celery worker, a command, a stopped server: on a loop of this thread's own. By
            # default asgiref would hand it to the loop it recorded, which never runs it once
            # stopped, and the thread would wait for ever (a server that will not stop).
            async_to_sync(_send, force_new_loop=True)(group, event)
        else:
            _publish_on(loop, group, event)
    except Exception:  # the loop closed in between (the server is stopping)
        _send_failed(group)


def _publish_on_commit(group: str, event: ChannelEvent) -> None:
    transaction.on_commit(lambda: _group_send(group, event))


def _to_chat(
    chat_id: int,
    /,
    *frames: tuple[str, dict[str, Any]],
    version: int | None = None,
    sender: int | None = None,
    personal: "dict[int, list[tuple[str, dict[str, Any]]]] | None" = None,
) -> None:
    """One commit's frames about a chat, as one event: a socket sends them together, in the
    chat's version order. `version` is the chat's after the commit, none for passing signals;
    `sender` is a user whose sockets skip the event; `personal` gives users frames of their own
    instead."""
    extra = {} if version is None else {"version": version}

    def encoded(own_frames: tuple[tuple[str, dict[str, Any]], ...]) -> list[str]:
        return [
            encode_frame(frame_type, chat_id=chat_id, **fields, **extra)
            for frame_type, fields in own_frames
        ]

    event: ChannelEvent = {"frames": encoded(frames), "chat_id": chat_id}
    if version is not None:
        event["version"] = version
    if sender is not None:
        event["sender"] = sender
    if personal:
        event["personal"] = {str(user_id): encoded(tuple(own)) for user_id, own in personal.items()}
    _publish_on_commit(chat_group(chat_id), event)


def _to_user(
    recipient_id: int,
    /,
    frame_type: str,
    *,
    user_version: int,
    subscribe: int | None = None,
    since_version: int = 0,
    unsubscribe: int | None = None,
    **fields: Any,
) -> None:
    event: ChannelEvent = {
        "frames": [encode_frame(frame_type, **fields, user_version=user_version)]
    }
    if subscribe is not None:
        event["subscribe"] = subscribe
        event["version"] = since_version
    if unsubscribe is not None:
        event["unsubscribe"] = unsubscribe
    _publish_on_commit(user_group(recipient_id), event)


# --- The events, one function each ---------------------------------------------------------------
# Payloads are the REST answers' (chats/payloads.py), so a client parses an object the same way
# from either. A write that changes several things in a chat publishes them as one event, since
# they share one version.


def _reactions_seen_by(viewer_id: int | None, emojis: "Emojis") -> list[dict[str, Any]]:
    return [
        {"emoji": emoji, "count": len(users), "me": viewer_id in users} for emoji, users in emojis
    ]


def _to_chat_seen_by_reactors(
    chat_id: int,
    version: int,
    reactors: "Reactors",
    frames_for: "Callable[[int | None], list[tuple[str, dict[str, Any]]]]",
) -> None:
    """Frames whose payloads show reactions, which say `me` for their recipient: whoever
    reacted to one of the messages gets frames of their own, everyone else the frames for
    nobody (`me` false)."""
    viewers = {user_id for emojis in reactors.values() for _, users in emojis for user_id in users}
    personal = {viewer_id: frames_for(viewer_id) for viewer_id in viewers}
    _to_chat(chat_id, *frames_for(None), version=version, personal=personal)


def messages_changed(
    chat_id: int,
    version: int,
    *,
    new: "Message | None" = None,
    updated: "Sequence[Message]" = (),
    reactors: "Reactors | None" = None,
) -> None:
    """One commit's messages, the one posted and those changed (an edit, a tombstone, a thread's
    root whose count moved, the replies quoting a deleted message), as one event. A post also
    moved its author's read marker at the same version: clients infer it."""
    reactors = reactors or {}

    def frames_for(viewer_id: int | None) -> list[tuple[str, dict[str, Any]]]:
        frames = [] if new is None else [("message.new", {"message": message_payload(new)})]
        for message in updated:
            reactions = _reactions_seen_by(viewer_id, reactors.get(message.pk, []))
            payload = message_payload(message, reactions=reactions)
            frames.append(("message.updated", {"message": payload}))
        return frames

    _to_chat_seen_by_reactors(chat_id, version, reactors, frames_for)


def reaction(
    *,
    chat_id: int,
    message_id: int,
    emoji: str,
    user_id: int,
    added: bool,
    count: int,
    version: int,
) -> None:
    fields = {
        "message_id": message_id,
        "emoji": emoji,
        "user_id": user_id,
        "added": added,
        "count": count,
    }
    _to_chat(chat_id, ("reaction", fields), version=version)


def pins(*, chat_id: int, message_id: int, pinned: bool, version: int) -> None:
    _to_chat(chat_id, ("pins", {"message_id": message_id, "pinned": pinned}), version=version)


def chat_settings_changed(
    user_id: int, chat_payload_for_user: dict[str, Any], user_version: int
) -> None:
    """The user's own settings for a chat: their sockets get it as their user feed would."""
    _to_user(
        user_id,
        "user.changes",
        user_version=user_version,
        chats=[chat_payload_for_user],
        removed_chat_ids=[],
    )


def chat_created(
    chat: "Chat", memberships: "list[Membership]", user_versions: dict[int, int]
) -> None:
    """Tell each member about the new chat, with their own role, and subscribe their sockets."""
    for membership in memberships:
        payload = chat_payload(
            chat, member_count=len(memberships), last_message=None, my_role=membership.role
        )
        _to_user(
            membership.user_id,
            "chat.created",
            user_version=user_versions[membership.user_id],
            chat=payload,
            subscribe=chat.pk,
            since_version=chat.version,
        )


def chat_updated(chat: "Chat", summary: "ChatSummary") -> None:
    """The shared fields of the chat; my_role and unread_count differ per member: left out."""
    last_message = summary.last_message

    def frames_for(viewer_id: int | None) -> list[tuple[str, dict[str, Any]]]:
        payload = chat_payload(
            chat,
            member_count=summary.member_count,
            last_message=last_message,
            last_message_reactions=_reactions_seen_by(viewer_id, summary.last_message_reactors),
        )
        return [("chat.updated", {"chat": payload})]

    reactors = {} if last_message is None else {last_message.pk: summary.last_message_reactors}
    _to_chat_seen_by_reactors(chat.pk, chat.version, reactors, frames_for)


def chat_deleted(chat_id: int, user_versions: dict[int, int]) -> None:
    for user_id, user_version in user_versions.items():
        _to_user(
            user_id, "chat.deleted", user_version=user_version, chat_id=chat_id, unsubscribe=chat_id
        )


def member_added(membership: "Membership", chat_for_member: "Chat", user_version: int) -> None:
    """Tell the chat, then subscribe the new member's sockets and send them the chat as they see
    it (read with the selectors' per-member fields: a member added back finds their unread and
    mention counts as REST shows them)."""
    chat = membership.chat
    _to_chat(
        chat.pk, ("member.added", {"member": member_payload(membership)}), version=chat.version
    )
    payload = my_chat_payload(chat_for_member)
    _to_user(
        membership.user_id,
        "chat.created",
        user_version=user_version,
        chat=payload,
        subscribe=chat.pk,
        since_version=chat.version,
    )


def members_updated(chat_id: int, memberships: "list[Membership]", version: int) -> None:
    """New roles: one frame per member, one event."""
    _to_chat(
        chat_id,
        *[("member.updated", {"member": member_payload(m)}) for m in memberships],
        version=version,
    )


def member_removed(
    chat_id: int,
    user_id: int,
    *,
    version: int,
    user_version: int,
    heir: "Membership | None" = None,
) -> None:
    """The chat hears it (with the new owner's role, when the owner left); the removed user hears
    it once, on their own group, and unsubscribes."""
    frames: list[tuple[str, dict[str, Any]]] = [("member.removed", {"user_id": user_id})]
    if heir is not None:
        frames.append(("member.updated", {"member": member_payload(heir)}))
    _to_chat(chat_id, *frames, version=version, sender=user_id)
    _to_user(
        user_id,
        "member.removed",
        user_version=user_version,
        chat_id=chat_id,
        user_id=user_id,
        unsubscribe=chat_id,
    )


def read(chat_id: int, user_id: int, seq: int, version: int) -> None:
    _to_chat(chat_id, ("read", {"user_id": user_id, "seq": seq}), version=version)


def sessions_close(user_id: int) -> None:
    """Close every socket of the user, on every process (password change, deactivation)."""
    _publish_on_commit(user_group(user_id), {"close": CLOSE_REVOKED})


def session_close(session_id: str) -> None:
    """Close the sockets of one login session (logout)."""
    _publish_on_commit(session_group(session_id), {"close": CLOSE_REVOKED})


def presence(user_id: int, status: str, chat_ids: list[int]) -> None:
    """To everyone who shares a chat with the user, once per shared chat; not to the user."""
    frame = encode_frame("presence", user_id=user_id, status=status)
    for chat_id in chat_ids:
        _publish_on_commit(
            chat_group(chat_id), {"frames": [frame], "chat_id": chat_id, "sender": user_id}
        )


async def typing(*, chat_id: int, user_id: int) -> None:
    """Typing is no write: it goes out at once, to every member but the typer."""
    event: ChannelEvent = {
        "frames": [encode_frame("typing", chat_id=chat_id, user_id=user_id)],
        "chat_id": chat_id,
        "sender": user_id,
    }
    await _send(chat_group(chat_id), event)
