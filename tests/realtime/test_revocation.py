"""Revocation holds everywhere: a password change or a deactivation, however it is made, voids the
tokens and sockets the user held before it, and reactivating the account revives none of them.

Sockets hear it through the channel layer at once; if that never arrives, each socket re-checks
on its heartbeat and before each write it makes (accounts/credentials.py).
"""

from typing import Any, cast

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import tokens_issue
from chatproject.asgi import application
from chats.models import Message
from chats.realtime import events
from tests.factories import PASSWORD, UserFactory, chat_factory
from tests.realtime.conftest import HOST, ORIGIN, Socket, sync

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a-brand-new-passphrase-42"  # noqa: S105
REVOKED = {"type": "websocket.close", "code": 4403}


def rest_status(access: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return int(client.get("/api/users/me/").status_code)


def refresh_status(refresh: str) -> int:
    response = APIClient().post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")
    return int(response.status_code)


def superuser() -> User:
    return cast(User, UserFactory(login="root", is_staff=True, is_superuser=True))


def as_admin(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def shell_password_change(user: User) -> None:
    fresh = User.objects.get(pk=user.pk)
    fresh.set_password(NEW_PASSWORD)
    fresh.save()


def admin_password_change(user: User) -> None:
    root = superuser()
    response = as_admin(root).post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content


def admin_unticks_active(user: User) -> None:
    root = superuser()
    response = as_admin(root).post(
        f"/admin/accounts/user/{user.pk}/change/",
        {"login": user.login, "name": user.name, "status": "offline"},  # "is_active" unticked
    )
    assert response.status_code == 302, response.content
    assert not User.objects.get(pk=user.pk).is_active


@pytest.mark.parametrize(
    "revoke", [shell_password_change, admin_password_change, admin_unticks_active]
)
async def test_a_change_made_anywhere_voids_the_old_tokens_and_closes_the_sockets(
    connect: Any, user: User, revoke: Any
) -> None:
    tokens: dict[str, Any] = await sync(tokens_issue)(user=user)
    socket: Socket = await connect(user, token=tokens["access"])

    await sync(revoke)(user)

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


def logout(user: User, access: str, refresh: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.post("/api/auth/logout/", {"refresh": refresh}, format="json").status_code == 204


async def test_ending_a_session_from_the_list_closes_its_socket_and_only_its_own(
    connect: Any, user: User
) -> None:
    ended: dict[str, Any] = await sync(tokens_issue)(user=user)
    kept: dict[str, Any] = await sync(tokens_issue)(user=user)
    doomed: Socket = await connect(user, token=ended["access"])
    survivor: Socket = await connect(user, token=kept["access"])

    def end_the_first() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {kept['access']}")
        sessions = client.get("/api/auth/sessions/").json()
        [first] = [s for s in sessions if not s["current"]]
        assert client.delete(f"/api/auth/sessions/{first['id']}/").status_code == 204

    await sync(end_the_first)()

    assert await doomed.receive_output(timeout=1) == REVOKED
    assert await sync(rest_status)(ended["access"]) == 401
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
    await sync(logout)(user, tokens["access"], tokens["refresh"])

    await socket.send_json_to({"type": "message.send", "chat_id": chat.pk, "text": "too late"})

    assert await socket.receive_output(timeout=1) == REVOKED
    assert not await sync(Message.objects.filter(chat=chat).exists)()
