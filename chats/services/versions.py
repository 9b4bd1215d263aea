"""Taking versions: every write that changes a chat takes the chat's next version, and every write
that changes a user's list of chats takes the user's next user_version.

Both are taken with one UPDATE ... RETURNING, which holds the row's lock until the transaction
ends, so concurrent writes queue on it and versions follow commit order with no gaps, as seqs do.
A write takes its chat's version before it touches anything else in the chat, so that every
write locks in the same order (chat, then messages and members, then users) and none deadlock.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from chats.models import Chat

_CHAT = Chat._meta.db_table
_VERSION_NEXT_SQL = f"UPDATE {_CHAT} SET version = version + 1 WHERE id = %s RETURNING version"  # noqa: S608
_POST_NEXT_SQL = (
    f"UPDATE {_CHAT} SET last_seq = last_seq + 1, version = version + 1, "  # noqa: S608
    "last_activity = %s WHERE id = %s RETURNING last_seq, version"
)


def chat_version_next(chat_id: int) -> int:
    """The chat's next version, its row locked until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_NEXT_SQL, [chat_id])
        (version,) = cursor.fetchone()
    return int(version)


def chat_post_next(chat_id: int) -> tuple[int, int]:
    """A post's (seq, version): both in one statement, the post path's one chat write."""
    with connection.cursor() as cursor:
        cursor.execute(_POST_NEXT_SQL, [timezone.now(), chat_id])
        seq, version = cursor.fetchone()
    return int(seq), int(version)


def user_versions_next(user_ids: Iterable[int]) -> dict[int, int]:
    """Each user's next user_version. The rows are locked in id order first: two writes over
    overlapping sets of users (two chats created at once) then queue instead of deadlocking."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    users = User.objects.filter(pk__in=ids)
    list(users.select_for_update().order_by("pk").values_list("pk", flat=True))
    users.update(user_version=F("user_version") + 1)
    return dict(users.values_list("pk", "user_version"))
