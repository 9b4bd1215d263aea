"""One chat's events in version order, for one socket: bookkeeping only, no I/O.

Events from different server processes can cross on the channel layer, so a socket may receive
version 8 before version 7. A stream holds what came early and releases each version's frames in
order, each version once. While it holds any (`waiting`), a version is missing; if it does not
come soon, the socket reads the chat's changes since `last_version` from the database, sends them
and moves the stream past them (`advance`).
"""

from dataclasses import dataclass, field


@dataclass
class ChatStream:
    last_version: int  # the newest version this socket has sent; every one up to it went out
    early: dict[int, list[str]] = field(default_factory=dict)

    @property
    def waiting(self) -> bool:
        return bool(self.early)

    def offer(self, version: int, frames: list[str]) -> list[str]:
        """The frames that may go out now, in order: this version's and any that waited for it.
        A version already sent or already held is ignored. A version may have no frames to send
        (an event this socket skips): it still counts, or the stream would wait for it."""
        if version > self.last_version:
            self.early.setdefault(version, frames)
        return self._release()

    def advance(self, version: int) -> list[str]:
        """Everything up to `version` has been sent another way (a `changes` frame read from the
        database): drop what was held up to it, and release what then follows in order."""
        if version > self.last_version:
            self.last_version = version
            self.early = {v: frames for v, frames in self.early.items() if v > version}
        return self._release()

    def _release(self) -> list[str]:
        released = []
        while self.last_version + 1 in self.early:
            self.last_version += 1
            released.extend(self.early.pop(self.last_version))
        return released
