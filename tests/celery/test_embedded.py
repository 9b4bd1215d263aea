"""The embedded default of `make run`: Celery's worker and beat inside the server process, on the
in-memory transport, with the in-memory channel layer. A scheduled message still arrives live."""

import asyncio
import json
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from websockets.asyncio.client import connect

from chats.models import ScheduledMessage
from tests.celery.conftest import _periodic_tasks_present
from tests.factories import chat_factory
from tests.processes import daphne, free_port
from tests.realtime.conftest import access_token, sync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

# What `make run` serves on: the in-memory transport and the in-memory channel layer.
EMBEDDED_DEFAULT = {"EMBEDDED_CELERY": "true", "CELERY_BROKER_URL": "memory://", "REDIS_URL": ""}


def post_json(url: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - a local test server
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return dict(json.loads(response.read()))


async def test_a_scheduled_message_arrives_live_with_no_broker_server(
    transactional_db: None, tmp_path: Path, user, other_user
) -> None:
    port = free_port()
    server = await asyncio.to_thread(daphne, port, tmp_path, **EMBEDDED_DEFAULT)
    try:
        chat = await sync(chat_factory)(user, [other_user])
        alice, bob = await access_token(user), await access_token(other_user)
        async with connect(f"ws://127.0.0.1:{port}/ws/", subprotocols=["bearer", bob]) as ws:  # type: ignore[list-item]
            assert json.loads(await ws.recv())["type"] == "hello"
            send_at = timezone.now() + timedelta(seconds=2)
            scheduled = await asyncio.to_thread(
                post_json,
                f"http://127.0.0.1:{port}/api/chats/{chat.pk}/scheduled/",
                {"text": "from the embedded worker", "send_at": send_at.isoformat()},
                alice,
            )
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                if frame["type"] == "message.new":
                    break
        assert scheduled["status"] == "pending"
        assert frame["message"]["text"] == "from the embedded worker"
        assert timezone.now() - send_at < timedelta(seconds=2)
    finally:
        server.stop()


async def test_the_embedded_beat_dispatches_rows_that_have_no_task(
    transactional_db: None, tmp_path: Path, user, other_user
) -> None:
    """A row with no queued task (as for one scheduled far ahead) is delivered by the beat's
    dispatcher, which the embedded beat runs from the database schedule."""
    await sync(_periodic_tasks_present)()
    port = free_port()
    server = await asyncio.to_thread(daphne, port, tmp_path, **EMBEDDED_DEFAULT)
    try:
        chat = await sync(chat_factory)(user, [other_user])
        bob = await access_token(other_user)
        async with connect(f"ws://127.0.0.1:{port}/ws/", subprotocols=["bearer", bob]) as ws:  # type: ignore[list-item]
            assert json.loads(await ws.recv())["type"] == "hello"
            await sync(ScheduledMessage.objects.create)(
                chat=chat, user=user, text="no task for me", send_at=timezone.now()
            )
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=15))
                if frame["type"] == "message.new":
                    break
        assert frame["message"]["text"] == "no task for me"
    finally:
        server.stop()
