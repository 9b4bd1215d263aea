"""Seeds the benchmark database and reads figures from it. Run with the benchmark's environment;
each command prints one JSON object.

    seed.py chats COUNT SIZE TAG   COUNT group chats of SIZE members each, with an access token per
                                   member: {"chats": [{"chat_id", "tokens": [...]}, ...]}
    seed.py history CHAT_ID N      N more messages in the chat, inserted in bulk by SQL
    seed.py post CHAT_ID...        one message in each chat through message_send, as a user would
                                   post it: {"last_seq": {chat_id: seq}}
    seed.py send-queries           the queries one message.send costs, counted: {"queries": n}
    seed.py catch-up MEMBERS HISTORY CHANGES TAG
                                   a group of MEMBERS with HISTORY messages, then CHANGES more
                                   changes of every kind through the services; a member who saw
                                   none of them, the version they hold, and what the feed owes them
"""

import json
import os
import random
import sys
import time
from typing import Any, cast

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.models import User  # noqa: E402
from chats import selectors  # noqa: E402
from chats.models import MEMBER_IDS_MAX, Chat, ChatType, Departure, Membership, Message, Role  # noqa: E402
from chats.services.chats import chat_create  # noqa: E402
from chats.services.members import member_add, member_remove, member_role_set  # noqa: E402
from chats.services.messages import (  # noqa: E402
    message_delete,
    message_edit,
    message_send,
    read_mark,
)


def group_create(creator: User, others: list[User], title: str) -> Chat:
    """A group of any size, as its owner would make it: created with as many as one request may
    add (MEMBER_IDS_MAX), then the rest added one by one."""
    chat, _ = chat_create(
        creator=creator,
        chat_type=ChatType.GROUP,
        title=title,
        member_ids=[user.pk for user in others[:MEMBER_IDS_MAX]],
    )
    for user in others[MEMBER_IDS_MAX:]:
        member_add(chat=chat, actor=creator, user_id=user.pk)
    return chat


def chats(count: int, size: int, tag: str) -> dict[str, Any]:
    users = User.objects.bulk_create(
        [User(login=f"b{tag}-{n}", name=f"Bench {n}") for n in range(count * size)]
    )
    seeded = []
    for n in range(count):
        members = users[n * size : (n + 1) * size]
        chat = group_create(members[0], members[1:], f"bench {tag} {n}")
        # Access tokens only: a benchmark logs no one out, so it needs no refresh tokens.
        seeded.append(
            {"chat_id": chat.pk, "tokens": [str(AccessToken.for_user(u)) for u in members]}
        )
    return {"chats": seeded}


def history(chat_id: int, count: int) -> dict[str, Any]:
    """Each message takes the chat's next version, as a post through message_send would: the
    versions stay gapless, so the change feed reads them like any others."""
    chat = Chat.objects.get(pk=chat_id)
    author = Membership.objects.filter(chat=chat).values_list("user_id", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO chats_message (chat_id, seq, version, user_id, text, created, updated,"
            " edited, deleted, removal_reason)"
            " SELECT %s, s, s - %s + %s, %s, 'history message ' || s, now(), now(), false, false,"
            " ''"
            " FROM generate_series(%s, %s) AS s",
            [
                chat_id,
                chat.last_seq,
                chat.version,
                author,
                chat.last_seq + 1,
                chat.last_seq + count,
            ],
        )
        cursor.execute(
            "UPDATE chats_chat SET last_seq = last_seq + %s, version = version + %s WHERE id = %s",
            [count, count, chat_id],
        )
        cursor.execute("ANALYZE chats_message")
    return {"last_seq": chat.last_seq + count}


def post(chat_ids: list[int]) -> dict[str, Any]:
    last_seq = {}
    for chat in Chat.objects.filter(pk__in=chat_ids):
        author = cast(User, chat.creator)
        message, _ = message_send(chat=chat, user=author, text="while you were away")
        last_seq[chat.pk] = message.seq
    return {"last_seq": last_seq}


def send_queries() -> dict[str, Any]:
    chat = Chat.objects.filter(chat_type=ChatType.GROUP).latest("id")
    author = cast(User, chat.creator)
    with CaptureQueriesContext(connection) as queries:
        found = selectors.chat_access(user=author, chat_id=chat.pk)
        message_send(chat=found, user=author, text="counted", client_id="bench-count")
    return {"queries": len(queries.captured_queries)}


# The changes a busy group makes while one member is away, as shares of them: mostly posts and the
# read markers they move, some edits and deletes, a few members coming, going and changing role.
CATCH_UP_MIX = {
    "read": 0.18,
    "edit": 0.12,
    "delete": 0.04,
    "add": 0.03,
    "role": 0.025,
    "remove": 0.005,
}  # and posts for the rest


class BusyGroup:
    """A group chat changed through the services, each call taking exactly one version. Kept in
    step with the database here, so that every change chosen is one the services accept."""

    def __init__(self, chat: Chat, owner: User, away: User, newcomers: list[User]) -> None:
        self.chat, self.owner, self.away = chat, owner, away
        self.newcomers = newcomers
        # Not for secrets: the same mix for the same chat, run after run.
        self.random = random.Random(chat.pk)  # noqa: S311
        memberships = Membership.objects.filter(chat=chat).select_related("user")
        self.members = {m.user_id: m.user for m in memberships}
        self.roles = {m.user_id: m.role for m in memberships}
        self.read_up_to = {m.user_id: m.last_read_seq for m in memberships}
        # (id, author id) of every message not deleted: what may still be edited or deleted.
        self.live = list(
            Message.objects.filter(chat=chat, deleted=False).values_list("id", "user_id")
        )

    def active(self) -> list[int]:
        """Members who act: everyone but the owner, who manages, and the one who is away."""
        return [uid for uid in self.members if uid not in (self.owner.pk, self.away.pk)]

    def post(self) -> None:
        author = self.members[self.random.choice(self.active())]
        message, _ = message_send(chat=self.chat, user=author, text="posted while one was away")
        self.live.append((message.pk, author.pk))
        self.read_up_to[author.pk] = message.seq

    def read(self) -> bool:
        behind = [uid for uid in self.active() if self.read_up_to[uid] < self.chat.last_seq]
        if not behind:
            return False
        reader = self.random.choice(behind)
        read_mark(chat=self.chat, user=self.members[reader], seq=self.chat.last_seq)
        self.read_up_to[reader] = self.chat.last_seq
        return True

    def edit(self) -> bool:
        # Only an author who is still a member edits: one who left could not reach the chat.
        mine = [(pk, uid) for pk, uid in self.live if uid in self.members]
        if not mine:
            return False
        message_id, author_id = self.random.choice(mine)
        message = Message.objects.get(pk=message_id)
        message_edit(message=message, actor=self.members[author_id], text="edited while away")
        return True

    def delete(self) -> bool:
        if not self.live:
            return False
        doomed = self.live.pop(self.random.randrange(len(self.live)))
        message_delete(message=Message.objects.get(pk=doomed[0]), actor=self.owner)
        return True

    def add(self) -> bool:
        if not self.newcomers:
            return False
        user = self.newcomers.pop()
        member_add(chat=self.chat, actor=self.owner, user_id=user.pk)
        self.members[user.pk], self.roles[user.pk] = user, Role.MEMBER
        self.read_up_to[user.pk] = 0
        return True

    def role(self) -> bool:
        user_id = self.random.choice(self.active())
        role = Role.MEMBER if self.roles[user_id] == Role.ADMIN else Role.ADMIN
        member_role_set(chat=self.chat, actor=self.owner, user_id=user_id, role=role)
        self.roles[user_id] = role
        return True

    def remove(self) -> bool:
        user_id = self.random.choice(self.active())
        member_remove(chat=self.chat, actor=self.owner, user_id=user_id)
        del self.members[user_id], self.roles[user_id], self.read_up_to[user_id]
        return True


def catch_up(members: int, history_count: int, changes: int, tag: str) -> dict[str, Any]:
    started = time.monotonic()
    plan = {kind: round(share * changes) for kind, share in CATCH_UP_MIX.items()}
    plan["post"] = changes - sum(plan.values())
    newcomers = User.objects.bulk_create(
        [User(login=f"b{tag}-new-{n}", name=f"Newcomer {n}") for n in range(plan["add"])]
    )
    seeded = chats(1, members, tag)["chats"][0]
    chat = Chat.objects.get(pk=seeded["chat_id"])
    history(chat.pk, history_count)
    chat.refresh_from_db()
    owner = cast(User, chat.creator)
    # The client that catches up: a plain member, up to date (everything read) at `since`, who
    # then reads and does nothing while away.
    away_token = seeded["tokens"][1]
    away = User.objects.get(pk=AccessToken(away_token)["user_id"])
    read_mark(chat=chat, user=away, seq=chat.last_seq)
    chat.refresh_from_db()
    since = chat.version
    group = BusyGroup(chat, owner, away, newcomers)
    kinds = [kind for kind, count in plan.items() for _ in range(count)]
    group.random.shuffle(kinds)
    made: dict[str, int] = dict.fromkeys(plan, 0)
    for kind in kinds:
        # A change that cannot be made now (nobody behind on reading) is made as a post.
        if kind == "post" or not getattr(group, kind)():
            group.post()
            kind = "post"
        made[kind] += 1
    chat.refresh_from_db()
    # Every call took one version and none was given back: a client behind by exactly CHANGES.
    if chat.version - since != changes:
        raise SystemExit(f"{chat.version - since} versions taken for {changes} changes")
    return {
        "chat_id": chat.pk,
        "token": away_token,
        "since_version": since,
        "version": chat.version,
        "last_seq": chat.last_seq,
        "members": Membership.objects.filter(chat=chat).count(),
        "changes": made,
        # What the feed owes the client: everything whose version is past the one it holds.
        "owed": {
            "messages": Message.objects.filter(chat=chat, version__gt=since).count(),
            "members": Membership.objects.filter(chat=chat, version__gt=since).count(),
            "removed_user_ids": Departure.objects.filter(
                chat_id=chat.pk, version__gt=since
            ).count(),
        },
        "seed_seconds": round(time.monotonic() - started, 1),
    }


def main(command: str, args: list[str]) -> None:
    if command == "chats":
        result = chats(int(args[0]), int(args[1]), args[2])
    elif command == "history":
        result = history(int(args[0]), int(args[1]))
    elif command == "post":
        result = post([int(arg) for arg in args])
    elif command == "send-queries":
        result = send_queries()
    elif command == "catch-up":
        result = catch_up(int(args[0]), int(args[1]), int(args[2]), args[3])
    else:
        raise SystemExit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
