"""Each socket gets one chat's events in version order (and so its messages in seq order), and a
client that syncs misses nothing."""

import asyncio

import pytest
from channels.layers import get_channel_layer

from chatproject import metrics
from chats.models import Message
from chats.realtime import events
from chats.services.messages import message_send
from tests.factories import chat_factory, messages_factory
from tests.realtime.conftest import sync

pytestmark = pytest.mark.django_db(transaction=True)


async def test_messages_arrive_in_seq_order(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)

    await sync(messages_factory)(chat, user, 30)

    seqs = [(await bob.next_of("message.new"))["message"]["seq"] for _ in range(30)]
    assert seqs == list(range(1, 31))


async def test_events_that_cross_on_the_layer_are_put_back_in_order(
    connect, user, other_user, monkeypatch
):
    """Two processes may publish version 3 before version 2: the socket holds 3 until 2 comes."""
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)
    held: list[tuple[str, events.ChannelEvent]] = []
    real_send = events._group_send

    def hold_first_message(group: str, event: events.ChannelEvent) -> None:
        if event.get("version") == 2:  # the first post; the chat's creation was version 1
            held.append((group, event))
        else:
            real_send(group, event)

    monkeypatch.setattr(events, "_group_send", hold_first_message)
    gaps_before = metrics.value("chat_ws_gap_fills_total")
    await sync(messages_factory)(chat, user, 2)
    await asyncio.sleep(0.1)
    assert await bob.silent(0.1)
    await sync(real_send)(*held[0])  # as the other process would, from its database thread

    seqs = [(await bob.next_of("message.new"))["message"]["seq"] for _ in range(2)]
    assert seqs == [1, 2]
    assert metrics.value("chat_ws_gap_fills_total") == gaps_before  # version 2 came live


async def test_a_version_lost_on_the_layer_is_read_from_the_database(
    connect, user, other_user, monkeypatch
):
    """The post of seq 2 never reaches the socket: after a moment it reads the changes since
    seq 1's version and sends them as a `changes` frame, and nothing comes twice."""
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)
    real_send = events._group_send

    def lose_the_second_post(group: str, event: events.ChannelEvent) -> None:
        if event.get("version") != 3:
            real_send(group, event)

    monkeypatch.setattr(events, "_group_send", lose_the_second_post)
    gaps_before = metrics.value("chat_ws_gap_fills_total")
    await sync(messages_factory)(chat, user, 3)

    seqs: list[int] = []
    while len(seqs) < 3:
        seqs += [message["seq"] for message in await bob.next_messages()]
    assert seqs == [1, 2, 3]
    assert await bob.silent()
    assert metrics.value("chat_ws_gap_fills_total") == gaps_before + 1


async def test_sync_returns_every_message_after_a_seq_in_batches(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    await sync(messages_factory)(chat, user, 250)
    bob = await connect(other_user)

    await bob.send_json_to({"type": "sync", "ref": "s", "chat_id": chat.pk, "after_seq": 20})
    batches = [await bob.expect("sync.batch") for _ in range(3)]

    seqs = [m["seq"] for batch in batches for m in batch["messages"]]
    assert seqs == list(range(21, 251))
    assert [b["has_more"] for b in batches] == [True, True, False]
    assert all(b["ref"] == "s" and b["chat_id"] == chat.pk for b in batches)


async def test_hello_tells_where_each_chat_stands(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    await sync(messages_factory)(chat, user, 4)

    bob = await connect(other_user)

    assert bob.hello["chats"] == [
        {"id": chat.pk, "last_seq": 4, "version": 5, "unread_count": 4, "mention_count": 0}
    ]


async def test_a_client_that_drops_and_syncs_has_every_message_exactly_once(
    connect, user, other_user
):
    """Bob drops mid-stream while Alice posts 500 messages; he reconnects and syncs from the last
    seq he saw, and ends with all 500, each once, in order."""
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)
    seen: dict[int, str] = {}

    poster = asyncio.ensure_future(sync(messages_factory)(chat, user, 500))
    while len(seen) < 120:
        message = (await bob.next_of("message.new", timeout=10))["message"]
        seen[message["seq"]] = message["text"]
    await bob.disconnect()
    await poster

    bob = await connect(other_user)
    last_seen = max(seen)
    assert bob.hello["chats"][0]["last_seq"] == 500
    after = last_seen
    while True:
        await bob.send_json_to({"type": "sync", "chat_id": chat.pk, "after_seq": after})
        batch = await bob.next_of("sync.batch")
        for message in batch["messages"]:
            assert message["seq"] not in seen, "a message arrived twice"
            seen[message["seq"]] = message["text"]
        if batch["messages"]:
            after = batch["messages"][-1]["seq"]
        if not batch["has_more"] and after == 500:
            break

    assert sorted(seen) == list(range(1, 501))
    assert seen[500] == "message 500"


async def test_idempotent_resend_after_a_drop_makes_no_duplicate(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    socket = await connect(user)
    frame = {"type": "message.send", "chat_id": chat.pk, "text": "retry me", "client_id": "r-1"}
    await socket.send_json_to(frame)
    await socket.next_of("ack")
    await socket.disconnect()

    socket = await connect(user)
    await socket.send_json_to(frame)
    ack = await socket.next_of("ack")

    assert ack["message"]["seq"] == 1
    assert await sync(Message.objects.filter(chat=chat).count)() == 1


async def test_posts_do_not_wait_for_a_slow_layer_and_their_events_keep_commit_order(
    connect, user, other_user, monkeypatch
):
    """Posting runs on the process's one database thread, which every socket's database work
    queues on: it hands its events to the server's loop and goes on (events.Publisher)."""
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)
    layer = get_channel_layer()
    real_group_send = layer.group_send
    layer_back = asyncio.Event()

    async def slow_group_send(group: str, message: dict) -> None:
        await layer_back.wait()
        await real_group_send(group, message)

    monkeypatch.setattr(layer, "group_send", slow_group_send)
    gaps_before = metrics.value("chat_ws_gap_fills_total")
    for n in range(1, 4):
        await sync(message_send)(chat=chat, user=user, text=f"m{n}")
    assert await bob.silent(0.1)
    layer_back.set()

    seqs = [(await bob.next_of("message.new"))["message"]["seq"] for _ in range(3)]
    assert seqs == [1, 2, 3]
    assert metrics.value("chat_ws_gap_fills_total") == gaps_before
