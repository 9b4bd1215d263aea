"""Each server process's fan-out of chat events to its own sockets.

Through Channels alone, every socket of a chat is a member of the chat's group: the layer queues
each event once per socket, deserializes it once per socket and wakes each socket's consumer task,
which then dispatches it. On a busy chat that per-socket machinery, not the network, is what the
server spends its CPU on. Here the process itself is the group member, with one channel of its own:
one task receives each event once and hands it to every local socket that follows the chat, in
turn, with no task switch per socket. bench/README.md has the figures.

A socket follows a chat while it is connected and a member; the process joins the chat's group
while any of its sockets follows it, and leaves when the last one stops.
"""

import asyncio
import logging
import weakref
from collections.abc import Coroutine
from typing import Any, Protocol

from channels.layers import BaseChannelLayer, get_channel_layer

from chats.events import ChannelEvent, chat_group

logger = logging.getLogger(__name__)

RECEIVE_RETRY_SECONDS = 1.0


class Follower(Protocol):
    async def deliver(self, event: ChannelEvent) -> None:
        """Must not wait on the peer: the process's other sockets wait behind it."""


class ChatFanout:
    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.followers: dict[int, set[Follower]] = {}
        self.chats_of: dict[Follower, set[int]] = {}
        self.channel_name = ""
        self.starting = asyncio.Lock()
        self.tasks: set[asyncio.Task[None]] = set()

    async def follow(self, chat_id: int, follower: Follower) -> None:
        """Returns once the process receives the chat's events: nothing published after that
        is missed."""
        channel_name = await self.channel()
        self.followers.setdefault(chat_id, set()).add(follower)
        self.chats_of.setdefault(follower, set()).add(chat_id)
        # On every follow, not only the first: it waits for a subscription still under way, and
        # refreshes the group's expiry on the core layer.
        await self.layer.group_add(chat_group(chat_id), channel_name)

    def unfollow(self, chat_id: int, follower: Follower) -> None:
        self.chats_of.get(follower, set()).discard(chat_id)
        followers = self.followers.get(chat_id)
        if followers is None or follower not in followers:
            return
        followers.remove(follower)
        if not followers:
            del self.followers[chat_id]
            self.in_background(self.leave_group_if_unfollowed(chat_id))

    def unfollow_all(self, follower: Follower) -> None:
        for chat_id in self.chats_of.pop(follower, set()):
            self.unfollow(chat_id, follower)

    async def leave_group_if_unfollowed(self, chat_id: int) -> None:
        # A socket may have followed the chat again since: then the process stays in the group.
        # The check and the layer's own bookkeeping run in one step, so a follow after this
        # point re-joins after the leave.
        if chat_id in self.followers:
            return
        try:
            await self.layer.group_discard(chat_group(chat_id), self.channel_name)
        except Exception:  # Redis is down; the chat's events then find no follower here: dropped
            logger.warning("chat fan-out: leaving chat %s's group failed", chat_id)

    async def channel(self) -> str:
        async with self.starting:
            if not self.channel_name:
                self.channel_name = await self.layer.new_channel()
                self.in_background(self.receive())
        return self.channel_name

    async def receive(self) -> None:
        while True:
            try:
                event: ChannelEvent = await self.layer.receive(self.channel_name)
            except Exception:  # the core layer raises while Redis is down; sockets catch up
                logger.exception("chat fan-out: receiving from the channel layer failed")
                await asyncio.sleep(RECEIVE_RETRY_SECONDS)
                continue
            for follower in tuple(self.followers.get(event.get("chat_id", 0), ())):
                try:
                    await follower.deliver(event)
                except Exception:
                    logger.exception("chat fan-out: a socket failed to take an event")

    def in_background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self.tasks.discard)


# One fan-out per channel layer: a process has one, and tests make a fresh layer for each test.
_fanouts: "weakref.WeakKeyDictionary[BaseChannelLayer, ChatFanout]" = weakref.WeakKeyDictionary()


def chat_fanout() -> ChatFanout:
    layer = get_channel_layer()
    fanout = _fanouts.get(layer)
    if fanout is None:
        fanout = _fanouts[layer] = ChatFanout(layer)
    return fanout
