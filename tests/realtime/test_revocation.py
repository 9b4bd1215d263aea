"""Revocation holds everywhere: a password change or a deactivation, however it is made, voids the
tokens and sockets the user held before it, and reactivating the account revives none of them.

Sockets hear it through the channel layer at once; if that never arrives, each socket re-checks
on its heartbeat and before each write it makes (accounts/credentials.py).
"""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import tokens_issue
from chatproject.asgi import application
from chats.models import Message
from chats.realtime import events
from tests.factories import PASSWORD, chat_factory
from tests.realtime.conftest import HOST, ORIGIN, Socket, sync
from tests.revocation import (
    CAUSES,
    logout_of,
    refresh_status,
    rest_status,
    shell_password_change,
)

pytestmark = pytest.mark.django_db(transaction=True)

REVOKED = {"type": "websocket.close", "code": 4403}


@pytest.mark.parametrize("cause", CAUSES)
async def test_a_change_made_anywhere_voids_the_old_tokens_and_closes_the_sockets(
    connect: Any, user: User, cause: str
) -> None:
    tokens: dict[str, Any] = await sync(tokens_issue)(user=user)
    socket: Socket = await connect(user, token=tokens["access"])

    await sync(CAUSES[cause])(user, tokens)

    assert await socket.receive_output(timeout=1) == REVOKED
    assert await sync(rest_status)(tokens["access"]) == 401
    assert await sync(refresh_status)(tokens["refresh"]) == 401


async def test_reactivating_an_account_revives_nothing(connect: Any, user: User) -> None:
    tokens: dict[str, Any] = await sync(tokens_issue)(user=user)

    def deactivate_then_reactivate() -> None:
        fresh = User.objects.get(pk=user.pk)
        fresh.is_active = False
        fresh.save()
        fresh.is_active = True
        fresh.save()

    await sync(deactivate_then_reactivate)()

    assert await sync(rest_status)(tokens["access"]) == 401
    assert await sync(refresh_status)(tokens["refresh"]) == 401
    socket = socket_with(tokens["access"])
    connected, _ = await socket.connect()
    assert connected
    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    signed_in = {"login": user.login, "password": PASSWORD}
    again = await sync(APIClient().post)("/api/auth/token/", signed_in, format="json")
    assert again.status_code == 200  # signing in again works


def socket_with(access: str) -> Socket:
    return Socket(application, "/ws/", headers=[ORIGIN, HOST], subprotocols=["bearer", access])


@pytest.fixture
def layer_loses_every_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """The channel layer never delivers: the close that revocation publishes never comes."""
    monkeypatch.setattr(events, "_group_send", lambda group, event: None)


async def test_a_socket_rechecks_on_its_heartbeat_when_the_close_never_comes(
    connect: Any, user: User, settings: Any, layer_loses_every_event: None
) -> None:
    settings.PRESENCE_HEARTBEAT_SECONDS = 0.2
    socket: Socket = await connect(user)

    await sync(shell_password_change)(user)

    assert await socket.receive_output(timeout=1) == REVOKED


async def test_a_socket_rechecks_before_it_writes(
    connect: Any, user: User, other_user: User, layer_loses_every_event: None
) -> None:
    chat = await sync(chat_factory)(user, [other_user])
    socket: Socket = await connect(user)
    await sync(shell_password_change)(user)

    await socket.send_json_to({"type": "message.send", "chat_id": chat.pk, "text": "too late"})

    assert await socket.receive_output(timeout=1) == REVOKED
    assert not await sync(Message.objects.filter(chat=chat).exists)()


@pytest.mark.parametrize("cause", ["logout", "the session ended from the list"])
async def test_ending_one_session_leaves_the_users_other_sockets_open(
    connect: Any, user: User, cause: str
) -> None:
    ended: dict[str, Any] = await sync(tokens_issue)(user=user)
    doomed: Socket = await connect(user, token=ended["access"])
    survivor: Socket = await connect(user)

    await sync(CAUSES[cause])(user, ended)

    assert await doomed.receive_output(timeout=1) == REVOKED
    await survivor.send_json_to({"type": "ping"})
    assert await survivor.expect("pong") == {"type": "pong"}


async def test_a_logged_out_sessions_socket_rechecks_when_the_close_never_comes(
    connect: Any, user: User, other_user: User, layer_loses_every_event: None
) -> None:
    """Security review finding 15, with the channel layer down: the socket's own check before a
    write finds its login session ended."""
    chat = await sync(chat_factory)(user, [other_user])
    tokens: dict[str, Any] = await sync(tokens_issue)(user=user)
    socket: Socket = await connect(user, token=tokens["access"])
    await sync(logout_of)(user, tokens)

    await socket.send_json_to({"type": "message.send", "chat_id": chat.pk, "text": "too late"})

    assert await socket.receive_output(timeout=1) == REVOKED
    assert not await sync(Message.objects.filter(chat=chat).exists)()
