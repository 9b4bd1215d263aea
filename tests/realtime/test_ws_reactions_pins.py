"""Reactions and pins on the socket: a `reaction` frame with the new count, a `pins` frame, and
messages whose reactions say `me` for the socket's own user; a socket that was down catches up
on them with `sync`."""

from urllib.parse import quote

import pytest

from chats.models import Message
from chats.moderation.services import message_remove, message_restore
from chats.services.messages import message_edit, message_send
from chats.services.pins import pin_set
from chats.services.reactions import reaction_add
from tests.factories import UserFactory, chat_factory
from tests.realtime.conftest import sync

pytestmark = pytest.mark.django_db(transaction=True)


def reaction_url(message, emoji):
    return f"/api/chats/{message.chat_id}/messages/{message.pk}/reactions/{quote(emoji)}/"


async def rest(api_for, user, method, path, *args, **kwargs):
    client = await sync(api_for)(user)
    return await sync(getattr(client, method))(path, *args, **kwargs)


async def as_seen_by(api_for, user, message):
    """The message as the user's client shows it in the chat's history."""
    response = await rest(api_for, user, "get", f"/api/chats/{message.chat_id}/messages/")
    (found,) = [m for m in response.json()["results"] if m["id"] == message.pk]
    return found


async def test_a_reaction_reaches_every_member_socket_with_its_count(
    connect, user, other_user, api_for
):
    chat = await sync(chat_factory)(user, [other_user])
    message, _ = await sync(message_send)(chat=chat, user=user, text="pizza tonight?")
    alice, bob = await connect(user), await connect(other_user)
    start = bob.hello["chats"][0]["version"]

    put = await rest(api_for, user, "put", reaction_url(message, "🍕"))
    assert put.status_code == 204
    first = [await socket.next_of("reaction") for socket in (alice, bob)]
    await rest(api_for, other_user, "put", reaction_url(message, "🍕"))
    second = await bob.next_of("reaction")
    await rest(api_for, user, "delete", reaction_url(message, "🍕"))
    third = await bob.next_of("reaction")

    expected = {
        "type": "reaction",
        "chat_id": chat.pk,
        "message_id": message.pk,
        "emoji": "🍕",
        "user_id": user.pk,
        "added": True,
        "count": 1,
        "version": start + 1,
    }
    assert first == [expected, expected]
    assert (second["user_id"], second["added"], second["count"], second["version"]) == (
        other_user.pk,
        True,
        2,
        start + 2,
    )
    assert (third["user_id"], third["added"], third["count"], third["version"]) == (
        user.pk,
        False,
        1,
        start + 3,
    )


async def test_a_repeated_reaction_sends_no_frame(connect, user, other_user, api_for):
    chat = await sync(chat_factory)(user, [other_user])
    message, _ = await sync(message_send)(chat=chat, user=user, text="again and again")
    bob = await connect(other_user)
    await rest(api_for, user, "put", reaction_url(message, "👍"))
    await bob.next_of("reaction")

    again = await rest(api_for, user, "put", reaction_url(message, "👍"))

    assert again.status_code == 204
    assert await bob.silent()


async def test_a_pin_reaches_every_member_socket(connect, user, other_user, api_for):
    chat = await sync(chat_factory)(user, [other_user])
    message, _ = await sync(message_send)(chat=chat, user=other_user, text="the address")
    alice, bob = await connect(user), await connect(other_user)
    start = bob.hello["chats"][0]["version"]

    pinned = await rest(api_for, user, "put", f"/api/chats/{chat.pk}/pins/{message.pk}/")
    events = [await socket.next_of("pins") for socket in (alice, bob)]
    await rest(api_for, user, "delete", f"/api/chats/{chat.pk}/pins/{message.pk}/")
    unpinned = await bob.next_of("pins")

    assert pinned.status_code == 204
    expected = {
        "type": "pins",
        "chat_id": chat.pk,
        "message_id": message.pk,
        "pinned": True,
        "version": start + 1,
    }
    assert events == [expected, expected]
    assert (unpinned["pinned"], unpinned["version"]) == (False, start + 2)


async def test_an_edited_message_shows_each_socket_its_own_reactions(
    connect, user, other_user, api_for
):
    """Ann (Alice) and Carol reacted to Bob's message; Bob did not. When he edits it, each of
    them gets it once, with `me` their own."""
    carol = await sync(UserFactory)(login="carol", name="Carol")
    chat = await sync(chat_factory)(user, [other_user, carol])
    message, _ = await sync(message_send)(chat=chat, user=other_user, text="metting at 10")
    await sync(reaction_add)(message=message, user=user, emoji="👍")
    await sync(reaction_add)(message=message, user=carol, emoji="👍")
    await sync(reaction_add)(message=message, user=carol, emoji="🎉")
    sockets = {who: await connect(who) for who in (user, other_user, carol)}

    await sync(message_edit)(message=message, actor=other_user, text="meeting at 10")

    received = {who: await socket.next_of("message.updated") for who, socket in sockets.items()}
    assert received[user]["message"]["reactions"] == [
        {"emoji": "👍", "count": 2, "me": True},
        {"emoji": "🎉", "count": 1, "me": False},
    ]
    assert received[other_user]["message"]["reactions"] == [
        {"emoji": "👍", "count": 2, "me": False},
        {"emoji": "🎉", "count": 1, "me": False},
    ]
    assert received[carol]["message"]["reactions"] == [
        {"emoji": "👍", "count": 2, "me": True},
        {"emoji": "🎉", "count": 1, "me": True},
    ]
    for who, frame in received.items():
        assert frame["message"]["text"] == "meeting at 10"
        assert frame["message"] == await as_seen_by(api_for, who, message)
    for socket in sockets.values():
        assert await socket.silent()


async def test_a_renamed_chat_shows_each_socket_its_own_reactions_on_the_last_message(
    connect, user, other_user, api_for
):
    chat = await sync(chat_factory)(user, [other_user], title="Team")
    message, _ = await sync(message_send)(chat=chat, user=other_user, text="lunch?")
    await sync(reaction_add)(message=message, user=user, emoji="👍")
    alice, bob = await connect(user), await connect(other_user)

    await rest(api_for, user, "patch", f"/api/chats/{chat.pk}/", {"title": "Lunch"}, format="json")

    shown = [(await socket.next_of("chat.updated"))["chat"] for socket in (alice, bob)]
    assert [(c["title"], c["last_message"]["reactions"]) for c in shown] == [
        ("Lunch", [{"emoji": "👍", "count": 1, "me": True}]),
        ("Lunch", [{"emoji": "👍", "count": 1, "me": False}]),
    ]
    for socket in (alice, bob):
        assert await socket.silent()


async def test_a_removal_hides_reactions_and_pin_and_a_restore_shows_each_their_own(
    connect, user, other_user, api_for
):
    root = await sync(UserFactory)(login="root", is_staff=True, is_superuser=True)
    chat = await sync(chat_factory)(user, [other_user])
    message, _ = await sync(message_send)(chat=chat, user=other_user, text="borderline")
    await sync(reaction_add)(message=message, user=user, emoji="😂")
    await sync(pin_set)(message=message, actor=user, pinned=True)
    alice, bob = await connect(user), await connect(other_user)

    await sync(message_remove)(message=message, moderator=root, reason="rude")
    removed = [(await socket.next_of("message.updated"))["message"] for socket in (alice, bob)]
    await sync(message_restore)(message=message, moderator=root)
    restored = [(await socket.next_of("message.updated"))["message"] for socket in (alice, bob)]

    for tombstone in removed:
        assert (tombstone["deleted"], tombstone["reactions"], tombstone["pinned"]) == (
            True,
            [],
            False,
        )
    assert [(m["deleted"], m["pinned"], m["reactions"]) for m in restored] == [
        (False, True, [{"emoji": "😂", "count": 1, "me": True}]),
        (False, True, [{"emoji": "😂", "count": 1, "me": False}]),
    ]


async def test_a_socket_that_was_down_catches_up_on_reactions_and_pins(
    connect, user, other_user, api_for
):
    carol = await sync(UserFactory)(login="carol", name="Carol")
    chat = await sync(chat_factory)(user, [other_user, carol])
    message, _ = await sync(message_send)(chat=chat, user=user, text="vote for friday")
    await sync(reaction_add)(message=message, user=other_user, emoji="🎉")
    bob = await connect(other_user)
    (state,) = bob.hello["chats"]
    await bob.disconnect()

    def while_bob_is_away() -> None:
        reaction_add(message=message, user=user, emoji="👍")
        reaction_add(message=message, user=carol, emoji="👍")
        pin_set(message=message, actor=user, pinned=True)

    await sync(while_bob_is_away)()
    bob = await connect(other_user)
    (now,) = bob.hello["chats"]
    assert now["version"] == state["version"] + 3

    await bob.send_json_to(
        {"type": "sync", "ref": "r", "chat_id": chat.pk, "since_version": state["version"]}
    )
    frame = await bob.expect("changes")

    (caught_up,) = frame["messages"]
    assert caught_up["id"] == message.pk
    assert caught_up["version"] == frame["version"] == now["version"]
    assert caught_up["reactions"] == [
        {"emoji": "🎉", "count": 1, "me": True},
        {"emoji": "👍", "count": 2, "me": False},
    ]
    assert caught_up["pinned"] is True
    feed = await rest(
        api_for, other_user, "get", f"/api/chats/{chat.pk}/changes/", {"since": state["version"]}
    )
    assert frame == {"type": "changes", "ref": "r", "chat_id": chat.pk, **feed.json()}


async def test_sync_by_seq_brings_messages_with_the_socket_user_s_reactions(
    connect, user, other_user
):
    chat = await sync(chat_factory)(user, [other_user])
    first, _ = await sync(message_send)(chat=chat, user=user, text="one")
    second, _ = await sync(message_send)(chat=chat, user=user, text="two")
    await sync(reaction_add)(message=second, user=other_user, emoji="👍")
    await sync(reaction_add)(message=second, user=user, emoji="👍")
    bob = await connect(other_user)

    await bob.send_json_to({"type": "sync", "chat_id": chat.pk, "after_seq": 0})
    batch = await bob.next_of("sync.batch")

    assert [(m["seq"], m["reactions"]) for m in batch["messages"]] == [
        (1, []),
        (2, [{"emoji": "👍", "count": 2, "me": True}]),
    ]


async def test_a_repeated_send_is_acked_with_the_original_and_its_reactions(
    connect, user, other_user
):
    chat = await sync(chat_factory)(user, [other_user])
    alice = await connect(user)
    frame = {"type": "message.send", "chat_id": chat.pk, "text": "once", "client_id": "c-1"}
    await alice.send_json_to({**frame, "ref": 1})
    first = await alice.next_of("ack")
    message = await sync(Message.objects.get)(pk=first["message"]["id"])
    await sync(reaction_add)(message=message, user=user, emoji="🎉")

    await alice.send_json_to({**frame, "ref": 2})
    second = await alice.next_of("ack")

    assert second["message"]["id"] == first["message"]["id"]
    assert second["message"]["reactions"] == [{"emoji": "🎉", "count": 1, "me": True}]
