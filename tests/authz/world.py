"""The world every cell of the authorization matrix runs in, and the tables' notation.

The cast of a group or a channel: Olivia owns it, Adam is an admin, Mia and Tom are plain members,
Wendy is a member who has already reported Tom's message (which carries a file). Tom is the "other
user" whose objects the callers go after: his message, his scheduled message, his membership.
Nick is in no chat yet (someone to add), Oscar is in no chat at all (the non-member) and Sam is
staff, in no chat.

A direct chat has only Olivia (who opened it, yet a plain member like Mia: nobody owns a direct
chat) and Mia. There the other user is whichever of the two is not calling.

Every caller with an account also owns a group of their own, "Mine", so that a request can pair a
chat the caller may act in with an object from another chat (`chats/{mine}/messages/{msg}/`).

The deactivated caller is a member who got a token and was then deactivated: Adam in a group or a
channel, Mia in a direct chat, so that if the token still worked they could do a lot.
"""

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model, Q
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken

from accounts.credentials import session_of
from accounts.models import User
from accounts.services import tokens_issue
from chats import downloads
from chats.models import (
    Attachment,
    AuditEntry,
    Chat,
    ChatType,
    Connection,
    Membership,
    Mention,
    Message,
    Reaction,
    Report,
    Role,
    ScheduledMessage,
)
from chats.moderation.services import report_create
from chats.services.attachments import attachment_upload
from chats.services.members import member_role_set
from chats.services.messages import message_send
from chats.services.scheduling import message_schedule
from tests.factories import UserFactory, chat_factory

REACTION = "👍"
REACTION_IN_PATH = "%F0%9F%91%8D"  # as a client sends it, URL-encoded
FILE_BYTES = b"the harbour at dawn"

COLUMNS = ("anonymous", "deactivated", "non-member", "member", "admin", "owner", "staff")

# Who calls in each column. Anonymous has no user; "-" in a table marks a cell that cannot exist.
CALLERS = {
    "deactivated": "adam",
    "non-member": "oscar",
    "member": "mia",
    "admin": "adam",
    "owner": "olivia",
    "staff": "sam",
}
DIRECT_CALLERS = {**CALLERS, "deactivated": "mia"}

SEARCH_WORD = "sunrise"


@dataclass(frozen=True)
class Cell:
    """One expectation: what `column`'s caller gets for `request` in a world of `chat_type`."""

    table: str
    chat_type: str
    request: str
    column: str
    expected: str

    @property
    def id(self) -> str:
        return f"{self.table}: {self.request} | {self.column} -> {self.expected}"


def table(name: str, text: str, chat_type: str = ChatType.GROUP) -> list[Cell]:
    """Parse a table: a request, `|`, then one expectation per column of COLUMNS."""
    cells = []
    for line in text.strip().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        request, outcomes = (" ".join(part.split()) for part in line.split("|"))
        values = outcomes.split()
        assert len(values) == len(COLUMNS), f"{name}: {line!r} needs {len(COLUMNS)} columns"
        for column, value in zip(COLUMNS, values, strict=True):
            if value != "-":
                cells.append(Cell(name, chat_type, request, column, value))
    return cells


def params(cells: list[Cell]) -> list[Any]:
    return [pytest.param(cell, id=cell.id) for cell in cells]


@dataclass
class World:
    chat_type: str
    chat: Chat
    users: dict[str, User]
    caller: User | None
    target: User
    message: Message
    scheduled: ScheduledMessage
    report: Report | None
    access: str | None = None
    refresh: str | None = None
    target_access: str = ""
    target_refresh: str = ""
    placeholders: dict[str, int] = field(default_factory=dict)

    @property
    def caller_is_member(self) -> bool:
        return (
            self.caller is not None
            and self.caller.is_active
            and Membership.objects.filter(chat=self.chat, user=self.caller).exists()
        )

    def fill(self, template: str) -> str:
        reaction = f"messages/{self.placeholders['msg']}/reactions/{REACTION_IN_PATH}"
        return template.format(**self.placeholders, reaction=reaction, download=self.download())

    def download(self) -> str:
        """The URL of Tom's file as the caller's client was given it: signed for them (the
        anonymous caller has no grant)."""
        path = downloads.url(self.placeholders["file"]).removeprefix("/api/")
        if self.caller is None or self.access is None:
            return path
        token = AccessToken(self.access, verify=False)  # type: ignore[arg-type]  # a str, at run time
        viewer = downloads.Viewer(self.caller.pk, session_of(token))
        grant = downloads.grant_make(self.placeholders["file"], viewer, time.time())
        return f"{path}?grant={grant}"


def _post_as(chat: Chat, owner: User, author: User) -> tuple[Message, ScheduledMessage]:
    """The author's message with a file, and scheduled message. In a channel a plain member
    cannot post, so the author posts while an admin and is then made a plain member again."""
    promote = chat.chat_type == ChatType.CHANNEL
    if promote:
        member_role_set(chat=chat, actor=owner, user_id=author.pk, role=Role.ADMIN)
    file = attachment_upload(
        chat=chat, user=author, upload=SimpleUploadedFile("harbour.txt", FILE_BYTES)
    )
    message, _ = message_send(
        chat=chat, user=author, text=f"{SEARCH_WORD} over the harbour", attachment_ids=[file.pk]
    )
    scheduled = message_schedule(
        chat=chat, user=author, text="see you tomorrow", send_at=timezone.now() + timedelta(days=1)
    )
    if promote:
        member_role_set(chat=chat, actor=owner, user_id=author.pk, role=Role.MEMBER)
    return message, scheduled


CAST = ("olivia", "adam", "mia", "tom", "wendy", "nick", "oscar", "sam")


def world_build(chat_type: str, column: str, suffix: str = "") -> World:
    """A world for one cell. `suffix` makes the logins unique where worlds share a database."""
    # Built by the factory and saved in one query: there is a world per cell, some 700 of them.
    cast = [
        UserFactory.build(login=name + suffix, name=name.title(), is_staff=name == "sam")
        for name in CAST
    ]
    users = dict(zip(CAST, User.objects.bulk_create(cast), strict=True))
    olivia = users["olivia"]
    report = None
    if chat_type == ChatType.DIRECT:
        chat = chat_factory(olivia, [users["mia"]], chat_type=ChatType.DIRECT)
        caller_name = DIRECT_CALLERS.get(column)
        target = olivia if caller_name == "mia" else users["mia"]
        message, scheduled = _post_as(chat, olivia, target)
    else:
        members = [users[name] for name in ("adam", "mia", "tom", "wendy")]
        chat = chat_factory(olivia, members, chat_type=ChatType(chat_type), title="Harbour")
        member_role_set(chat=chat, actor=olivia, user_id=users["adam"].pk, role=Role.ADMIN)
        caller_name = CALLERS.get(column)
        target = users["tom"]
        message, scheduled = _post_as(chat, olivia, target)
        report, _ = report_create(message=message, reporter=users["wendy"], reason="spam")
    caller = users[caller_name] if caller_name else None
    # A group of the caller's own, for requests that pair it with an object from the chat above.
    mine = chat_factory(caller, [], title="Mine") if caller else chat
    world = World(
        chat_type=chat_type,
        chat=chat,
        users=users,
        caller=caller,
        target=target,
        message=message,
        scheduled=scheduled,
        report=report,
    )
    target_tokens = tokens_issue(user=target)
    world.target_access, world.target_refresh = target_tokens["access"], target_tokens["refresh"]
    if caller is not None:
        tokens = tokens_issue(user=caller)
        world.access, world.refresh = tokens["access"], tokens["refresh"]
    if column == "deactivated":
        assert caller is not None
        # The flag alone, as the admin's user form sets it: the tokens themselves stay unrevoked,
        # so only the is_active check stands between them and the API.
        User.objects.filter(pk=caller.pk).update(is_active=False)
        caller.refresh_from_db()
    world.placeholders = {
        "chat": chat.pk,
        "mine": mine.pk,
        "owner": olivia.pk,
        "msg": message.pk,
        "sched": scheduled.pk,
        "target": target.pk,
        "me": caller.pk if caller else target.pk,
        "newcomer": users["nick"].pk,
        "file": Attachment.objects.get(message=message).pk,
    }
    return world


SNAPSHOT_MODELS: tuple[type[Model], ...] = (
    User,
    Chat,
    Membership,
    Message,
    Reaction,
    Mention,
    Attachment,
    ScheduledMessage,
    Report,
    AuditEntry,
    Connection,
    OutstandingToken,
    BlacklistedToken,
)


def snapshot(world: World | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every row a request could touch. A refused request must leave all of it as it was.

    With a world, only the rows of its users and chats (and anything they made): where worlds
    share a database, reading every row would cost more with each cell.
    """
    scopes: dict[type[Model], Q] = {}
    if world is not None:
        users = [user.pk for user in world.users.values()]
        chats = [world.chat.pk, world.placeholders["mine"]]
        by_user_or_chat = Q(user__in=users) | Q(chat__in=chats)
        scopes = {
            User: Q(pk__in=users),
            Chat: Q(pk__in=chats) | Q(creator__in=users),
            Membership: by_user_or_chat,
            Message: by_user_or_chat,
            ScheduledMessage: by_user_or_chat,
            Report: Q(reporter__in=users) | Q(message__chat__in=chats),
            Reaction: Q(user__in=users) | Q(message__chat__in=chats),
            Mention: by_user_or_chat,
            Attachment: Q(uploader__in=users) | Q(chat__in=chats),
            Connection: Q(user__in=users),
            OutstandingToken: Q(user__in=users),
            BlacklistedToken: Q(token__user__in=users),
        }
    return {
        model._meta.label: list(
            model._default_manager.filter(scopes.get(model, Q())).order_by("pk").values()
        )
        for model in SNAPSHOT_MODELS
    }
