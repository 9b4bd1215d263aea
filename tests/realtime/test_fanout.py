"""A server process receives each event once and hands it to every socket of its own that follows
the event's group: a chat, a user, a login session (chats/realtime/fanout.py)."""

import asyncio

import pytest
from django.db import OperationalError

from chats.realtime import consumer, events
from chats.realtime.fanout import Fanout, Follower, process_fanout
from chats.realtime.subscriptions import Subscriptions
from chats.services.members import member_add
from chats.services.messages import message_send
from chats.services.presence import presence_connect
from tests.factories import UserFactory, chat_factory
from tests.realtime.conftest import sync

pytestmark = pytest.mark.django_db(transaction=True)


async def test_every_socket_of_every_member_gets_each_message_once(connect, user, other_user):
    carol = await sync(UserFactory)(login="carol")
    chat = await sync(chat_factory)(user, [other_user, carol])
    sockets = [await connect(user), await connect(other_user), await connect(other_user)]
    sockets.append(await connect(carol))

    await sync(message_send)(chat=chat, user=user, text="to all four sockets")

    for socket in sockets:
        frame = await socket.next_of("message.new")
        assert frame["message"]["text"] == "to all four sockets"
    assert len(process_fanout().followers[events.chat_group(chat.pk)]) == 4


async def test_the_process_stops_following_a_chat_when_its_last_socket_closes(
    connect, user, other_user
):
    chat = await sync(chat_factory)(user, [other_user])
    alice, bob = await connect(user), await connect(other_user)
    fanout, group = process_fanout(), events.chat_group(chat.pk)

    await alice.disconnect()
    assert len(fanout.followers[group]) == 1
    await bob.disconnect()

    assert fanout.followers == {}  # nor the users' groups
    assert fanout.groups_of == {}


async def test_a_socket_that_ends_without_a_disconnect_is_forgotten(connect, user, other_user):
    """However a consumer ends (here its task is cancelled, as when it crashes), the process's
    fan-out lets go of it: nothing is sent to it again and it is not kept in memory."""
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)
    fanout, group = process_fanout(), events.chat_group(chat.pk)
    assert len(fanout.followers[group]) == 1

    bob.future.cancel()
    with pytest.raises(asyncio.CancelledError):
        await bob.future

    assert fanout.followers == {}  # nor the users' groups
    assert fanout.groups_of == {}


async def test_a_socket_answers_a_frame_before_it_passes_on_the_events_that_came_meanwhile(
    connect, user, other_user
):
    """Alice's post reaches her own socket as message.new while her socket is still answering
    the frame; the ack comes first, as it did when each socket had its own queue."""
    chat = await sync(chat_factory)(user, [other_user])
    alice = await connect(user)

    await alice.send_json_to(
        {"type": "message.send", "ref": "r1", "chat_id": chat.pk, "text": "mine"}
    )

    assert (await alice.expect("ack"))["ref"] == "r1"
    assert (await alice.expect("message.new"))["message"]["text"] == "mine"


async def test_events_published_while_a_socket_builds_its_hello_follow_the_hello(
    connect, user, other_user, monkeypatch
):
    """The hello is read after the socket follows its chats, so a message posted in between
    reaches it live, and after the hello."""
    chat = await sync(chat_factory)(user, [other_user])
    real_connect = presence_connect

    def post_then_connect(**kwargs):
        message_send(chat=chat, user=user, text="while bob said hello")
        return real_connect(**kwargs)

    monkeypatch.setattr(consumer, "presence_connect", post_then_connect)
    bob = await connect(other_user)  # fails unless hello is the first frame

    assert bob.hello["chats"][0]["last_seq"] == 0
    frame = await bob.next_of("message.new")
    assert frame["message"]["text"] == "while bob said hello"


async def test_a_socket_catching_up_on_a_new_chat_holds_up_no_other_socket(
    connect, user, other_user, monkeypatch
):
    """Bob is added to a chat and his socket reads what he missed there; Carol's messages in
    another chat do not wait for that read (the process's fan-out waits for no socket)."""
    carol = await sync(UserFactory)(login="carol")
    chat_with_carol = await sync(chat_factory)(user, [carol])
    new_chat = await sync(chat_factory)(user, [])
    bob, carol_socket = await connect(other_user), await connect(carol)
    release = asyncio.Event()
    real_catch_up = Subscriptions.catch_up

    async def slow_catch_up(self: Subscriptions, chat_id: int) -> None:
        await release.wait()
        await real_catch_up(self, chat_id)

    monkeypatch.setattr(Subscriptions, "catch_up", slow_catch_up)
    await sync(member_add)(chat=new_chat, actor=user, user_id=other_user.pk)
    await bob.next_of("chat.created")
    await sync(message_send)(chat=chat_with_carol, user=user, text="meanwhile")

    assert (await carol_socket.next_of("message.new"))["message"]["text"] == "meanwhile"
    release.set()


async def test_a_socket_that_closes_while_it_follows_a_new_chat_is_not_left_behind(
    connect, user, other_user, monkeypatch
):
    new_chat = await sync(chat_factory)(user, [])
    bob = await connect(other_user)
    fanout, group = process_fanout(), events.chat_group(new_chat.pk)
    following, release = asyncio.Event(), asyncio.Event()
    real_follow = Fanout.follow

    async def slow_follow(self: Fanout, group_name: str, follower: Follower) -> None:
        if group_name == group:
            following.set()
            await release.wait()
        await real_follow(self, group_name, follower)

    monkeypatch.setattr(Fanout, "follow", slow_follow)
    await sync(member_add)(chat=new_chat, actor=user, user_id=other_user.pk)
    await asyncio.wait_for(following.wait(), 3)
    await bob.disconnect()
    release.set()
    await asyncio.sleep(0.1)

    assert fanout.followers == {}


async def test_a_socket_that_cannot_read_a_new_chat_closes_and_its_client_reconnects(
    connect, user, other_user, monkeypatch
):
    """The database fails while bob's socket reads what he missed in a chat he was added to:
    the socket closes with 4503 (try again later), and his client reconnects and syncs."""
    new_chat = await sync(chat_factory)(user, [])
    bob = await connect(other_user)

    async def failing_catch_up(self: Subscriptions, chat_id: int) -> None:
        raise OperationalError("the database is restarting")

    monkeypatch.setattr(Subscriptions, "catch_up", failing_catch_up)
    await sync(member_add)(chat=new_chat, actor=user, user_id=other_user.pk)

    while (output := await bob.receive_output(timeout=3))["type"] != "websocket.close":
        pass
    assert output["code"] == 4503
