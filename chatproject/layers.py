from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as BaseInMemoryChannelLayer

from chatproject import metrics


class InMemoryChannelLayer(BaseInMemoryChannelLayer):
    """Channels' in-memory layer, whose group_send drops a message to a full channel silently;
    this one counts the drop."""

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        try:
            await super().send(channel, message)
        except ChannelFull:
            metrics.increment("chat_channel_layer_dropped_total")
            raise
