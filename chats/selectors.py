"""Reads. Each selector builds in the joins and prefetches its callers need, so that a list costs
the same number of queries for 1 row or 100."""

import re
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple, cast

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import (
    Count,
    F,
    FilteredRelation,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from rest_framework import exceptions

from accounts.models import User
from chats.models import (
    Attachment,
    Chat,
    Departure,
    Membership,
    Mention,
    Message,
    Reaction,
    ScheduledMessage,
)
from chats.services.access import removes_messages_anywhere

SEARCH_CONFIG = "simple"

# Who put each emoji on a message: each emoji in the order it was first used, with its users.
Emojis = list[tuple[str, list[int]]]
# The same, by message id.
Reactors = dict[int, Emojis]


def _count(queryset: QuerySet[Membership] | QuerySet[Message] | QuerySet[Mention]) -> Coalesce:
    counted = queryset.order_by().values("chat").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _chats_for_member(user: User) -> QuerySet[Chat]:
    """Chats of the user, each annotated with my_role, my_notify, member_count, unread_count,
    mention_count and last_messages (the last one, without reactions or files: chat_previews_set).

    Unread counts other people's messages past the read marker, not tombstones; mention_count the
    messages among them that mention the user.
    """
    unread = Message.objects.filter(
        chat=OuterRef("pk"), seq__gt=OuterRef("my_last_read_seq"), deleted=False
    ).exclude(user=user)
    # Mention rows exist only for messages that are not deleted.
    mentions = Mention.objects.filter(
        chat=OuterRef("pk"), user=user, seq__gt=OuterRef("my_last_read_seq")
    )
    return (
        Chat.objects.annotate(
            mine=FilteredRelation("memberships", condition=Q(memberships__user=user))
        )
        .filter(mine__isnull=False)
        .annotate(
            my_role=F("mine__role"),
            my_notify=F("mine__notify"),
            my_last_read_seq=F("mine__last_read_seq"),
            member_count=_count(Membership.objects.filter(chat=OuterRef("pk"))),
            unread_count=_count(unread),
            mention_count=_count(mentions),
        )
        .prefetch_related(
            Prefetch(
                "messages",
                queryset=Message.objects.filter(seq=F("chat__last_seq")).select_related(
                    "user", "reply_to__user"
                ),
                to_attr="last_messages",
            )
        )
    )


def chat_list_for_user(*, user: User) -> QuerySet[Chat]:
    """Each chat's last message still needs its reactions and files (chat_previews_set), once
    paged."""
    return _chats_for_member(user)


def chat_previews_set(chats: list[Chat], *, viewer: User) -> list[Chat]:
    """Read the reactions and files of the chats' last messages (message_extras_set)."""
    last_messages = [message for chat in chats for message in chat.last_messages]  # type: ignore[attr-defined]
    message_extras_set(last_messages, viewer=viewer)
    return chats


def chat_ids_for_user(*, user: User) -> list[int]:
    return list(Membership.objects.filter(user=user).values_list("chat_id", flat=True))


def chat_states_for_user(*, user: User) -> list[dict[str, int]]:
    """Where each of the user's chats stands, `{id, last_seq, version, unread_count,
    mention_count}`: a socket's hello."""
    states = _chats_for_member(user).order_by("id")
    # The mypy plugin does not see annotated fields such as unread_count.
    return list(
        states.values("id", "last_seq", "version", "unread_count", "mention_count")  # type: ignore[misc]
    )


def user_version_get(*, user: User) -> int:
    return User.objects.filter(pk=user.pk).values_list("user_version", flat=True).get()


class ChatSummary(NamedTuple):
    """What a chat's payload shows beyond the chat's row, for an event about the chat that each
    member sees with their own `me` in the last message's reactions."""

    member_count: int
    last_message: Message | None
    last_message_reactors: Emojis


def chat_summary(*, chat: Chat) -> ChatSummary:
    last_message = (
        Message.objects.select_related("user", "reply_to__user")
        .filter(chat=chat, seq=chat.last_seq)
        .first()
    )
    reactors: Emojis = []
    if last_message is not None:
        message_files_set([last_message])
        if last_message.reacted:
            reactors = message_reactors([last_message.pk]).get(last_message.pk, [])
    return ChatSummary(Membership.objects.filter(chat=chat).count(), last_message, reactors)


def chat_access(*, user: User, chat_id: int) -> Chat:
    """The chat, if the user is a member, without the per-member annotations: one indexed query,
    for the many paths (posting, history, members) that only need the access check."""
    chat = Chat.objects.filter(pk=chat_id, memberships__user=user).first()
    if chat is None:
        raise exceptions.NotFound("No such chat.")
    return chat


def chat_get_for_member(*, user: User, chat_id: int) -> Chat:
    """The chat, if the user is a member. Anyone else gets 404, as if it did not exist."""
    chat = _chats_for_member(user).filter(pk=chat_id).first()
    if chat is None:
        raise exceptions.NotFound("No such chat.")
    chat_previews_set([chat], viewer=user)
    return chat


def chat_get_for_moderation(*, user: User, chat_id: int) -> Chat:
    """The chat for a member, or any chat for a moderator (who removes messages in chats they are
    not in)."""
    if removes_messages_anywhere(user):
        chat = Chat.objects.filter(pk=chat_id).first()
        if chat is None:
            raise exceptions.NotFound("No such chat.")
        return chat
    return chat_access(user=user, chat_id=chat_id)


def member_list(*, chat: Chat) -> QuerySet[Membership]:
    return Membership.objects.filter(chat=chat).select_related("user").order_by("joined", "pk")


def member_get(*, chat: Chat, user_id: int) -> Membership:
    membership = member_list(chat=chat).filter(user_id=user_id).first()
    if membership is None:
        raise exceptions.NotFound("No such member.")
    return membership


def pins_list(*, chat: Chat) -> QuerySet[Message]:
    """The chat's pinned messages, most recently pinned first; a removed one is hidden."""
    return Message.objects.filter(chat=chat, pinned_at__isnull=False, deleted=False).select_related(
        "user", "reply_to__user"
    )


SEEN_BY_MAX = 100


def message_seen_by(*, chat: Chat, message: Message) -> tuple[list[User], int]:
    """The members other than the author whose read marker is at or past the message (seqs
    have no gaps, so that is having seen it), most recent change first, at most SEEN_BY_MAX of
    them; and how many they are in all. Derived from read markers: no row per message."""
    readers = Membership.objects.filter(chat=chat, last_read_seq__gte=message.seq)
    if message.user_id is not None:
        readers = readers.exclude(user_id=message.user_id)
    first = readers.select_related("user").order_by("-version", "pk")[:SEEN_BY_MAX]
    return [membership.user for membership in first], readers.count()


def message_get(*, chat: Chat, message_id: int) -> Message:
    message = (
        Message.objects.select_related("user", "chat", "reply_to__user")
        .filter(chat=chat, pk=message_id)
        .first()
    )
    if message is None:
        raise exceptions.NotFound("No such message.")
    return message


class MessageRow(NamedTuple):
    """A message as a list shows it (chats.payloads.message_payload), read as a plain row: pages
    of them are most of what history and the change feed read, and building a Message and its
    User for each was a third of a catch-up's CPU in the profile (bench/README.md)."""

    id: int
    chat_id: int
    seq: int
    version: int
    user_id: int | None
    author_name: str | None
    text: str
    client_id: str | None
    created: datetime
    updated: datetime
    edited: bool
    deleted: bool
    reply_to_id: int | None
    reply_to_seq: int | None
    reply_to_user_id: int | None
    reply_to_author_name: str | None
    reply_to_text: str
    thread_root_id: int | None
    reply_count: int
    last_reply_at: datetime | None
    mention_ids: list[int]
    pinned_at: datetime | None
    reactions: list[dict[str, Any]]  # read apart, for one viewer (reactions_for)
    attachments: list[Attachment]  # read apart (attachments_for)


_JOINED_COLUMNS = {
    "author_name": "user__name",
    "reply_to_seq": "reply_to__seq",
    "reply_to_user_id": "reply_to__user_id",
    "reply_to_author_name": "reply_to__user__name",
}
_MESSAGE_ROW_COLUMNS = [_JOINED_COLUMNS.get(field, field) for field in MessageRow._fields[:-2]]


def reactions_for(
    reactions: QuerySet[Reaction], *, viewer: User
) -> dict[int, list[dict[str, Any]]]:
    """Each message's reactions among `reactions`, as its payload lists them for the viewer:
    each emoji once, in the order of its earliest reaction still standing, with its count and
    whether the viewer is among them. One query, whatever the number of messages."""
    counted = (
        reactions.order_by()
        .values("message_id", "emoji")
        .annotate(count=Count("pk"), first=Min("pk"), mine=Count("pk", filter=Q(user=viewer)))
        .order_by("message_id", "first")
    )
    by_message: dict[int, list[dict[str, Any]]] = {}
    for row in counted:
        by_message.setdefault(row["message_id"], []).append(
            {"emoji": row["emoji"], "count": row["count"], "me": row["mine"] > 0}
        )
    return by_message


def attachments_for(message_ids: list[int]) -> dict[int, list[Attachment]]:
    """Each message's files, in the order they were uploaded. One query."""
    by_message: dict[int, list[Attachment]] = {}
    for attachment in Attachment.objects.filter(message_id__in=message_ids).order_by("pk"):
        by_message.setdefault(cast(int, attachment.message_id), []).append(attachment)
    return by_message


def attachment_for_download(*, attachment_id: int, user_id: int) -> Attachment | None:
    """The file, if the user is a member of its chat and may see it: posted with a message that
    is not deleted or removed, or their own upload not posted yet. One query."""
    visible = Q(message__deleted=False) | Q(message__isnull=True, uploader_id=user_id)
    return (
        Attachment.objects.filter(visible, pk=attachment_id)
        .filter(chat__memberships__user_id=user_id)
        .first()
    )


def _message_rows(
    messages: QuerySet[Message], *, viewer: User, reactions: QuerySet[Reaction] | None = None
) -> list[MessageRow]:
    """The messages as rows, with their reactions for the viewer and their files: one query,
    and one more for each of those that any of them has. `reactions` narrows the reactions read
    to those of the messages, where an id list would be long."""
    rows = list(messages.values_list(*_MESSAGE_ROW_COLUMNS, "reacted", "attachment_count"))
    reacted = [row[0] for row in rows if row[-2]]
    by_message: dict[int, list[dict[str, Any]]] = {}
    if reacted:
        if reactions is None:
            reactions = Reaction.objects.filter(message_id__in=reacted)
        by_message = reactions_for(reactions, viewer=viewer)
    attached = [row[0] for row in rows if row[-1]]
    files = attachments_for(attached) if attached else {}
    return [
        MessageRow._make((*row[:-2], by_message.get(row[0], []), files.get(row[0], [])))
        for row in rows
    ]


def message_reactors(message_ids: list[int]) -> Reactors:
    """Who put each emoji on each message, for events whose payloads each recipient sees with
    their own `me`."""
    by_message: dict[int, dict[str, list[int]]] = {}
    reactions = Reaction.objects.filter(message_id__in=message_ids).order_by("message_id", "pk")
    for message_id, emoji, user_id in reactions.values_list("message_id", "emoji", "user_id"):
        by_message.setdefault(message_id, {}).setdefault(emoji, []).append(user_id)
    return {message_id: list(emojis.items()) for message_id, emojis in by_message.items()}


def message_extras_set(messages: list[Message], *, viewer: User) -> list[Message]:
    """Read the messages' reactions for the viewer into their `reactions`, and their files into
    their `attachments`: one query for each, none where none of them has any."""
    reacted = [message.pk for message in messages if message.reacted]
    by_message = (
        reactions_for(Reaction.objects.filter(message_id__in=reacted), viewer=viewer)
        if reacted
        else {}
    )
    for message in messages:
        message.reactions = by_message.get(message.pk, [])
    return message_files_set(messages)


def message_files_set(messages: list[Message]) -> list[Message]:
    """Read the messages' files into their `attachments`: one query, none if none has any."""
    attached = [message.pk for message in messages if message.attachment_count]
    files = attachments_for(attached) if attached else {}
    for message in messages:
        message.attachments = files.get(message.pk, [])
    return messages


# Which messages a history page reads: every message, one thread's replies, or the main flow
# without thread replies.
THREAD_MAIN_FLOW = "none"


def message_history(
    *,
    chat: Chat,
    viewer: User,
    before: int | None = None,
    after: int | None = None,
    limit: int = 50,
    thread_root_id: int | str | None = None,
) -> tuple[list[MessageRow], bool]:
    """Up to `limit` messages in ascending seq, and whether more lie beyond them.

    With `after`, the oldest messages past it (catching up); otherwise the newest before `before`.
    The (chat, seq) unique index serves both at any depth, as the thread and main-flow indexes
    serve those pages.
    """
    messages = Message.objects.filter(chat=chat)
    if thread_root_id == THREAD_MAIN_FLOW:
        messages = messages.filter(thread_root__isnull=True)
    elif thread_root_id is not None:
        root = thread_root_get(chat=chat, message_id=int(thread_root_id))
        messages = messages.filter(thread_root=root)
    if before is not None:
        messages = messages.filter(seq__lt=before)
    if after is not None:
        page = _message_rows(
            messages.filter(seq__gt=after).order_by("seq")[: limit + 1], viewer=viewer
        )
        return page[:limit], len(page) > limit
    page = _message_rows(messages.order_by("-seq")[: limit + 1], viewer=viewer)
    return page[:limit][::-1], len(page) > limit


def thread_root_get(*, chat: Chat, message_id: int) -> Message:
    """A message that a thread may hang from: a top-level message of the chat."""
    root = Message.objects.filter(chat=chat, pk=message_id, thread_root__isnull=True).first()
    if root is None:
        raise exceptions.ValidationError(
            {"thread_root_id": ["No such top-level message in this chat."]}
        )
    return root


# --- Change feeds --------------------------------------------------------------------------------

CHANGES_LIMIT_MAX = 500
CHANGES_LIMIT_DEFAULT = 200


class ChatChanges(NamedTuple):
    """What changed in a chat after a version, each thing in its current state."""

    chat_id: int
    version: int  # how far this page reaches
    chat: Chat | None  # as it is now, annotated for the caller; None if nothing changed
    messages: list[MessageRow]
    members: list[Membership]
    removed_user_ids: list[int]
    has_more: bool


# The versions of a chat's changed things after a version, ascending. Each branch reads its own
# (chat, version) index and stops at the limit, so a page costs the same however far behind the
# caller is: with the limit only outside, PostgreSQL read every change still to come on every page
# (bench/README.md, catch-up).
_CHANGED_VERSIONS_BRANCH = (
    "SELECT version FROM (SELECT version FROM {table} WHERE chat_id = %s AND version > %s"
    " AND version <= %s ORDER BY version LIMIT %s) AS {alias}"
)
_CHANGED_VERSIONS_SQL = (
    "SELECT version FROM ("  # noqa: S608
    + " UNION ALL ".join(
        _CHANGED_VERSIONS_BRANCH.format(table=model._meta.db_table, alias=alias)
        for model, alias in ((Message, "m"), (Membership, "s"), (Departure, "d"))
    )
    + ") AS changed ORDER BY version LIMIT %s"
)


def _changed_versions(chat: Chat, since: int, limit: int) -> list[int]:
    """Up to `limit` versions of changed things after `since`, up to the chat's version as read:
    a later change is left to the next page, whose chat shows it."""
    with connection.cursor() as cursor:
        cursor.execute(_CHANGED_VERSIONS_SQL, [chat.pk, since, chat.version, limit] * 3 + [limit])
        return [version for (version,) in cursor.fetchall()]


def _page_ends(chat: Chat, since: int, limit: int, pages: int) -> list[tuple[int, bool]]:
    """Where each of up to `pages` pages of about `limit` things after `since` ends, never inside
    a version, and whether more follow it: from one read of the changed versions, and one more
    question only where that read ran out in the middle of a version."""
    versions = _changed_versions(chat, since, limit * pages + 1)
    complete = len(versions) <= limit * pages  # no changed thing after these
    ends: list[tuple[int, bool]] = []
    start = 0
    while len(ends) < pages:
        if len(versions) - start <= limit and complete:
            ends.append((chat.version, False))
            break
        if len(versions) - start <= limit:  # the read stopped inside this page
            ends.append(_page_end(chat, versions[start - 1] if start else since, limit))
            break
        end = versions[start + limit - 1]
        start += limit
        while start < len(versions) and versions[start] == end:
            start += 1  # the rest of the version belongs to this page
        if start < len(versions):
            ends.append((end, True))
        elif complete:
            ends.append((chat.version, False))
        else:  # the read ran out inside the version: whether any come after it is a question
            ends.append((end, bool(_changed_versions(chat, end, 1))))
        if not ends[-1][1]:
            break
    return ends


def _page_end(chat: Chat, since: int, limit: int) -> tuple[int, bool]:
    """Where one page of at most `limit` things after `since` ends."""
    [end] = _page_ends(chat, since, limit, 1)
    return end


def chat_changes(
    *, user: User, chat_id: int, since: int, limit: int, pages: int = 1
) -> list[ChatChanges]:
    """Everything in the chat whose version is after `since`: messages (tombstones included),
    members, and the ids of users who left, each once, ascending by version, in up to `pages`
    pages of about `limit` things. The chat is read once, so every page shows it as it was then
    and the last page ends at its version; what changes after comes as events, or to the next
    ask. The pages are read together: the same queries for one page or ten, whatever they hold
    (building each query cost as much CPU as running it, bench/README.md)."""
    chat = chat_get_for_member(user=user, chat_id=chat_id)
    if chat.version <= since:
        return [ChatChanges(chat.pk, chat.version, None, [], [], [], False)]
    ends = _page_ends(chat, since, limit, pages)
    changed = {"chat": chat, "version__gt": since, "version__lte": ends[-1][0]}
    changed_messages = Message.objects.filter(**changed)
    messages = deque(
        _message_rows(
            changed_messages.order_by("version", "seq"),
            viewer=user,
            reactions=Reaction.objects.filter(message__in=changed_messages.values("pk")),
        )
    )
    members = deque(
        Membership.objects.filter(**changed).select_related("user").order_by("version", "pk")
    )
    removed = deque(
        Departure.objects.filter(chat_id=chat.pk, version__gt=since, version__lte=ends[-1][0])
        .order_by("version", "user_id")
        .values_list("version", "user_id")
    )

    def upto(rows: deque[Any], end: int, version: Callable[[Any], int]) -> list[Any]:
        page = []
        while rows and version(rows[0]) <= end:
            page.append(rows.popleft())
        return page

    return [
        ChatChanges(
            chat.pk,
            end,
            chat,
            upto(messages, end, lambda message: message.version),
            upto(members, end, lambda membership: membership.version),
            [user_id for _, user_id in upto(removed, end, lambda departure: departure[0])],
            has_more,
        )
        for end, has_more in ends
    ]


class UserChanges(NamedTuple):
    user_version: int
    chats: list[Chat]  # joined, or their settings changed; annotated for the user
    removed_chat_ids: list[int]  # left, removed from, or deleted


def user_changes(*, user: User, since: int) -> UserChanges:
    user_version = user_version_get(user=user)
    chats = _chats_for_member(user).filter(  # type: ignore[misc]  # the plugin misses `mine`
        mine__user_version__gt=since, mine__user_version__lte=user_version
    )
    removed = Departure.objects.filter(
        user=user, user_version__gt=since, user_version__lte=user_version
    )
    return UserChanges(
        user_version,
        chat_previews_set(list(chats.order_by("id")), viewer=user),
        list(removed.order_by("user_version").values_list("chat_id", flat=True)),
    )


_WORD = re.compile(r"\w+")


def message_search(*, user: User, q: str, chat_id: int | None = None) -> QuerySet[Message]:
    """Messages from the user's chats that contain every word of q (as a prefix), newest first."""
    words = _WORD.findall(q)
    if not words:
        raise exceptions.ValidationError({"q": ["Search for at least one word."]})
    if chat_id is not None:
        chat_access(user=user, chat_id=chat_id)
    messages = Message.objects.filter(chat__memberships__user=user, deleted=False).select_related(
        "user", "reply_to__user"
    )
    if chat_id is not None:
        messages = messages.filter(chat_id=chat_id)
    return _words_as_prefixes(messages, q, words)


def _words_as_prefixes(messages: QuerySet[Message], q: str, words: list[str]) -> QuerySet[Message]:
    """Messages whose text has every word of q as the prefix of a word.

    PostgreSQL uses full-text search over a GIN index (migration 0002); SQLite falls back to
    case-insensitive matching of each word at the start of a word of the text.
    """
    if connection.vendor == "postgresql":
        terms = [_tsquery_prefix(piece) for piece in q.split() if _WORD.search(piece)]
        query = SearchQuery(" & ".join(terms), search_type="raw", config=SEARCH_CONFIG)
        return messages.annotate(search=message_search_vector()).filter(search=query)
    for word in words:
        # SQLite's REGEXP is Python's re, which folds case beyond ASCII (LIKE does not), and `\b`
        # matches the word as a prefix of a word, as PostgreSQL does, not anywhere inside one.
        messages = messages.filter(text__iregex=rf"\b{re.escape(word)}")
    return messages


def _tsquery_prefix(piece: str) -> str:
    """A piece of the query as a quoted tsquery operand that matches as a prefix.

    Quoted, PostgreSQL splits it with the same parser as the text, so "example.com", an address
    or "3.14" stays one token, as it is in the text, instead of becoming words that never match.
    """
    quoted = piece.replace("\\", "\\\\").replace("'", "''")
    return f"'{quoted}':*"


def message_search_vector() -> SearchVector:
    """The expression the GIN index is built on; queries must use exactly this to hit it."""
    return SearchVector("text", config=SEARCH_CONFIG)


def scheduled_list(*, chat: Chat, user: User) -> QuerySet[ScheduledMessage]:
    """The user's own scheduled messages in the chat: nobody sees another member's."""
    return ScheduledMessage.objects.filter(chat=chat, user=user)


def scheduled_get(*, chat: Chat, user: User, scheduled_id: int) -> ScheduledMessage:
    scheduled = scheduled_list(chat=chat, user=user).filter(pk=scheduled_id).first()
    if scheduled is None:
        raise exceptions.NotFound("No such scheduled message.")
    return scheduled


# --- Moderation ----------------------------------------------------------------------------------


def chat_message_count() -> Coalesce:
    """Each chat's number of messages, tombstones included, for annotating a page of chats.

    A correlated subquery, so only the chats on the page are counted (a JOIN with GROUP BY would
    aggregate the whole messages table first), and COUNT(*) rather than COUNT(id), so that
    PostgreSQL counts from the (chat, seq) index alone without visiting the rows.
    """
    counted = (
        Message.objects.filter(chat=OuterRef("pk"))
        .order_by()
        .values("chat")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def message_text_search(*, messages: QuerySet[Message], q: str) -> QuerySet[Message]:
    """Narrow `messages` to those whose text has every word of q as a word prefix: the API's
    search (message_search) for the admin's search box, over any messages, tombstones included.

    On PostgreSQL it is the same full-text query over the GIN index of migration 0002, so a
    search stays quick on millions of messages; elsewhere it matches as message_search does.
    A q with no words at all is matched as a plain substring.
    """
    words = _WORD.findall(q)
    if not words:
        return messages.filter(text__icontains=q.strip())
    return _words_as_prefixes(messages, q, words)
