"""Methods the API does not list (HEAD, OPTIONS, PUT) tell an outsider nothing either.

For each of Harbour's URLs, Oscar (in no chat) and Sam (staff, in no chat) get exactly the same
answer as for a chat id that does not exist: the status and the body, whatever the method. A
chat's existence never leaks, not even through the API's self-description.
"""

from typing import Any

import pytest
from rest_framework.test import APIClient

from chats.models import ChatType
from tests.authz.world import World, world_build

PATHS = (
    "chats/{chat}/",
    "chats/{chat}/read/",
    "chats/{chat}/members/",
    "chats/{chat}/members/{target}/",
    "chats/{chat}/messages/",
    "chats/{chat}/messages/{msg}/",
    "chats/{chat}/messages/{msg}/report/",
    "chats/{chat}/scheduled/",
    "chats/{chat}/scheduled/{sched}/",
)
METHODS = ("HEAD", "OPTIONS", "PUT", "GET", "POST", "PATCH", "DELETE")
NO_SUCH_CHAT = 10**12


def answer(client: APIClient, method: str, url: str) -> tuple[int, Any]:
    response = client.generic(method, url, "{}", content_type="application/json")
    return response.status_code, response.content


@pytest.mark.parametrize("column", ["non-member", "staff"])
@pytest.mark.parametrize("method", METHODS)
def test_an_outsider_cannot_tell_a_chat_from_no_chat(column: str, method: str, db: None) -> None:
    world: World = world_build(ChatType.GROUP, column)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.access}")
    for path in PATHS:
        real = "/api/" + world.fill(path)
        missing = "/api/" + path.format(**{**world.placeholders, "chat": NO_SUCH_CHAT})

        # Staff may delete any message, so for them that one URL does differ, by design.
        if column == "staff" and method == "DELETE" and path.endswith("{msg}/"):
            continue
        assert answer(client, method, real) == answer(client, method, missing), (method, path)
