"""Every write reaches the sockets of the chat's members as the contract's event, after commit."""

import pytest
from django.db import transaction

from chats.models import ChatType, Role
from chats.services.chats import chat_delete, chat_update
from chats.services.members import member_add, member_remove
from chats.services.messages import message_delete, message_edit, message_send, read_mark
from tests.factories import UserFactory, chat_factory
from tests.realtime.conftest import sync

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_rest_post_reaches_every_member_socket(connect, user, other_user, api_for):
    chat = await sync(chat_factory)(user, [other_user])
    alice, bob = await connect(user), await connect(other_user)

    response = await sync((await sync(api_for)(other_user)).post)(
        f"/api/chats/{chat.pk}/messages/", {"text": "hi all"}, format="json"
    )

    assert response.status_code == 201
    for socket in (alice, bob):
        event = await socket.next_of("message.new")
        assert event["chat_id"] == chat.pk
        assert event["message"] == response.json()


async def test_a_rolled_back_write_pushes_nothing(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    socket = await connect(other_user)

    def post_then_fail() -> None:
        with transaction.atomic():
            message_send(chat=chat, user=user, text="never")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await sync(post_then_fail)()

    assert await socket.silent()


async def test_edits_and_deletes_arrive_as_message_updated(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    message, _ = await sync(message_send)(chat=chat, user=user, text="typo")
    socket = await connect(other_user)

    await sync(message_edit)(message=message, actor=user, text="fixed")
    edited = await socket.next_of("message.updated")
    await sync(message_delete)(message=message, actor=user)
    deleted = await socket.next_of("message.updated")

    assert edited["message"]["text"] == "fixed"
    assert edited["message"]["edited"] is True
    assert deleted["message"]["deleted"] is True
    assert deleted["message"]["text"] == ""
    assert deleted["message"]["seq"] == 1


async def test_chat_updates_and_deletion_reach_the_members(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    chat_id = chat.pk
    socket = await connect(other_user)

    await sync(chat_update)(chat=chat, actor=user, title="Renamed")
    updated = await socket.next_of("chat.updated")
    await sync(chat_delete)(chat=chat, actor=user)
    deleted = await socket.next_of("chat.deleted")

    assert updated["chat"]["title"] == "Renamed"
    assert "my_role" not in updated["chat"]
    assert updated["version"] == updated["chat"]["version"] == 2
    assert deleted == {"type": "chat.deleted", "chat_id": chat_id, "user_version": 2}


async def test_read_markers_are_broadcast(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    await sync(message_send)(chat=chat, user=user, text="read me")
    socket = await connect(user)

    await sync(read_mark)(chat=chat, user=other_user, seq=1)

    event = await socket.next_of("read")
    assert event == {
        "type": "read",
        "chat_id": chat.pk,
        "user_id": other_user.pk,
        "seq": 1,
        "version": 3,  # created, posted, read
    }


async def test_member_changes_are_announced(connect, user, other_user):
    carol = await sync(UserFactory)(login="carol")
    chat = await sync(chat_factory)(user, [other_user])
    socket = await connect(other_user)

    await sync(member_add)(chat=chat, actor=user, user_id=carol.pk, role=Role.MEMBER)
    added = await socket.next_of("member.added")
    await sync(member_remove)(chat=chat, actor=user, user_id=carol.pk)
    removed = await socket.next_of("member.removed")

    assert added["member"]["user"]["id"] == carol.pk
    assert (added["version"], added["member"]["version"]) == (2, 2)
    assert removed == {
        "type": "member.removed",
        "chat_id": chat.pk,
        "user_id": carol.pk,
        "version": 3,
    }


async def test_a_new_chat_reaches_its_members_sockets(connect, user, other_user):
    socket = await connect(other_user)

    chat = await sync(chat_factory)(user, [other_user], chat_type=ChatType.GROUP, title="New")

    created = await socket.next_of("chat.created")
    assert created["chat"]["id"] == chat.pk
    assert created["chat"]["my_role"] == "member"


async def test_a_channel_layer_failure_does_not_fail_a_committed_post(
    user, other_user, api_for, monkeypatch
):
    chat = await sync(chat_factory)(user, [other_user])

    async def broken_group_send(*args, **kwargs):
        raise ConnectionError("redis is down")

    from channels.layers import get_channel_layer

    monkeypatch.setattr(get_channel_layer(), "group_send", broken_group_send)
    response = await sync((await sync(api_for)(user)).post)(
        f"/api/chats/{chat.pk}/messages/", {"text": "stored anyway"}, format="json"
    )

    assert response.status_code == 201
    history = await sync((await sync(api_for)(user)).get)(f"/api/chats/{chat.pk}/messages/")
    assert [m["text"] for m in history.json()["results"]] == ["stored anyway"]
