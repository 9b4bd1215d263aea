"""Seeds the benchmark database: one group of N members, and an access token for each.

Run with the benchmark's environment; prints JSON {"chat_id": ..., "tokens": [...]}.
"""

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
django.setup()

from accounts.models import User  # noqa: E402
from accounts.services import tokens_issue  # noqa: E402
from chats import services  # noqa: E402
from chats.models import ChatType  # noqa: E402


def main(members: int, tag: str) -> None:
    users = User.objects.bulk_create(
        [User(login=f"b{tag}-{n}", name=f"Bench {n}") for n in range(members)]
    )
    chat, _ = services.chat_create(
        creator=users[0],
        chat_type=ChatType.GROUP,
        title=f"bench {tag}",
        member_ids=[user.pk for user in users[1:]],
    )
    tokens = [tokens_issue(user=user)["access"] for user in users]
    print(json.dumps({"chat_id": chat.pk, "tokens": tokens}))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
