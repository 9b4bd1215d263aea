"""What one socket follows, and how each event that its process's fan-out brings reaches it.

The one owner of a socket's subscriptions: following or leaving a chat changes the process's
fan-out (which groups the process is in) and the socket's stream for that chat (its version
order) together, here and nowhere else. An event takes one path: the fan-out hands it to
`deliver`, which holds it while the socket is busy, orders a chat's events by version, and sends
it.

A socket is busy while it answers a frame or builds its hello (`holding_events`), as if it had
a queue of its own: events wait and follow the answer, so an ack comes before one's own
`message.new` and nothing comes before `hello`.
"""

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any, Protocol

from rest_framework import exceptions

from chatproject import metrics
from chats.realtime import events
from chats.realtime.events import ChannelEvent
from chats.realtime.fanout import Fanout
from chats.realtime.protocol import CLOSE_UNAVAILABLE
from chats.realtime.streams import ChatStream
from chats.selectors import CHANGES_LIMIT_DEFAULT

logger = logging.getLogger(__name__)

# How long a socket waits for a missing version before it reads the changes from the database.
GAP_WAIT_SECONDS = 0.5


class Socket(Protocol):
    channel_name: str

    async def send_shared(self, frame: str) -> None: ...

    async def close(self, code: int | None = None, reason: str | None = None) -> None: ...

    async def read_changes(
        self, chat_id: int, since: int, limit: int, **fields: Any
    ) -> list[tuple[int, str]]:
        """The chat's changes after a version, in the pages that one `sync` answers (each as
        GET .../changes/ answers), if the socket's user may read the chat (else NotFound): each
        page's version and its `changes` frame."""
        ...


class Subscriptions:
    def __init__(self, socket: Socket, fanout: Fanout) -> None:
        self.socket = socket
        self.fanout = fanout
        self.user_id: int | None = None
        self.streams: dict[int, ChatStream] = {}
        self.gap_timers: dict[int, asyncio.TimerHandle] = {}
        # One thing at a time: a frame being answered, or an event that waits on Redis or the
        # database (a chat to follow). Events that the fan-out brings meanwhile wait in `held`.
        self.turn = asyncio.Lock()
        self.held: deque[ChannelEvent] = deque()
        self.held_task: asyncio.Task[None] | None = None
        self.ended = False

    # --- Following ------------------------------------------------------------------------------

    async def follow_user(self, user_id: int, session_id: str | None) -> None:
        """Follow the user's and the login session's groups first: a chat joined while the
        socket reads its chats then still comes, as a subscribe event."""
        self.user_id = user_id
        await self.fanout.follow(events.user_group(user_id), self)
        if session_id:
            await self.fanout.follow(events.session_group(session_id), self)

    async def follow_chats(self, chat_ids: list[int]) -> None:
        """Returns once the process receives every event of the chats: nothing published after
        that is missed."""
        for chat_id in chat_ids:
            await self.fanout.follow(events.chat_group(chat_id), self)

    def start_streams(self, states: Iterable[dict[str, int]], followed: Iterable[int]) -> None:
        """Each chat's stream starts at the version that hello reports; a chat followed but gone
        from the states (left between the two reads) is let go."""
        for state in states:
            self.streams[state["id"]] = ChatStream(last_version=state["version"])
        for chat_id in set(followed) - set(self.streams):
            self.fanout.unfollow(events.chat_group(chat_id), self)

    def follows_chat(self, chat_id: int) -> bool:
        return chat_id in self.streams

    def unfollow_chat(self, chat_id: int) -> None:
        self.fanout.unfollow(events.chat_group(chat_id), self)
        self.streams.pop(chat_id, None)
        self._cancel_gap_timer(chat_id)

    def end(self) -> None:
        """However the socket ended: the fan-out must not hold on to it."""
        self.ended = True
        self.fanout.unfollow_all(self)
        if self.held_task is not None:
            self.held_task.cancel()
        for timer in self.gap_timers.values():
            timer.cancel()
        self.gap_timers.clear()

    # --- Events from the fan-out ----------------------------------------------------------------

    async def deliver(self, event: ChannelEvent) -> None:
        """The fan-out's call, which must not wait: the process's other sockets wait behind it.
        A chat to follow waits on Redis and the database, so it is taken in a task of its own."""
        if self.ended:
            return
        if self.turn.locked():
            self.held.append(event)
        elif "subscribe" in event:
            await self.turn.acquire()  # free, so taken at once
            self.held.append(event)
            self.held_task = asyncio.ensure_future(self._take_held_then_release())
        else:
            await self._take(event)

    @asynccontextmanager
    async def holding_events(self) -> AsyncIterator[None]:
        """While the socket answers a frame: events wait, and follow the answer."""
        async with self.turn:
            yield
            while self.held:
                await self._take(self.held.popleft())

    async def _take_held_then_release(self) -> None:
        try:
            while self.held:
                await self._take(self.held.popleft())
        except Exception:  # Redis or the database failed: the client reconnects and syncs
            logger.exception("socket %s: could not take an event", self.socket.channel_name)
            await self.socket.close(code=CLOSE_UNAVAILABLE)
        finally:
            self.turn.release()

    async def _take(self, event: ChannelEvent) -> None:
        if "close" in event:
            await self.socket.close(code=event["close"])
            return
        if "subscribe" in event:
            await self._subscribe(event["subscribe"], event.get("version", 0), event)
            return
        if "unsubscribe" in event:
            self.unfollow_chat(event["unsubscribe"])
        elif "chat_id" in event:
            stream = self.streams.get(event["chat_id"])
            if stream is None:
                return  # left the chat: nothing more from it
            # The user's own doing is skipped, but its version still counts.
            if event.get("sender") == self.user_id:
                frames = []
            else:
                frames = event.get("personal", {}).get(str(self.user_id), event["frames"])
            if "version" in event:
                await self._in_order(event["chat_id"], stream, event["version"], frames)
                return
            await self._send_all(frames)
            return
        await self._send_all(event["frames"])

    async def _subscribe(self, chat_id: int, since_version: int, event: ChannelEvent) -> None:
        await self.fanout.follow(events.chat_group(chat_id), self)
        if self.ended:  # while it followed: undo, the fan-out has already let go of it
            self.fanout.unfollow_all(self)
            return
        if chat_id not in self.streams:
            self.streams[chat_id] = ChatStream(last_version=since_version)
            await self._send_all(event["frames"])
        # Even when the stream exists: `hello` may have read a chat joined while it was being
        # built, before this socket was in the chat's group, so no change made in between came
        # live.
        await self.catch_up(chat_id)

    # --- Version order --------------------------------------------------------------------------

    async def _in_order(
        self, chat_id: int, stream: ChatStream, version: int, frames: list[str]
    ) -> None:
        await self._send_all(stream.offer(version, frames))
        if not stream.waiting:
            self._cancel_gap_timer(chat_id)
        elif chat_id not in self.gap_timers:
            loop = asyncio.get_running_loop()
            self.gap_timers[chat_id] = loop.call_later(
                GAP_WAIT_SECONDS, lambda: asyncio.ensure_future(self._fill_gap(chat_id))
            )

    async def _fill_gap(self, chat_id: int) -> None:
        """A version has not arrived in GAP_WAIT_SECONDS: the layer lost it (or is very slow)."""
        self.gap_timers.pop(chat_id, None)
        stream = self.streams.get(chat_id)
        if stream is None or not stream.waiting:
            return
        logger.warning(
            "socket %s: chat %s version %s missing; reading the changes from the database",
            self.socket.channel_name,
            chat_id,
            stream.last_version + 1,
        )
        metrics.increment("chat_ws_gap_fills_total")
        await self.catch_up(chat_id)

    async def catch_up(self, chat_id: int) -> None:
        """Read from the database what the layer has not (yet) brought: a missing version, or the
        changes made while this socket was joining the chat's group. They go out as `changes`
        frames, and the stream moves past them."""
        stream = self.streams.get(chat_id)
        if stream is None:
            return
        self._cancel_gap_timer(chat_id)
        try:
            pages = await self.socket.read_changes(
                chat_id, stream.last_version, CHANGES_LIMIT_DEFAULT
            )
        except exceptions.NotFound:
            # The user left (or the chat went) before this socket caught up: stop following
            # it here, as its unsubscribe would, which may yet come or may have come first.
            self.unfollow_chat(chat_id)
            return
        for version, frame in pages:
            if version <= stream.last_version:
                break
            await self.socket.send_shared(frame)
            await self._send_all(stream.advance(version))

    async def _send_all(self, frames: list[str]) -> None:
        for frame in frames:
            await self.socket.send_shared(frame)

    def _cancel_gap_timer(self, chat_id: int) -> None:
        timer = self.gap_timers.pop(chat_id, None)
        if timer is not None:
            timer.cancel()
