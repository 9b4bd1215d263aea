"""One chat's messages in seq order, for one socket: bookkeeping only, no I/O.

Events from different server processes can cross on the channel layer, so a socket may receive
seq 8 before seq 7. A stream holds what came early and releases frames in seq order, each seq
once. While it holds any (`waiting`), a seq is missing; if it does not come soon, the socket
reads it from the database and `fill`s the stream.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class ChatStream:
    last_seq: int  # the newest seq this socket has delivered; every one up to it went out
    early: dict[int, str] = field(default_factory=dict)

    @property
    def waiting(self) -> bool:
        return bool(self.early)

    def offer(self, seq: int, frame: str) -> list[str]:
        """The frames that may go out now, in order: this one and any that waited for it."""
        return self.fill([(seq, frame)])

    def fill(self, frames: Iterable[tuple[int, str]]) -> list[str]:
        """Take frames by seq (live, or read from the database) and release what is in order.
        A seq already delivered or already held is ignored."""
        for seq, frame in frames:
            if seq > self.last_seq:
                self.early.setdefault(seq, frame)
        released = []
        while self.last_seq + 1 in self.early:
            self.last_seq += 1
            released.append(self.early.pop(self.last_seq))
        return released
