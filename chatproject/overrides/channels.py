"""Channels: a consumer's dispatch without its database hop, and an in-memory layer that counts
what it drops.

Written against channels 4.3.2. It relies on AsyncConsumer.dispatch doing no more than close old
database connections and call the handler that get_handler_name names, and on the in-memory
layer's group_send swallowing the ChannelFull that send raises; tests/overrides checks both.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as BaseInMemoryChannelLayer

from chatproject import metrics

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class DirectDispatch:
    """Channels' dispatch, without its hop to the sync thread before every message.

    Channels closes stale database connections before each message a consumer handles: a round
    trip through the process's one sync thread for every frame of every socket, queued behind
    the posts' database work. Every database call of a consumer here goes through
    database_sync_to_async, which closes stale connections itself, so the hop bought nothing
    (bench/README.md has the figures). `handle` is where a consumer wraps each handler.
    """

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await self.handle(handler, message)

    async def handle(self, handler: Handler, message: dict[str, Any]) -> None:
        await handler(message)


class InMemoryChannelLayer(BaseInMemoryChannelLayer):
    """Channels' in-memory layer, whose group_send drops a message to a full channel silently;
    this one counts the drop."""

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        try:
            await super().send(channel, message)
        except ChannelFull:
            metrics.increment("chat_channel_layer_dropped_total")
            raise
