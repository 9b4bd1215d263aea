"""Malformed frames, at the JSON level and at the WebSocket level.

A frame the server can read but not use gets an `error` frame and the socket stays open; a frame
that breaks the WebSocket protocol itself (invalid UTF-8 in a text frame, an unmasked frame, a
reserved bit...) gets the close code RFC 6455 gives for it; a frame over 64 KiB gets 1009. In
every case the server stays up and answers the next user.
"""

import json
import random
import struct
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.factories import chat_factory, messages_factory
from tests.hostile.conftest import FRAME_MAX, RawSocket, client, ws_frame
from tests.realtime.conftest import access_token, sync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

DEEP = 20_000  # far past Python's recursion limit, well within 64 KiB


def random_text(rng: random.Random, size: int) -> str:
    """Any code points but the surrogates, which no UTF-8 text can carry."""
    return "".join(
        chr(rng.choice([rng.randrange(0x20, 0x7F), rng.randrange(0, 0xD800), 0x10FFFF]))
        for _ in range(size)
    )


def garbage(seed: int = 20260101) -> list[str]:
    """Text frames that are not a JSON object: noise, truncations, other JSON values."""
    rng = random.Random(seed)  # noqa: S311 - seeded noise, repeatable
    noise = [random_text(rng, rng.randrange(1, 3000)) for _ in range(30)]
    noise += [bytes(rng.randrange(256) for _ in range(500)).decode("latin-1") for _ in range(10)]
    valid = json.dumps({"type": "ping", "ref": 1})
    truncated = [valid[:cut] for cut in range(1, len(valid))]
    values = ["", " ", "[]", "[1, 2]", '"ping"', "42", "-0", "1e400", "NaN", "null", "true"]
    values += ["\ufeff{}", "{'type': 'ping'}", '{"type": "ping",}', "{" * 100, "}"]
    values += ["1" + "0" * 5000]  # over Python's 4300-digit limit for int()
    nested = ["[" * DEEP + "]" * DEEP, '{"a":' * (DEEP // 2) + "1" + "}" * (DEEP // 2)]
    nested += ["[" * (FRAME_MAX // 2) + "]" * (FRAME_MAX // 2)]  # 64 KiB exactly
    nested += ['{"type": "ping", "ref": ' + "[" * DEEP + "]" * DEEP + "}"]
    return noise + truncated + values + nested


UNKNOWN_TYPES: list[dict[str, Any]] = [
    {},
    {"ref": 7},
    {"type": None},
    {"type": 7},
    {"type": ["ping"]},
    {"type": {"type": "ping"}},
    {"type": "PING"},
    {"type": " ping"},
    {"type": "ping\u0000"},
    {"type": "hello"},
    {"type": "ack"},
    {"type": "on_ping"},
    {"type": "__class__"},
    {"type": "message_send"},
    {"type": "x" * 60_000},
]

HUGE = int("9" * 4000)

INVALID_FIELDS: list[dict[str, Any]] = [
    {"type": "ping", "ref": [1]},
    {"type": "ping", "ref": 1.5},
    {"type": "ping", "ref": "r" * 65},
    {"type": "ping", "ref": HUGE},
    {"type": "ping", "ref": float("nan")},
    {"type": "ping", "ref": float("inf")},
    {"type": "ping", "ref": float("-inf")},
    {"type": "ping", "ref": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]},
    {"type": "ping", "extra": 1},
    {"type": "ping", **{f"k{n}": n for n in range(3000)}},
    {"type": "sync", "chat_id": float("nan"), "after_seq": 0},
    {"type": "sync", "chat_id": float("inf"), "after_seq": 0},
    {"type": "sync", "chat_id": 1, "after_seq": float("-inf")},
    {"type": "sync", "chat_id": 1.5, "after_seq": 0},
    {"type": "sync", "chat_id": 2**63, "after_seq": 0},
    {"type": "sync", "chat_id": HUGE, "after_seq": 0},
    {"type": "sync", "chat_id": -HUGE, "after_seq": 0},
    {"type": "sync", "chat_id": 1, "after_seq": 0, "limit": float("nan")},
    {"type": "sync", "chat_id": 1, "after_seq": 0, "limit": 10**100},
    {"type": "sync", "chat_id": {"$gt": 0}, "after_seq": 0},
    {"type": "sync", "chat_id": "1 OR 1=1", "after_seq": 0},
    {"type": "read", "chat_id": True, "seq": 1},
    {"type": "read", "chat_id": 1, "seq": None},
    {"type": "typing", "chat_id": [1]},
    {"type": "typing"},
    {"type": "auth"},
    {"type": "auth", "token": ["a", "b"]},
    {"type": "auth", "token": "t" * 5000},
    {"type": "message.send", "chat_id": 1, "text": float("nan")},
    {"type": "message.send", "chat_id": 1, "text": 12345},
    {"type": "message.send", "chat_id": 1, "text": ["hi"]},
    {"type": "message.send", "chat_id": 1, "text": "nul \u0000 inside"},
    {"type": "message.send", "chat_id": 1, "text": "lone \ud800 surrogate"},
    {"type": "message.send", "chat_id": 1, "text": "x" * 10_001},
    {"type": "message.send", "chat_id": 1, "text": "hi", "client_id": {"a": 1}},
    {"type": "message.send", "chat_id": -1, "text": "hi"},
    {"type": "message.send", "chat_id": 1, "text": "hi", "user_id": 1},
]


async def test_garbage_gets_a_bad_frame_error_and_the_socket_stays_open(server, user):
    """Whatever noise a client sends as text, it gets `bad_frame` back, frame after frame."""
    async with client(server, user) as alice:
        for text in garbage():
            await alice.ws.send(text)

            error = await alice.receive()
            assert (error["type"], error["code"]) == ("error", "bad_frame"), text[:100]

        await alice.ping()


async def test_an_unknown_type_gets_an_unknown_type_error(server, user):
    async with client(server, user) as alice:
        for frame in UNKNOWN_TYPES:
            await alice.send(frame)

            error = await alice.receive()
            assert (error["type"], error["code"]) == ("error", "unknown_type"), frame

        await alice.ping()


async def test_wrong_field_types_and_impossible_numbers_get_an_invalid_error(server, user):
    """NaN, Infinity, numbers of thousands of digits, lists and objects where a number or a
    string belongs, characters the database cannot store: `invalid`, with the frame's ref."""
    async with client(server, user) as alice:
        for n, frame in enumerate(INVALID_FIELDS):
            ref = frame.get("ref", f"f{n}")
            await alice.send({"ref": ref, **frame})

            error = await alice.receive()
            assert (error["type"], error["code"]) == ("error", "invalid"), frame
            if isinstance(ref, str) and len(ref) <= 64:
                assert error["ref"] == ref

        await alice.ping()


async def test_binary_frames_get_a_bad_frame_error(server, user):
    rng = random.Random(7)  # noqa: S311
    async with client(server, user) as alice:
        for size in (1, 100, 4096, FRAME_MAX):
            await alice.ws.send(rng.randbytes(size))

            error = await alice.receive()
            assert (error["type"], error["code"]) == ("error", "bad_frame")

        await alice.ping()


async def test_a_frame_of_64_kib_is_read_and_one_byte_more_closes_with_1009(server, user):
    frame = {"type": "ping", "ref": "big", "pad": ""}
    frame["pad"] = "x" * (FRAME_MAX - len(json.dumps(frame)))
    async with client(server, user) as alice:
        await alice.send(frame)  # 64 KiB exactly: read, and refused for its unknown field
        assert (await alice.receive())["code"] == "invalid"

        frame["pad"] += "x"
        await alice.send(frame)

        with pytest.raises(ConnectionClosed):
            await alice.receive()
        assert alice.ws.close_code == 1009


async def test_the_servers_own_frames_may_be_over_64_kib(server, user, other_user):
    """The limit is on what clients send: a sync.batch of a hundred long messages (about 1 MB)
    arrives whole."""
    chat = await sync(chat_factory)(user, [other_user])
    await sync(messages_factory)(chat, other_user, 100, text="y" * 9_000)
    async with client(server, user) as alice:
        await alice.send({"type": "sync", "ref": "s", "chat_id": chat.pk, "after_seq": 0})

        batch = await alice.next_of("sync.batch")

        assert [m["seq"] for m in batch["messages"]] == list(range(1, 101))
        await alice.ping()


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="100k-nested-arrays"),
        pytest.param(["x" * 4096] * 17, id="fragments-adding-up-to-68-kib"),
        pytest.param(b"\x00" * (FRAME_MAX + 1), id="binary"),
    ],
)
async def test_every_message_over_64_kib_closes_with_1009(server, user, message):
    async with client(server, user) as alice:
        await alice.ws.send(message)

        with pytest.raises(ConnectionClosed):
            await alice.receive()
        assert alice.ws.close_code == 1009

    async with client(server, user) as again:
        await again.ping()


async def test_a_frame_that_claims_to_be_huge_closes_with_1009_before_its_payload(server, user):
    """A header that announces 2**62 bytes is refused at once: the server neither waits for nor
    makes room for the payload."""
    raw = RawSocket(server)
    raw.handshake(await access_token(user))
    assert raw.read_json()["type"] == "hello"

    raw.send(bytes([0x81, 0x80 | 127]) + struct.pack("!Q", 2**62) + b"mask")

    assert raw.close_code() == 1009
    raw.close()


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"\xff\xfe", id="invalid-byte"),
        pytest.param(b'"\xed\xa0\x80"', id="encoded-surrogate"),
        pytest.param(b"\xc0\xaf", id="overlong"),
        pytest.param(b'{"type": "ping", "ref": "\xe2\x82"}', id="truncated-sequence"),
    ],
)
async def test_invalid_utf8_in_a_text_frame_closes_with_1007(server, user, payload):
    """RFC 6455 makes the server fail the connection: the frame is not text at all."""
    async with client(server, user) as alice:
        await alice.ws.send(payload, text=True)

        with pytest.raises(ConnectionClosed):
            await alice.receive()
        assert alice.ws.close_code == 1007


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(ws_frame(b'{"type": "ping"}', masked=False), id="unmasked"),
        pytest.param(bytes([0xC1]) + ws_frame(b"{}")[1:], id="reserved-bit"),
        pytest.param(ws_frame(b"{}", opcode=0x3), id="unknown-opcode"),
        pytest.param(ws_frame(b"x", opcode=0x0), id="continuation-of-nothing"),
        pytest.param(ws_frame(b"p", opcode=0x9, fin=False), id="fragmented-ping"),
        pytest.param(ws_frame(b"p" * 126, opcode=0x9), id="ping-over-125-bytes"),
        pytest.param(ws_frame(b"{", fin=False) + ws_frame(b"}"), id="new-message-mid-message"),
    ],
)
async def test_a_frame_that_breaks_the_websocket_protocol_closes_with_1002(server, user, wire):
    raw = RawSocket(server)
    raw.handshake(await access_token(user))
    assert raw.read_json()["type"] == "hello"

    raw.send(wire)

    assert raw.close_code() == 1002
    raw.close()
    async with client(server, user) as alice:
        await alice.ping()
