"""Catching up on a socket: `hello` says where each chat and the chat list stand, `sync` with
`since_version` answers with `changes` frames and `user.sync` with `user.changes`, as the REST
feeds do; every versioned event says its version."""

import pytest

from chats.models import Role
from chats.services.chats import chat_update
from chats.services.members import member_add, member_remove, member_role_set
from chats.services.messages import message_delete, message_edit, message_send
from tests.factories import UserFactory, chat_factory, messages_factory
from tests.realtime.conftest import sync
from tests.replica import Replica

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_socket_that_was_away_syncs_every_kind_of_change(
    connect, user, other_user, api_for
):
    carol = await sync(UserFactory)(login="carol")
    chat = await sync(chat_factory)(user, [other_user])
    messages = await sync(messages_factory)(chat, user, 3)
    bob = await connect(other_user)
    (state,) = bob.hello["chats"]
    await bob.disconnect()

    def while_bob_is_away() -> None:
        message_send(chat=chat, user=user, text="new")
        message_edit(message=messages[0], actor=user, text="edited")
        message_delete(message=messages[1], actor=user)
        member_add(chat=chat, actor=user, user_id=carol.pk)
        member_role_set(chat=chat, actor=user, user_id=carol.pk, role=Role.ADMIN)
        chat_update(chat=chat, actor=user, title="Renamed")

    await sync(while_bob_is_away)()
    bob = await connect(other_user)
    (now,) = bob.hello["chats"]
    assert now["version"] == state["version"] + 6

    await bob.send_json_to(
        {"type": "sync", "ref": "c", "chat_id": chat.pk, "since_version": state["version"]}
    )
    frame = await bob.expect("changes")

    api = await sync(api_for)(other_user)
    rest = await sync(api.get)(f"/api/chats/{chat.pk}/changes/", {"since": state["version"]})
    assert frame == {"type": "changes", "ref": "c", "chat_id": chat.pk, **rest.json()}
    assert frame["version"] == now["version"]
    assert {m["seq"]: m["text"] for m in frame["messages"]} == {1: "edited", 2: "", 4: "new"}
    assert frame["chat"]["title"] == "Renamed"
    assert {m["user"]["id"]: m["role"] for m in frame["members"]} == {
        user.pk: "owner",  # her read marker moved with her post
        carol.pk: "admin",
    }


async def test_sync_by_version_answers_in_pages(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    await sync(messages_factory)(chat, user, 25)
    bob = await connect(other_user)

    await bob.send_json_to({"type": "sync", "chat_id": chat.pk, "since_version": 1, "limit": 10})
    pages = [await bob.expect("changes") for _ in range(3)]

    replica = Replica(version=1)
    for page in pages:
        replica.apply(page)
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert sorted(m["seq"] for m in replica.messages.values()) == list(range(1, 26))
    assert replica.version == bob.hello["chats"][0]["version"]


async def test_user_sync_brings_the_chat_list_up_to_date(connect, user, other_user):
    kept = await sync(chat_factory)(user, [other_user], title="Kept")
    left = await sync(chat_factory)(user, [other_user], title="Left")
    bob = await connect(other_user)
    since = bob.hello["user_version"]
    await bob.disconnect()

    await sync(member_remove)(chat=left, actor=user, user_id=other_user.pk)
    joined = await sync(chat_factory)(user, [other_user], title="Joined")
    bob = await connect(other_user)
    await bob.send_json_to({"type": "user.sync", "ref": 7, "since_user_version": since})
    frame = await bob.expect("user.changes")

    assert frame["ref"] == 7
    assert frame["user_version"] == bob.hello["user_version"] == since + 2
    assert [c["id"] for c in frame["chats"]] == [joined.pk]
    assert frame["removed_chat_ids"] == [left.pk]
    assert [c["id"] for c in bob.hello["chats"]] == [kept.pk, joined.pk]


async def test_live_events_carry_versions_that_match_the_feed(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)
    start = bob.hello["chats"][0]["version"]

    await sync(messages_factory)(chat, user, 2)
    await sync(chat_update)(chat=chat, actor=user, title="Renamed")

    versions = [(await bob.next_of(kind))["version"] for kind in ("message.new",) * 2]
    versions.append((await bob.next_of("chat.updated"))["version"])
    assert versions == [start + 1, start + 2, start + 3]


async def test_the_removed_member_hears_it_once_with_their_user_version(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)

    await sync(member_remove)(chat=chat, actor=user, user_id=other_user.pk)

    removed = await bob.expect("member.removed")
    assert removed["user_version"] == bob.hello["user_version"] + 1
    assert "version" not in removed  # the chat's own copy, which he skips, carries that
    assert await bob.silent()


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"after_seq": 0, "since_version": 0},
        {"since_version": 0, "limit": 501},
        {"after_seq": 0, "limit": 101},
        {"since_version": -1},
    ],
)
async def test_a_bad_sync_frame_gets_an_error_and_the_socket_stays(
    connect, user, other_user, fields
):
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)

    await bob.send_json_to({"type": "sync", "ref": "s", "chat_id": chat.pk, **fields})

    error = await bob.expect("error")
    assert (error["ref"], error["code"]) == ("s", "invalid")
    await bob.send_json_to({"type": "ping"})
    await bob.expect("pong")


async def test_sync_of_a_chat_one_is_not_in_is_not_found(connect, user, other_user):
    chat = await sync(chat_factory)(user, [])
    bob = await connect(other_user)

    await bob.send_json_to({"type": "sync", "ref": 1, "chat_id": chat.pk, "since_version": 0})

    assert (await bob.expect("error"))["code"] == "not_found"
