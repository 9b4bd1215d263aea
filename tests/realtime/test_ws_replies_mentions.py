"""Replies, threads, mentions and notification levels on the socket.

`message.send` takes `reply_to_id` and `thread_root_id` under the same rules as the REST post; a
thread reply and its root's new count reach the members as one event at one version; `hello`
says each chat's `mention_count`; a member's new `notify` level reaches their own sockets as
`user.changes`; a socket that was down catches up on all of it.
"""

import pytest

from chats.services.members import member_add, member_remove
from chats.services.messages import message_delete, message_send
from chats.services.reactions import reaction_add
from tests.factories import UserFactory, chat_factory
from tests.realtime.conftest import sync

pytestmark = pytest.mark.django_db(transaction=True)


async def rest(api_for, user, method, path, *args, **kwargs):
    client = await sync(api_for)(user)
    return await sync(getattr(client, method))(path, *args, **kwargs)


async def as_seen_by(api_for, user, chat_id, message_id):
    """The message as the user's client shows it in the chat's history."""
    response = await rest(api_for, user, "get", f"/api/chats/{chat_id}/messages/")
    (found,) = [m for m in response.json()["results"] if m["id"] == message_id]
    return found


def send_frame(ref, chat_id, text, **reply):
    return {"type": "message.send", "ref": ref, "chat_id": chat_id, "text": text, **reply}


async def test_a_quoted_reply_sent_on_the_socket_is_acked_with_its_quote(
    connect, user, other_user, api_for
):
    chat = await sync(chat_factory)(user, [other_user])
    question, _ = await sync(message_send)(chat=chat, user=user, text="Lunch at noon?")
    alice, bob = await connect(user), await connect(other_user)

    await bob.send_json_to(send_frame("q", chat.pk, "@alice yes!", reply_to_id=question.pk))
    ack = await bob.next_of("ack")
    new = await alice.next_of("message.new")

    assert ack["ref"] == "q"
    assert ack["message"]["reply_to"] == {
        "id": question.pk,
        "seq": 1,
        "author": {"id": user.pk, "name": user.name},
        "text": "Lunch at noon?",
    }
    assert (ack["message"]["thread_root_id"], ack["message"]["mentions"]) == (None, [user.pk])
    assert new["message"] == ack["message"]
    assert new["message"] == await as_seen_by(api_for, user, chat.pk, ack["message"]["id"])


async def test_a_thread_reply_reaches_the_members_with_its_root_at_one_version(
    connect, user, other_user, api_for
):
    carol = await sync(UserFactory)(login="carol", name="Carol")
    chat = await sync(chat_factory)(user, [other_user, carol])
    root, _ = await sync(message_send)(chat=chat, user=user, text="Friday plans?")
    await sync(reaction_add)(message=root, user=other_user, emoji="🎉")
    alice, bob = await connect(user), await connect(other_user)
    await bob.drain()
    start = bob.hello["chats"][0]["version"]

    await alice.send_json_to(send_frame(1, chat.pk, "@bob pizza?", thread_root_id=root.pk))
    ack = await alice.next_of("ack")
    new = await bob.expect("message.new")
    updated = await bob.expect("message.updated")
    alices = await alice.next_of("message.updated")

    assert (ack["message"]["thread_root_id"], ack["message"]["seq"]) == (root.pk, 2)
    assert ack["message"]["mentions"] == [other_user.pk]
    assert new["message"] == ack["message"]
    assert new["version"] == updated["version"] == ack["message"]["version"] == start + 1
    assert updated["message"]["id"] == root.pk
    assert updated["message"]["version"] == start + 1
    assert updated["message"]["reply_count"] == 1
    assert updated["message"]["last_reply_at"] == new["message"]["created"]
    # Each sees the root with their own reactions: Bob put the one on it.
    assert updated["message"] == await as_seen_by(api_for, other_user, chat.pk, root.pk)
    assert alices["message"] == await as_seen_by(api_for, user, chat.pk, root.pk)
    assert updated["message"]["reactions"] == [{"emoji": "🎉", "count": 1, "me": True}]
    assert alices["message"]["reactions"] == [{"emoji": "🎉", "count": 1, "me": False}]
    assert await bob.silent()


async def test_thread_replies_from_two_sockets_arrive_in_version_order(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    root, _ = await sync(message_send)(chat=chat, user=user, text="Friday plans?")
    alice, bob = await connect(user), await connect(other_user)
    await alice.drain()
    start = alice.hello["chats"][0]["version"]

    await bob.send_json_to(send_frame(1, chat.pk, "pizza", thread_root_id=root.pk))
    await bob.next_of("ack")
    await alice.send_json_to(send_frame(2, chat.pk, "bowling", thread_root_id=root.pk))

    seen: list[dict] = []
    while len(seen) < 4:
        frame = await alice.receive_json_from(timeout=3)
        if frame["type"].startswith("message."):
            seen.append(frame)
    assert [(f["type"], f["message"]["seq"], f["version"]) for f in seen] == [
        ("message.new", 2, start + 1),
        ("message.updated", 1, start + 1),
        ("message.new", 3, start + 2),
        ("message.updated", 1, start + 2),
    ]
    assert [f["message"]["reply_count"] for f in seen[1::2]] == [1, 2]


@pytest.mark.parametrize(
    ("field", "what"),
    [
        ("thread_root_id", "a thread reply"),
        ("thread_root_id", "another chat's message"),
        ("thread_root_id", "an unknown id"),
        ("reply_to_id", "another chat's message"),
        ("reply_to_id", "an unknown id"),
        ("reply_to_id", "a tombstone"),
        ("reply_to_id", "not an id"),
    ],
)
async def test_a_bad_reply_on_the_socket_gets_an_error_and_the_socket_stays_open(
    connect, user, other_user, field, what
):
    chat = await sync(chat_factory)(user, [other_user])
    elsewhere = await sync(chat_factory)(user, [other_user], title="Elsewhere")
    root, _ = await sync(message_send)(chat=chat, user=user, text="Friday plans?")
    in_thread, _ = await sync(message_send)(
        chat=chat, user=user, text="pizza", thread_root_id=root.pk
    )
    foreign, _ = await sync(message_send)(chat=elsewhere, user=user, text="over there")
    gone, _ = await sync(message_send)(chat=chat, user=user, text="deleted")
    await sync(message_delete)(message=gone, actor=user)
    target = {
        "a thread reply": in_thread.pk,
        "another chat's message": foreign.pk,
        "an unknown id": 999_999,
        "a tombstone": gone.pk,
        "not an id": "abc",
    }[what]
    alice, bob = await connect(user), await connect(other_user)
    await bob.drain()

    await alice.send_json_to(send_frame("bad", chat.pk, "re", **{field: target}))
    error = await alice.next_of("error")

    assert (error["ref"], error["code"]) == ("bad", "invalid")
    assert field in error["detail"]
    await alice.send_json_to({"type": "ping"})
    assert (await alice.next_of("pong"))["type"] == "pong"
    assert await bob.silent()


async def test_deleting_a_quoted_message_updates_its_reply_live(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    question, _ = await sync(message_send)(chat=chat, user=user, text="my number: 555-0100")
    reply, _ = await sync(message_send)(
        chat=chat, user=other_user, text="saved", reply_to_id=question.pk
    )
    bob = await connect(other_user)
    start = bob.hello["chats"][0]["version"]

    await sync(message_delete)(message=question, actor=user)
    tombstone = await bob.next_of("message.updated")
    quoting = await bob.expect("message.updated")

    assert (tombstone["message"]["id"], tombstone["message"]["deleted"]) == (question.pk, True)
    assert quoting["message"]["id"] == reply.pk
    assert quoting["message"]["reply_to"] == {
        "id": question.pk,
        "seq": 1,
        "author": {"id": user.pk, "name": user.name},
        "text": "",
    }
    assert tombstone["version"] == quoting["version"] == quoting["message"]["version"] == start + 1


async def test_hello_carries_each_chat_s_mention_count(connect, user, other_user):
    carol = await sync(UserFactory)(login="carol", name="Carol")
    busy = await sync(chat_factory)(user, [other_user, carol], title="Busy")
    quiet = await sync(chat_factory)(user, [other_user], title="Quiet")
    root, _ = await sync(message_send)(chat=busy, user=user, text="@bob first")
    await sync(message_send)(chat=busy, user=carol, text="not for bob")
    await sync(message_send)(chat=busy, user=carol, text="@bob in a thread", thread_root_id=root.pk)
    await sync(message_send)(chat=quiet, user=user, text="@carol is not here")

    bob = await connect(other_user)
    counts = {c["id"]: (c["unread_count"], c["mention_count"]) for c in bob.hello["chats"]}
    await bob.send_json_to({"type": "read", "chat_id": busy.pk, "seq": 1})
    await bob.next_of("read")
    await bob.disconnect()
    again = await connect(other_user)

    assert counts == {busy.pk: (3, 2), quiet.pk: (1, 0)}
    assert {c["id"]: c["mention_count"] for c in again.hello["chats"]} == {busy.pk: 1, quiet.pk: 0}


async def test_a_member_added_back_hears_of_the_chat_with_the_mention_count_rest_shows(
    connect, user, other_user, api_for
):
    """Bob was mentioned, left, and is added back: his read marker starts again from nothing, so
    the chat's messages are unread to him and its mention of him is too. The chat his sockets
    are told about is the one the chat list shows him."""
    chat = await sync(chat_factory)(user, [other_user])
    await sync(message_send)(chat=chat, user=user, text="@bob see you monday")
    await sync(member_remove)(chat=chat, actor=other_user, user_id=other_user.pk)
    bob = await connect(other_user)

    await sync(member_add)(chat=chat, actor=user, user_id=other_user.pk)
    created = await bob.next_of("chat.created")

    detail = await rest(api_for, other_user, "get", f"/api/chats/{chat.pk}/")
    shown = detail.json()["chat"]
    assert (created["chat"]["id"], created["chat"]["unread_count"]) == (
        chat.pk,
        shown["unread_count"],
    )
    assert created["chat"]["mention_count"] == shown["mention_count"]


async def test_a_new_notify_level_reaches_my_own_sockets_as_user_changes(
    connect, user, other_user, api_for
):
    chat = await sync(chat_factory)(user, [other_user])
    alice = await connect(user)
    phone, laptop = await connect(other_user), await connect(other_user)
    await alice.drain()
    since = phone.hello["user_version"]

    response = await rest(
        api_for,
        other_user,
        "patch",
        f"/api/chats/{chat.pk}/settings/",
        {"notify": "mentions"},
        format="json",
    )
    frames = [await socket.next_of("user.changes") for socket in (phone, laptop)]

    assert response.status_code == 200
    assert response.json()["notify"] == "mentions"
    expected = {
        "type": "user.changes",
        "user_version": since + 1,
        "chats": [response.json()],
        "removed_chat_ids": [],
    }
    assert frames == [expected, expected]
    assert await alice.silent()
    await phone.send_json_to({"type": "user.sync", "ref": "u", "since_user_version": since})
    assert await phone.expect("user.changes") == {**expected, "ref": "u"}


async def test_a_socket_that_was_down_catches_up_on_replies_threads_and_mentions(
    connect, user, other_user, api_for
):
    carol = await sync(UserFactory)(login="carol", name="Carol")
    chat = await sync(chat_factory)(user, [other_user, carol])
    root, _ = await sync(message_send)(chat=chat, user=user, text="Friday plans?")
    question, _ = await sync(message_send)(chat=chat, user=carol, text="who has the keys?")
    reply, _ = await sync(message_send)(chat=chat, user=user, text="I do", reply_to_id=question.pk)
    bob = await connect(other_user)
    (state,) = bob.hello["chats"]
    await bob.disconnect()

    def while_bob_is_away() -> None:
        message_send(chat=chat, user=carol, text="@bob pizza?", thread_root_id=root.pk)
        message_delete(message=question, actor=carol)

    await sync(while_bob_is_away)()
    bob = await connect(other_user)
    (now,) = bob.hello["chats"]
    await bob.send_json_to(
        {"type": "sync", "ref": "s", "chat_id": chat.pk, "since_version": state["version"]}
    )
    frame = await bob.expect("changes")

    assert (now["version"], now["mention_count"]) == (state["version"] + 2, 1)
    by_id = {m["id"]: m for m in frame["messages"]}
    assert by_id[root.pk]["reply_count"] == 1
    assert by_id[question.pk]["deleted"] is True
    assert by_id[reply.pk]["reply_to"]["text"] == ""
    (in_thread,) = [m for m in frame["messages"] if m["thread_root_id"] == root.pk]
    assert in_thread["mentions"] == [other_user.pk]
    assert frame["chat"]["mention_count"] == 1
    feed = await rest(
        api_for, other_user, "get", f"/api/chats/{chat.pk}/changes/", {"since": state["version"]}
    )
    assert frame == {"type": "changes", "ref": "s", "chat_id": chat.pk, **feed.json()}
