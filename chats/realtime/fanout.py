"""Each server process's fan-out of events to its own sockets.

Through Channels alone, every socket has a channel of its own and is a member of its groups: the
layer subscribes each socket's channel and groups in Redis, queues each event once per socket,
deserializes it once per socket and wakes each socket's consumer task, which then dispatches it.
On a busy chat that per-socket machinery, not the network, is what the server spends its CPU on,
and a burst of connects or disconnects queues on the layer's subscribe lock. Here the process
itself is the group member, with one channel of its own: one task receives each event once and
hands it to every local socket that follows the group, in turn, with no task switch per socket.
Sockets have no channel. bench/README.md has the figures.

A socket follows its user's group, its login session's and each of its chats' while it is
connected; the process joins a group while any of its sockets follows it and leaves when the last
one stops.
"""

import asyncio
import logging
import weakref
from collections.abc import Coroutine
from typing import Any, Protocol

from channels.layers import BaseChannelLayer, get_channel_layer

from chats.realtime.events import ChannelEvent

logger = logging.getLogger(__name__)

RECEIVE_RETRY_SECONDS = 1.0


class Follower(Protocol):
    async def deliver(self, event: ChannelEvent) -> None:
        """Must not wait (on the peer, Redis or the database): the process's other sockets wait
        behind it."""


class Fanout:
    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.followers: dict[str, set[Follower]] = {}
        self.groups_of: dict[Follower, set[str]] = {}
        self.channel_name = ""
        self.starting = asyncio.Lock()
        self.tasks: set[asyncio.Task[None]] = set()

    async def follow(self, group: str, follower: Follower) -> None:
        """Returns once the process receives the group's events: nothing published after that
        is missed."""
        channel_name = await self.channel()
        self.followers.setdefault(group, set()).add(follower)
        self.groups_of.setdefault(follower, set()).add(group)
        # On every follow, not only the first: it waits for a subscription still under way, and
        # refreshes the group's expiry on the core layer.
        await self.layer.group_add(group, channel_name)

    def unfollow(self, group: str, follower: Follower) -> None:
        self.groups_of.get(follower, set()).discard(group)
        followers = self.followers.get(group)
        if followers is None or follower not in followers:
            return
        followers.remove(follower)
        if not followers:
            del self.followers[group]
            self.in_background(self.leave_if_unfollowed(group))

    def unfollow_all(self, follower: Follower) -> None:
        for group in self.groups_of.pop(follower, set()):
            self.unfollow(group, follower)

    async def leave_if_unfollowed(self, group: str) -> None:
        # A socket may have followed the group again since: then the process stays in it.
        if group in self.followers:
            return
        try:
            await self.layer.group_discard(group, self.channel_name)
            # A socket followed it while the leave was under way, and on the core layer its join
            # may have reached Redis first: join again.
            if group in self.followers:
                await self.layer.group_add(group, self.channel_name)
        except Exception:  # Redis is down; the group's events then find no follower here
            logger.warning("fan-out: leaving group %s failed", group)

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
                logger.exception("fan-out: receiving from the channel layer failed")
                await asyncio.sleep(RECEIVE_RETRY_SECONDS)
                continue
            for follower in tuple(self.followers.get(event.get("group", ""), ())):
                try:
                    await follower.deliver(event)
                except Exception:
                    logger.exception("fan-out: a socket failed to take an event")

    def in_background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self.tasks.discard)


# One fan-out per channel layer: a process has one, and tests make a fresh layer for each test.
_fanouts: "weakref.WeakKeyDictionary[BaseChannelLayer, Fanout]" = weakref.WeakKeyDictionary()


def process_fanout() -> Fanout:
    layer = get_channel_layer()
    fanout = _fanouts.get(layer)
    if fanout is None:
        fanout = _fanouts[layer] = Fanout(layer)
    return fanout
