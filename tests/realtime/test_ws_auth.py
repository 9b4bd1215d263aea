"""Who may open a socket, and how a socket's authentication ends."""

import asyncio
import threading
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from accounts import services as account_services
from accounts.models import User
from chats.realtime import consumer
from tests.factories import PASSWORD, chat_factory
from tests.realtime.conftest import HOST, ORIGIN, access_token, sync

pytestmark = pytest.mark.django_db(transaction=True)


async def session_cookie(client: Client, user: User) -> bytes:
    """The cookie of a browser signed in as the user."""
    await sync(client.login)(login=user.login, password=PASSWORD)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def test_a_bearer_subprotocol_opens_the_socket_and_says_hello(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])

    socket = await connect(user)

    assert socket.hello["user"]["login"] == "alice"
    assert "password" not in socket.hello["user"]
    assert socket.hello["chats"] == [
        {"id": chat.pk, "last_seq": 0, "version": 1, "unread_count": 0, "mention_count": 0}
    ]
    assert socket.hello["user_version"] == 1  # one change of alice's chat list: the chat


async def test_a_first_auth_frame_opens_the_socket(raw_socket, user):
    socket = raw_socket()
    connected, _ = await socket.connect()
    assert connected

    await socket.send_json_to({"type": "auth", "token": await access_token(user)})

    hello = await socket.expect("hello")
    assert hello["user"]["id"] == user.pk


async def test_frames_before_auth_get_an_error_and_the_socket_stays(raw_socket, user):
    socket = raw_socket()
    await socket.connect()

    await socket.send_json_to({"type": "ping", "ref": 1})

    error = await socket.expect("error")
    assert error["code"] == "unauthenticated"
    assert error["ref"] == 1
    await socket.send_json_to({"type": "auth", "token": await access_token(user)})
    await socket.expect("hello")


async def test_a_bad_token_closes_with_4401(raw_socket):
    socket = raw_socket(subprotocols=["bearer", "not-a-token"])
    connected, _ = await socket.connect()
    assert connected

    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_a_bad_auth_frame_closes_with_4401(raw_socket):
    socket = raw_socket()
    await socket.connect()

    await socket.send_json_to({"type": "auth", "token": "forged"})

    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_a_deactivated_users_token_is_refused(raw_socket, user):
    token = await access_token(user)
    user.is_active = False
    await sync(user.save)()

    socket = raw_socket(subprotocols=["bearer", token])
    await socket.connect()

    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_no_auth_within_the_deadline_closes_with_4401(raw_socket, monkeypatch):
    monkeypatch.setattr("chats.realtime.consumer.AUTH_TIMEOUT_SECONDS", 0.2)
    socket = raw_socket()
    await socket.connect()

    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_an_origin_outside_allowed_hosts_is_refused_at_the_handshake(raw_socket, user):
    socket = raw_socket(
        headers=[(b"origin", b"https://evil.example")],
        subprotocols=["bearer", await access_token(user)],
    )

    connected, _ = await socket.connect()

    assert not connected


@pytest.mark.parametrize(
    "origin",
    [
        b"http://localhost:6666",  # another port of the same host: finding 8 of the review
        b"https://localhost",  # another scheme
        b"http://127.0.0.1",  # another allowed host, but not the one the page is on
        b"null",  # a sandboxed page or a file
        b"http://localhost.evil.example",
    ],
)
async def test_an_origin_that_is_not_exactly_the_servers_own_is_refused(
    raw_socket, user, client, origin
):
    cookie = await session_cookie(client, user)
    socket = raw_socket(headers=[(b"origin", origin), (b"host", b"localhost"), (b"cookie", cookie)])

    connected, _ = await socket.connect()

    assert not connected


async def test_an_origin_in_csrf_trusted_origins_may_connect(raw_socket, user, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    socket = raw_socket(
        headers=[(b"origin", b"https://app.example.com"), (b"host", b"localhost")],
        subprotocols=["bearer", await access_token(user)],
    )

    connected, _ = await socket.connect()

    assert connected


async def test_behind_a_tls_proxy_the_https_origin_is_the_servers_own(raw_socket, user, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    headers = [(b"host", b"localhost"), (b"x-forwarded-proto", b"https")]
    https = raw_socket(
        headers=[(b"origin", b"https://localhost"), *headers],
        subprotocols=["bearer", await access_token(user)],
    )
    http = raw_socket(
        headers=[(b"origin", b"http://localhost"), *headers],
        subprotocols=["bearer", await access_token(user)],
    )

    assert (await https.connect())[0]
    assert not (await http.connect())[0]


async def test_a_native_client_without_origin_may_connect(raw_socket, user):
    socket = raw_socket(headers=[], subprotocols=["bearer", await access_token(user)])

    connected, _ = await socket.connect()

    assert connected
    await socket.expect("hello")


async def test_a_browser_session_authenticates_the_socket(raw_socket, user, client):
    cookie = await session_cookie(client, user)
    socket = raw_socket(
        headers=[(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie)]
    )

    connected, _ = await socket.connect()

    assert connected
    hello = await socket.expect("hello")
    assert hello["user"]["id"] == user.pk


@pytest.mark.parametrize("by", ["token", "session"])
async def test_a_socket_is_accepted_while_the_database_thread_is_busy(raw_socket, user, client, by):
    """In a burst of connects the process's database thread has a queue, and daphne refuses a
    socket it has not accepted within its connect timeout: the handshake waits for no database
    work, and the hello follows once the queue has moved."""
    headers = [ORIGIN, HOST]
    options = {}
    if by == "token":
        options["subprotocols"] = ["bearer", await access_token(user)]
    else:
        headers.append((b"cookie", await session_cookie(client, user)))
    socket = raw_socket(headers=headers, **options)
    queue_moves = threading.Event()
    busy = asyncio.ensure_future(sync(queue_moves.wait)())
    try:
        connected, _ = await socket.connect(timeout=1)
        assert connected
        assert await socket.receive_nothing(timeout=0.2)  # no hello while the database is busy
    finally:
        queue_moves.set()
        await busy

    hello = await socket.expect("hello")
    assert hello["user"]["id"] == user.pk


async def test_a_browser_socket_opened_while_the_database_is_down_closes_with_4503(
    raw_socket, user, client, monkeypatch
):
    """As a token socket does: "try again later", and the page reconnects by itself."""
    cookie = await session_cookie(client, user)

    async def database_down(scope: dict) -> User:
        raise OperationalError("the database is restarting")

    monkeypatch.setattr(consumer, "get_user", database_down)
    socket = raw_socket(
        headers=[(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie)]
    )

    connected, _ = await socket.connect()

    assert connected
    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4503}


async def test_a_socket_closes_when_its_token_expires(raw_socket, user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=1))
    socket = raw_socket(subprotocols=["bearer", str(token)])
    await socket.connect()
    await socket.expect("hello")

    assert await socket.receive_output(timeout=4) == {"type": "websocket.close", "code": 4401}


async def test_a_fresh_token_keeps_an_expiring_socket_open(raw_socket, user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=1))
    socket = raw_socket(subprotocols=["bearer", str(token)])
    await socket.connect()
    await socket.expect("hello")

    await socket.send_json_to({"type": "auth", "token": await access_token(user)})
    await asyncio.sleep(1.5)
    await socket.send_json_to({"type": "ping"})

    await socket.expect("pong")


async def test_another_users_token_cannot_take_over_a_socket(connect, user, other_user):
    socket = await connect(user)

    await socket.send_json_to({"type": "auth", "token": await access_token(other_user)})

    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_logout_closes_that_sessions_sockets_with_4403(connect, user):
    tokens = await sync(account_services.tokens_issue)(user=user)
    other_session = await connect(user)
    socket = await connect(user, token=tokens["access"])

    await sync(account_services.logout)(user=user, refresh=tokens["refresh"])

    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
    await other_session.send_json_to({"type": "ping"})
    await other_session.expect("pong")


async def test_a_session_survives_a_token_refresh_and_logout_still_closes_it(connect, user):
    first = await sync(account_services.tokens_issue)(user=user)
    refreshed = await sync(account_services.tokens_refresh)(refresh=first["refresh"])
    socket = await connect(user, token=refreshed["access"])

    await sync(account_services.logout)(user=user, refresh=refreshed["refresh"])

    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_a_password_change_closes_every_socket_of_the_user(connect, user):
    sockets = [await connect(user), await connect(user)]

    await sync(account_services.user_password_change)(
        user=user, old_password=PASSWORD, new_password="another-long-passphrase"
    )

    for socket in sockets:
        assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_deactivation_closes_every_socket_of_the_user(connect, user: User):
    socket = await connect(user)

    await sync(account_services.user_deactivate)(user=user)

    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
