"""Joining and leaving while connected: events start and stop without a reconnect."""

import pytest

from accounts.models import User
from chats.models import Membership, Role
from chats.moderation.services import member_remove_by_moderator
from chats.services.chats import chat_update
from chats.services.members import member_add, member_remove
from chats.services.messages import message_send
from tests.factories import chat_factory
from tests.realtime.conftest import sync

pytestmark = pytest.mark.django_db(transaction=True)


async def test_an_added_member_gets_the_chats_events_without_reconnecting(
    connect, user, other_user
):
    chat = await sync(chat_factory)(user, [])
    await sync(message_send)(chat=chat, user=user, text="before bob")
    bob = await connect(other_user)

    await sync(member_add)(chat=chat, actor=user, user_id=other_user.pk, role=Role.MEMBER)
    created = await bob.expect("chat.created")
    await sync(message_send)(chat=chat, user=user, text="welcome")

    assert created["chat"]["id"] == chat.pk
    assert created["chat"]["last_seq"] == 1
    new = await bob.next_of("message.new")
    assert new["message"]["text"] == "welcome"
    assert new["message"]["seq"] == 2


async def test_a_removed_member_hears_nothing_more(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)

    await sync(member_remove)(chat=chat, actor=user, user_id=other_user.pk)
    removed = await bob.next_of("member.removed")
    await sync(message_send)(chat=chat, user=user, text="after bob left")
    await sync(chat_update)(chat=chat, actor=user, title="Secret plans")

    assert removed["user_id"] == other_user.pk
    assert await bob.silent(0.5)


async def test_leaving_stops_the_events_on_every_socket_of_the_leaver(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    laptop, phone = await connect(other_user), await connect(other_user)

    await sync(member_remove)(chat=chat, actor=other_user, user_id=other_user.pk)
    for socket in (laptop, phone):
        await socket.next_of("member.removed")
    await sync(message_send)(chat=chat, user=user, text="gone")

    assert await laptop.silent()
    assert await phone.silent()


async def test_a_message_posted_while_joining_is_not_lost(connect, user, other_user, monkeypatch):
    """The new member's socket subscribes when the join event arrives; anything posted in between
    is read from the database then, as a `changes` frame (or comes live, if the socket joined
    the chat's group in time)."""
    chat = await sync(chat_factory)(user, [])
    bob = await connect(other_user)

    def add_then_post() -> None:
        member_add(chat=chat, actor=user, user_id=other_user.pk, role=Role.MEMBER)
        message_send(chat=chat, user=user, text="quick hello")

    await sync(add_then_post)()

    await bob.expect("chat.created")
    messages = await bob.next_messages()
    assert [m["text"] for m in messages] == ["quick hello"]
    assert await bob.silent()


async def test_a_member_removed_in_the_admin_hears_nothing_more(connect, user, other_user):
    """Security review finding 9: a member removed in the admin kept receiving new messages. The
    admin's action (tests/moderation) calls this service; no one else is in the chat's way."""
    chat = await sync(chat_factory)(user, [other_user])
    root = await sync(User.objects.create_superuser)("root", "x" * 12, name="Root")
    bob = await connect(other_user)
    membership = await sync(Membership.objects.get)(chat=chat, user=other_user)

    await sync(member_remove_by_moderator)(membership=membership, moderator=root, reason="spam")
    removed = await bob.next_of("member.removed")
    await sync(message_send)(chat=chat, user=user, text="after bob was removed")

    assert removed["user_id"] == other_user.pk
    assert await bob.silent(0.5)
