"""A client's copy of one chat, kept by versions as docs/websocket.md tells clients to keep it, and
the same chat as a fresh load shows it. Tests compare the two: after catching up they must be
equal.

Users inside members are compared without their presence fields (status, last_seen, updated):
presence is a passing signal with no version, and comes in `presence` events.
"""

from dataclasses import dataclass, field
from typing import Any

from rest_framework.test import APIClient

PRESENCE_FIELDS = ("status", "last_seen", "updated")


def _member_key(member: dict[str, Any]) -> dict[str, Any]:
    user = {k: v for k, v in member["user"].items() if k not in PRESENCE_FIELDS}
    return {**member, "user": user}


@dataclass
class Replica:
    version: int = 0
    chat: dict[str, Any] | None = None
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # by id
    members: dict[int, dict[str, Any]] = field(default_factory=dict)  # by user id

    def apply(self, changes: dict[str, Any]) -> None:
        """One answer of the feed (or one `changes` frame)."""
        if changes["chat"] is not None:
            self.chat = changes["chat"]
        for message in changes["messages"]:
            self.messages[message["id"]] = message
        for member in changes["members"]:
            self.members[member["user"]["id"]] = member
        for user_id in changes["removed_user_ids"]:
            self.members.pop(user_id, None)
        self.version = changes["version"]

    def state(self) -> dict[str, Any]:
        return {
            "chat": self.chat,
            "messages": [self.messages[k] for k in sorted(self.messages)],
            "members": sorted(
                (_member_key(m) for m in self.members.values()), key=lambda m: m["user"]["id"]
            ),
        }


def catch_up(api: APIClient, chat_id: int, replica: Replica, limit: int = 200) -> int:
    """Apply the feed's pages until it has no more. Returns how many pages it took."""
    pages = 0
    while True:
        response = api.get(
            f"/api/chats/{chat_id}/changes/", {"since": replica.version, "limit": limit}
        )
        assert response.status_code == 200, response.content
        changes = response.json()
        _assert_each_once(changes)
        replica.apply(changes)
        pages += 1
        if not changes["has_more"]:
            return pages


def _assert_each_once(changes: dict[str, Any]) -> None:
    message_ids = [m["id"] for m in changes["messages"]]
    member_ids = [m["user"]["id"] for m in changes["members"]]
    assert len(message_ids) == len(set(message_ids)), "a message came twice in one answer"
    assert len(member_ids) == len(set(member_ids)), "a member came twice in one answer"
    assert len(changes["removed_user_ids"]) == len(set(changes["removed_user_ids"]))


def fresh_load(api: APIClient, chat_id: int) -> dict[str, Any]:
    """The chat as a client that starts from nothing sees it: the chat, every message through
    history, every member through the member list."""
    chat = api.get(f"/api/chats/{chat_id}/").json()["chat"]
    messages: list[dict[str, Any]] = []
    after = 0
    while True:
        page = api.get(f"/api/chats/{chat_id}/messages/", {"after": after, "limit": 100}).json()
        messages += page["results"]
        if not page["has_more"]:
            break
        after = page["results"][-1]["seq"]
    members: list[dict[str, Any]] = []
    url: str | None = f"/api/chats/{chat_id}/members/?limit=100"
    while url:
        page = api.get(url).json()
        members += page["results"]
        url = page["next"]
    return {
        "chat": chat,
        "messages": sorted(messages, key=lambda m: m["id"]),
        "members": sorted((_member_key(m) for m in members), key=lambda m: m["user"]["id"]),
    }
