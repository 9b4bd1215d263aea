"""What the soak found, each pinned down in a small test of its own."""

import pytest
from channels.layers import get_channel_layer
from django.db import transaction

from chats.realtime import events
from chats.realtime.fanout import process_fanout
from chats.services.members import member_add, member_remove
from chats.services.messages import message_send
from tests.factories import chat_factory
from tests.realtime.conftest import sync

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_member_added_and_removed_before_their_socket_catches_up_keeps_the_socket(
    connect, user, other_user
):
    """Bob is added and removed again before his socket has read what he missed. He sees the
    chat come and go, nothing of it after, and his socket stays open (it used to crash with
    "No such chat" and close with 1011)."""
    chat = await sync(chat_factory)(user, [])
    await sync(message_send)(chat=chat, user=user, text="before bob")
    bob = await connect(other_user)

    def add_then_remove() -> None:
        # One transaction, so that both are committed before the socket hears of the first: its
        # catch-up read then surely finds bob out again.
        with transaction.atomic():
            member_add(chat=chat, actor=user, user_id=other_user.pk)
            member_remove(chat=chat, actor=user, user_id=other_user.pk)

    await sync(add_then_remove)()
    assert (await bob.expect("chat.created"))["chat"]["id"] == chat.pk
    assert (await bob.next_of("member.removed"))["user_id"] == other_user.pk
    await sync(message_send)(chat=chat, user=user, text="after bob left")

    assert await bob.silent(0.5)
    await bob.send_json_to({"type": "ping"})
    await bob.expect("pong")


async def test_a_join_event_that_arrives_after_the_leave_does_not_leak_the_chat(
    connect, user, other_user
):
    """Events from two server processes can cross: the subscribe of an add may reach a socket
    after the unsubscribe of the removal that followed. The socket finds it is no member and
    does not follow the chat; bob sees none of what is posted there."""
    chat = await sync(chat_factory)(user, [])
    bob = await connect(other_user)
    late_subscribe: events.ChannelEvent = {
        "group": events.user_group(other_user.pk),
        "frames": [events.encode_frame("chat.created", chat={"id": chat.pk})],
        "subscribe": chat.pk,
        "version": 0,
    }

    await get_channel_layer().group_send(events.user_group(other_user.pk), dict(late_subscribe))
    await bob.expect("chat.created")
    await sync(message_send)(chat=chat, user=user, text="not for bob")

    assert await bob.silent(0.5)


async def test_a_chat_joined_while_the_socket_said_hello_misses_nothing(connect, user, other_user):
    """Bob is added to a chat while his socket is building its `hello`: the hello already lists
    the chat, but the socket joins the chat's group only when the add's event arrives. What was
    posted in between reaches him when that event does, not at his next message or reconnect."""
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)
    fanout = process_fanout()
    (bob_socket,) = fanout.followers[events.chat_group(chat.pk)]
    # As if the socket had read the chat for its hello but did not yet follow it.
    fanout.unfollow(events.chat_group(chat.pk), bob_socket)
    await sync(message_send)(chat=chat, user=user, text="posted in between")
    assert await bob.silent(0.3)
    late_subscribe: events.ChannelEvent = {
        "group": events.user_group(other_user.pk),
        "frames": [events.encode_frame("chat.created", chat={"id": chat.pk})],
        "subscribe": chat.pk,
        "version": 0,
    }

    await get_channel_layer().group_send(events.user_group(other_user.pk), dict(late_subscribe))

    assert [m["text"] for m in await bob.next_messages()] == ["posted in between"]
