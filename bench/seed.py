"""Seeds the benchmark database and reads figures from it. Run with the benchmark's environment;
each command prints one JSON object.

    seed.py chats COUNT SIZE TAG   COUNT group chats of SIZE members each, with an access token per
                                   member: {"chats": [{"chat_id", "tokens": [...]}, ...]}
    seed.py history CHAT_ID N      N more messages in the chat, inserted in bulk by SQL
    seed.py post CHAT_ID...        one message in each chat through message_send, as a user would
                                   post it: {"last_seq": {chat_id: seq}}
    seed.py send-queries           the queries one message.send costs, counted: {"queries": n}
"""

import json
import os
import sys
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
from chats.models import Chat, ChatType, Membership  # noqa: E402
from chats.services.chats import chat_create  # noqa: E402
from chats.services.messages import message_send  # noqa: E402


def chats(count: int, size: int, tag: str) -> dict[str, Any]:
    users = User.objects.bulk_create(
        [User(login=f"b{tag}-{n}", name=f"Bench {n}") for n in range(count * size)]
    )
    seeded = []
    for n in range(count):
        members = users[n * size : (n + 1) * size]
        chat, _ = chat_create(
            creator=members[0],
            chat_type=ChatType.GROUP,
            title=f"bench {tag} {n}",
            member_ids=[user.pk for user in members[1:]],
        )
        # Access tokens only: a benchmark logs no one out, so it needs no refresh tokens.
        seeded.append(
            {"chat_id": chat.pk, "tokens": [str(AccessToken.for_user(u)) for u in members]}
        )
    return {"chats": seeded}


def history(chat_id: int, count: int) -> dict[str, Any]:
    chat = Chat.objects.get(pk=chat_id)
    author = Membership.objects.filter(chat=chat).values_list("user_id", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO chats_message (chat_id, seq, user_id, text, created, updated, edited,"
            " deleted, removal_reason)"
            " SELECT %s, s, %s, 'history message ' || s, now(), now(), false, false, ''"
            " FROM generate_series(%s, %s) AS s",
            [chat_id, author, chat.last_seq + 1, chat.last_seq + count],
        )
        cursor.execute(
            "UPDATE chats_chat SET last_seq = last_seq + %s WHERE id = %s", [count, chat_id]
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


def main(command: str, args: list[str]) -> None:
    if command == "chats":
        result = chats(int(args[0]), int(args[1]), args[2])
    elif command == "history":
        result = history(int(args[0]), int(args[1]))
    elif command == "post":
        result = post([int(arg) for arg in args])
    elif command == "send-queries":
        result = send_queries()
    else:
        raise SystemExit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
