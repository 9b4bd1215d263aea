"""The WebSocket authorization matrix: every client frame, for every kind of caller.

Sockets run in process on the full ASGI app (origin check, auth middleware, consumer), as in
tests/realtime. The same cast as the REST matrix (world.py): each frame aims at the Harbour chat,
where Tom has posted, and the callers are the same seven columns.

Outcomes, from API.md and docs/websocket.md:
- a frame type (`ack`, `sync.batch`, `pong`, `hello`): the caller gets it, with the frame's ref;
- `typing`: the caller gets nothing and Tom's socket gets `typing` from the caller;
- `read`: the caller's read marker moves and the chat (the caller included) gets `read`;
- `open`: nothing comes back and the socket stays open;
- an error code (`unauthenticated`, `not_found`, `permission_denied`): an `error` frame with the
  ref, and the socket stays open;
- a number: the socket closes with that code (4401: no valid token, before it joins anything).

The anonymous socket connects without credentials and sends the frame first; for `auth (own
token)` it has none to send but a forged one. The deactivated caller offers the token it got
before deactivation: with the bearer subprotocol (so no frame of theirs is ever read) or, for
the auth rows, in an auth frame. Everyone else connects with their own token. Whatever is refused
leaves the database as it was.
"""

import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.layers import channel_layers, get_channel_layer

from chatproject.asgi import application
from chats.models import ChatType, Membership, Message
from tests.authz.world import Cell, World, params, snapshot, table, world_build
from tests.realtime.conftest import HOST, ORIGIN, Socket, sync

# The consumer reads and writes the database from its own thread, so the world must be committed
# and the test may hold no transaction of its own: on SQLite an open transaction in the test's
# thread locks every table against the consumer's.
pytestmark = pytest.mark.django_db(transaction=True)


_world_numbers = itertools.count()

# `reply` and `thread` are `message.send` frames that quote Tom's message and answer in its thread.
WS_GROUP = table(
    "ws group",
    """
  # frame        anon            deact non-member member     admin      owner      staff
  message.send | unauthenticated 4401  not_found  ack        ack        ack        not_found
  reply        | unauthenticated 4401  not_found  ack        ack        ack        not_found
  thread       | unauthenticated 4401  not_found  ack        ack        ack        not_found
  sync         | unauthenticated 4401  not_found  sync.batch sync.batch sync.batch not_found
  typing       | unauthenticated 4401  not_found  typing     typing     typing     not_found
  read         | unauthenticated 4401  not_found  read       read       read       not_found
    """,
    ChatType.GROUP,
)

# In a channel only the owner and admins post; everyone in it reads, syncs and types.
WS_CHANNEL = table(
    "ws channel",
    """
  # frame        anon            deact non-member member            admin      owner      staff
  message.send | unauthenticated 4401  not_found  permission_denied ack        ack        not_found
  reply        | unauthenticated 4401  not_found  permission_denied ack        ack        not_found
  thread       | unauthenticated 4401  not_found  permission_denied ack        ack        not_found
  sync         | unauthenticated 4401  not_found  sync.batch        sync.batch sync.batch not_found
  typing       | unauthenticated 4401  not_found  typing            typing     typing     not_found
  read         | unauthenticated 4401  not_found  read              read       read       not_found
    """,
    ChatType.CHANNEL,
)

WS_DIRECT = table(
    "ws direct",
    """
  # frame        anon            deact non-member member     admin owner      staff
  message.send | unauthenticated 4401  not_found  ack        -     ack        not_found
  reply        | unauthenticated 4401  not_found  ack        -     ack        not_found
  thread       | unauthenticated 4401  not_found  ack        -     ack        not_found
  sync         | unauthenticated 4401  not_found  sync.batch -     sync.batch not_found
  typing       | unauthenticated 4401  not_found  typing     -     typing     not_found
  read         | unauthenticated 4401  not_found  read       -     read       not_found
    """,
    ChatType.DIRECT,
)

# Frames that name no chat. A socket belongs to one user: another user's token, even a valid
# one, closes it; on a socket that is not signed in yet, it simply signs in as that user.
WS_ANY = table(
    "ws",
    """
  # frame                       anon            deact non-member member admin owner staff
  ping                        | unauthenticated 4401  pong       pong   pong  pong  pong
  auth (own token)            | 4401            4401  open       open   open  open  open
  auth (another user's token) | hello           -     4401       4401   4401  4401  4401
    """,
)

ERROR_CODES = {"unauthenticated", "not_found", "permission_denied"}
CHANGES_THE_DATABASE = {"ack", "read", "hello"}


def frame_for(request: str, world: World) -> dict[str, Any]:
    chat_id = world.chat.pk
    frames: dict[str, dict[str, Any]] = {
        "message.send": {"type": "message.send", "chat_id": chat_id, "text": "hello"},
        "reply": {
            "type": "message.send",
            "chat_id": chat_id,
            "text": "hello",
            "reply_to_id": world.message.pk,
        },
        "thread": {
            "type": "message.send",
            "chat_id": chat_id,
            "text": "hello",
            "thread_root_id": world.message.pk,
        },
        "sync": {"type": "sync", "chat_id": chat_id, "after_seq": 0},
        "typing": {"type": "typing", "chat_id": chat_id},
        "read": {"type": "read", "chat_id": chat_id, "seq": world.message.seq},
        "ping": {"type": "ping"},
        "auth (own token)": {"type": "auth", "token": world.access or "not-a-token"},
        "auth (another user's token)": {"type": "auth", "token": world.target_access},
    }
    return {**frames[request], "ref": "r"}


@pytest.fixture(autouse=True)
async def _fresh_channel_layer() -> AsyncIterator[None]:
    """A layer per test, as in tests/realtime: nothing queued by one cell reaches the next."""
    channel_layers.backends.clear()
    yield
    layer = get_channel_layer()
    if layer is not None and hasattr(layer, "flush"):
        await layer.flush()
    channel_layers.backends.clear()


@pytest.fixture
async def sockets() -> AsyncIterator[list[Socket]]:
    opened: list[Socket] = []
    yield opened
    for socket in opened:
        await socket.disconnect()


async def next_frame(socket: Socket) -> dict[str, Any]:
    """The next output that answers the caller: a frame other than presence, or the close."""
    while True:
        output = await socket.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            return {"type": "close", "code": output.get("code")}
        frame: dict[str, Any] = json.loads(output["text"])
        if frame["type"] != "presence":
            return frame


async def quiet(socket: Socket, timeout: float = 0.3) -> bool:
    """Nothing but presence (of those who just connected) comes within the timeout."""
    while not await socket.receive_nothing(timeout=timeout):
        frame = await socket.receive_json_from()
        if frame["type"] != "presence":
            print("unexpected frame:", frame)
            return False
    return True


async def still_open(socket: Socket, signed_in: bool) -> None:
    """The socket answers a ping (before auth, with an error that asks for auth)."""
    await socket.send_json_to({"type": "ping"})
    answer = await next_frame(socket)
    assert answer["type"] == ("pong" if signed_in else "error"), answer


@pytest.mark.parametrize("cell", params(WS_GROUP + WS_CHANNEL + WS_DIRECT + WS_ANY))
async def test_each_caller_gets_what_the_protocol_promises(
    cell: Cell, sockets: list[Socket]
) -> None:
    """The caller of the column sends the frame of the row and gets the outcome in the cell."""
    world = await sync(world_build)(cell.chat_type, cell.column, f"_{next(_world_numbers)}")
    caller_id = world.caller.pk if world.caller else None
    expected = cell.expected
    observer = None
    if cell.request == "typing":  # Tom watches for the caller's typing
        observer = Socket(
            application,
            "/ws/",
            headers=[ORIGIN, HOST],
            subprotocols=["bearer", world.target_access],
        )
        sockets.append(observer)
        assert (await observer.connect())[0]
        assert (await next_frame(observer))["type"] == "hello"

    bearer = world.access is not None and not (
        cell.column == "deactivated" and cell.request.startswith("auth")
    )
    options = {"subprotocols": ["bearer", world.access]} if bearer else {}
    socket = Socket(application, "/ws/", headers=[ORIGIN, HOST], **options)
    sockets.append(socket)
    before = await sync(snapshot)(world)
    assert (await socket.connect())[0]
    if bearer:
        first = await next_frame(socket)
        if cell.column == "deactivated":
            # The stale token is refused at once: no frame of the caller's is ever read.
            assert first == {"type": "close", "code": int(expected)}
            assert await sync(snapshot)(world) == before
            return
        assert first["type"] == "hello"
        before = await sync(snapshot)(world)

    await socket.send_json_to(frame_for(cell.request, world))

    if expected.isdigit():
        assert await next_frame(socket) == {"type": "close", "code": int(expected)}
    elif expected in ERROR_CODES:
        error = await next_frame(socket)
        assert (error["type"], error["code"], error.get("ref")) == ("error", expected, "r"), error
        await still_open(socket, bearer)
    elif expected == "open":
        # Frames are answered in order: a pong first means the auth frame got no answer.
        await still_open(socket, bearer)
    elif expected == "typing":
        assert observer is not None
        typing = await observer.next_of("typing")
        assert (typing["chat_id"], typing["user_id"]) == (world.chat.pk, caller_id)
        await still_open(socket, bearer)  # no error for the caller...
        assert await quiet(socket, timeout=0.1)  # ...and not their own typing either
    else:
        frame = await next_frame(socket)
        assert frame["type"] == expected, frame
        check_answer(expected, frame, world)
    if observer is not None and expected != "typing":
        assert await quiet(observer)  # nothing reached Tom
    if expected not in CHANGES_THE_DATABASE:
        assert await sync(snapshot)(world) == before
    else:
        await sync(check_written)(expected, world)


def check_answer(expected: str, frame: dict[str, Any], world: World) -> None:
    caller_id = world.caller.pk if world.caller else None
    if expected == "ack":
        assert frame["ref"] == "r"
        assert (frame["message"]["chat_id"], frame["message"]["user_id"]) == (
            world.chat.pk,
            caller_id,
        )
    elif expected == "sync.batch":
        assert (frame["ref"], frame["chat_id"], frame["has_more"]) == ("r", world.chat.pk, False)
        assert [message["id"] for message in frame["messages"]] == [world.message.pk]
    elif expected == "read":
        assert (frame["chat_id"], frame["user_id"], frame["seq"]) == (
            world.chat.pk,
            caller_id,
            world.message.seq,
        )
    elif expected == "hello":
        assert frame["user"]["id"] == world.target.pk
    else:
        assert expected == "pong"


def check_written(expected: str, world: World) -> None:
    if expected == "ack":
        assert Message.objects.filter(chat=world.chat, user=world.caller, text="hello").exists()
    elif expected == "read":
        marker = Membership.objects.get(chat=world.chat, user=world.caller).last_read_seq
        assert marker == world.message.seq
