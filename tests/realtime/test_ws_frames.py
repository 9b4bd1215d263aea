"""What a client may send on the socket, and what it gets back for good and bad frames."""

import json

import pytest
from django.test import override_settings

from chats.models import ChatType, Message
from tests.factories import chat_factory, messages_factory
from tests.realtime.conftest import sync

pytestmark = pytest.mark.django_db(transaction=True)


async def test_message_send_is_acked_with_the_stored_message(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    socket = await connect(user)

    await socket.send_json_to(
        {"type": "message.send", "ref": "m1", "chat_id": chat.pk, "text": " hi "}
    )

    ack = await socket.next_of("ack")
    assert ack["ref"] == "m1"
    assert ack["message"]["text"] == "hi"
    assert ack["message"]["seq"] == 1
    assert await sync(Message.objects.filter(chat=chat).count)() == 1


async def test_message_send_is_idempotent_by_client_id(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    socket = await connect(user)
    frame = {"type": "message.send", "chat_id": chat.pk, "text": "once", "client_id": "c-1"}

    await socket.send_json_to({**frame, "ref": 1})
    first = await socket.next_of("ack")
    await socket.send_json_to({**frame, "ref": 2})
    second = await socket.next_of("ack")

    assert first["message"] == second["message"]
    assert await sync(Message.objects.filter(chat=chat).count)() == 1


async def test_posting_where_one_may_not_gets_an_error_with_the_ref(connect, user, other_user):
    channel = await sync(chat_factory)(user, [other_user], chat_type=ChatType.CHANNEL, title="News")
    socket = await connect(other_user)

    await socket.send_json_to(
        {"type": "message.send", "ref": "x", "chat_id": channel.pk, "text": "no"}
    )

    error = await socket.next_of("error")
    assert error["ref"] == "x"
    assert error["code"] == "permission_denied"


async def test_a_chat_one_is_not_in_is_not_found(connect, user, other_user):
    chat = await sync(chat_factory)(user, [])
    socket = await connect(other_user)

    for frame in (
        {"type": "message.send", "chat_id": chat.pk, "text": "hi"},
        {"type": "sync", "chat_id": chat.pk, "after_seq": 0},
        {"type": "typing", "chat_id": chat.pk},
        {"type": "read", "chat_id": chat.pk, "seq": 0},
    ):
        await socket.send_json_to({**frame, "ref": frame["type"]})
        error = await socket.expect("error")
        assert error == {
            "type": "error",
            "ref": frame["type"],
            "code": "not_found",
            "detail": "No such chat.",
        }


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        ('{"type": "teleport", "ref": 7}', "unknown_type"),
        ('{"ref": 7}', "unknown_type"),
        ('{"type": "message.send", "ref": 7, "chat_id": "x", "text": "hi"}', "invalid"),
        ('{"type": "message.send", "ref": 7, "chat_id": 1, "text": "   "}', "invalid"),
        ('{"type": "message.send", "ref": 7, "chat_id": 1, "text": "hi", "seq": 5}', "invalid"),
        ('{"type": "sync", "ref": 7, "chat_id": 1, "after_seq": -1}', "invalid"),
        ('{"type": "sync", "ref": 7, "chat_id": 1, "after_seq": 0, "limit": 1000}', "invalid"),
        ('{"type": "read", "ref": 7, "chat_id": 1}', "invalid"),
        ('{"type": "ping", "ref": {"nested": true}}', "invalid"),
    ],
)
async def test_a_bad_frame_gets_an_error_and_the_socket_stays_open(connect, user, frame, code):
    socket = await connect(user)

    await socket.send_to(text_data=frame)

    error = await socket.expect("error")
    assert error["code"] == code
    if '"ref": 7' in frame:
        assert error["ref"] == 7
    await socket.send_json_to({"type": "ping"})
    await socket.expect("pong")


async def test_a_binary_frame_gets_an_error(connect, user):
    socket = await connect(user)

    await socket.send_to(bytes_data=b"\x00\x01")

    assert (await socket.expect("error"))["code"] == "bad_frame"


async def test_a_frame_over_64_kib_closes_with_1009(connect, user):
    socket = await connect(user)

    await socket.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * (64 * 1024)}))

    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 1009}


@override_settings(WS_FRAME_RATE=(1.0, 3.0))
async def test_a_flood_of_frames_is_throttled_but_not_dropped(connect, user):
    socket = await connect(user)

    for n in range(5):
        await socket.send_json_to({"type": "ping", "ref": n})
    answers = [await socket.receive_json_from() for _ in range(5)]

    assert [a["type"] for a in answers] == ["pong", "pong", "pong", "error", "error"]
    assert answers[-1]["code"] == "throttled"
    assert answers[-1]["ref"] == 4


async def test_message_sends_share_the_per_user_rest_limit(connect, user, other_user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "message_send": "2/min",
        },
    }
    chat = await sync(chat_factory)(user, [other_user])
    socket = await connect(user)

    for n in range(3):
        await socket.send_json_to(
            {"type": "message.send", "ref": n, "chat_id": chat.pk, "text": "x"}
        )
    answers = [await socket.next_of(kind) for kind in ("ack", "ack", "error")]

    assert answers[2]["code"] == "throttled"
    assert answers[2]["ref"] == 2


async def test_typing_reaches_the_others_but_not_the_typer(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)
    alice, alice_phone = await connect(user), await connect(user)
    for socket in (alice, alice_phone):
        await socket.drain()

    await alice.send_json_to({"type": "typing", "chat_id": chat.pk})

    assert await bob.next_of("typing") == {"type": "typing", "chat_id": chat.pk, "user_id": user.pk}
    assert await alice.silent()
    assert await alice_phone.silent()


async def test_typing_is_rate_limited_per_user_and_chat(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)
    alice = await connect(user)

    await alice.send_json_to({"type": "typing", "chat_id": chat.pk, "ref": 1})
    await alice.send_json_to({"type": "typing", "chat_id": chat.pk, "ref": 2})

    assert (await alice.expect("error"))["code"] == "throttled"
    await bob.next_of("typing")
    assert await bob.silent()


async def test_read_frames_move_the_marker_and_are_broadcast(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    alice, bob = await connect(user), await connect(other_user)
    await alice.send_json_to({"type": "message.send", "chat_id": chat.pk, "text": "hi"})
    await alice.next_of("ack")

    await bob.send_json_to({"type": "read", "chat_id": chat.pk, "seq": 1})

    event = await alice.next_of("read")
    assert event == {
        "type": "read",
        "chat_id": chat.pk,
        "user_id": other_user.pk,
        "seq": 1,
        "version": 3,
    }


async def test_ping_gets_pong(connect, user):
    socket = await connect(user)

    await socket.send_json_to({"type": "ping"})

    assert await socket.expect("pong") == {"type": "pong"}


@override_settings(WS_MESSAGE_RATE=(1.0, 2.0))
async def test_a_flood_of_message_sends_is_throttled_per_socket(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    socket = await connect(user)

    for n in range(3):
        await socket.send_json_to(
            {"type": "message.send", "ref": n, "chat_id": chat.pk, "text": "x"}
        )
    error = await socket.next_of("error")

    assert error["code"] == "throttled"
    assert error["ref"] == 2
    assert await sync(Message.objects.filter(chat=chat).count)() == 2


async def test_read_frames_spend_the_same_budget_as_the_rest_read(
    connect, user, other_user, api_for, throttle_rates
):
    """One budget per user for read markers, whichever way they come (security review 11)."""
    chat = await sync(chat_factory)(user, [other_user])
    await sync(messages_factory)(chat, user, 3)
    bob = await connect(other_user)
    api = await sync(api_for)(other_user)
    with throttle_rates(read="2/min"):
        response = await sync(api.post)(f"/api/chats/{chat.pk}/read/", {"seq": 1}, format="json")
        assert response.status_code == 204
        await bob.send_json_to({"type": "read", "chat_id": chat.pk, "seq": 2, "ref": "r2"})
        await bob.next_of("read")
        await bob.send_json_to({"type": "read", "chat_id": chat.pk, "seq": 3, "ref": "r3"})

        error = await bob.next_of("error")

    assert (error["code"], error["ref"]) == ("throttled", "r3")
    marker = await sync(lambda: chat.memberships.get(user=other_user).last_read_seq)()
    assert marker == 2
