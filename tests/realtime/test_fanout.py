"""A server process receives each event once and hands it to every socket of its own that follows
the event's group: a chat, a user, a login session (chats/fanout.py)."""

import asyncio

import pytest

from chats import events, services
from chats.fanout import process_fanout
from tests.factories import UserFactory, chat_factory
from tests.realtime.conftest import sync

pytestmark = pytest.mark.django_db(transaction=True)


async def test_every_socket_of_every_member_gets_each_message_once(connect, user, other_user):
    carol = await sync(UserFactory)(login="carol")
    chat = await sync(chat_factory)(user, [other_user, carol])
    sockets = [await connect(user), await connect(other_user), await connect(other_user)]
    sockets.append(await connect(carol))

    await sync(services.message_send)(chat=chat, user=user, text="to all four sockets")

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
    real_connect = services.presence_connect

    def post_then_connect(**kwargs):
        services.message_send(chat=chat, user=user, text="while bob said hello")
        return real_connect(**kwargs)

    monkeypatch.setattr(services, "presence_connect", post_then_connect)
    bob = await connect(other_user)  # fails unless hello is the first frame

    assert bob.hello["chats"][0]["last_seq"] == 0
    frame = await bob.next_of("message.new")
    assert frame["message"]["text"] == "while bob said hello"
