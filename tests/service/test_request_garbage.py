"""An API request's objects go when its answer has been sent: freed by reference counting, not
left in reference cycles for the cyclic collector, whose pauses then land on whatever runs next
(chatproject/overrides/django.py, chatproject/middleware.py ReleaseViewMiddleware)."""

import gc
from collections.abc import Iterator

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.core.exceptions import RequestAborted
from rest_framework.response import Response
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList
from rest_framework.views import APIView

from accounts.models import User
from accounts.services import tokens_issue
from chatproject.asgi import django_asgi_app
from chats.selectors import MessageRow
from tests.factories import chat_factory, messages_factory

pytestmark = pytest.mark.django_db(transaction=True)

# What each request left in cycles before: the view, its response, the rows and the serialized
# data the response was made of, and the RequestAborted whose traceback held all of them. (A
# serializer that validated the query is left, as DRF's fields point back at it: small, and it
# holds nothing of the answer.)
PER_REQUEST_OBJECTS = (APIView, Response, ReturnDict, ReturnList, MessageRow, RequestAborted)


@pytest.fixture
def collector_off() -> Iterator[None]:
    """Nothing collected but by the test, and the garbage kept to look at."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


async def get_as_daphne_does(path: str, token: str) -> int:
    """A GET through the ASGI app, then the disconnect that daphne sends once the answer is out."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"localhost"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    client = ApplicationCommunicator(django_asgi_app, scope)
    await client.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await client.receive_output(timeout=5)
    while (await client.receive_output(timeout=5)).get("more_body"):
        pass
    await client.send_input({"type": "http.disconnect"})
    await client.wait(timeout=5)
    return int(start["status"])


def left_in_cycles() -> list[str]:
    gc.collect()
    return sorted({type(o).__name__ for o in gc.garbage if isinstance(o, PER_REQUEST_OBJECTS)})


@pytest.mark.usefixtures("collector_off")
async def test_a_history_page_and_a_changes_page_leave_nothing_for_the_collector(
    user: User,
) -> None:
    def seed() -> tuple[str, int]:
        chat = chat_factory(user)
        messages_factory(chat, user, 30)
        return str(tokens_issue(user=user)["access"]), chat.pk

    token, chat_id = await database_sync_to_async(seed)()
    paths = [
        f"/api/chats/{chat_id}/messages/?limit=30",
        f"/api/chats/{chat_id}/changes/?since=0",
        "/api/chats/",
    ]
    for path in paths:
        assert await get_as_daphne_does(path, token) == 200

    assert left_in_cycles() == []
