"""End to end through a real TLS proxy: nginx with the shipped configuration in front of two
daphne processes on the production settings (tests/deploy/tls_stack.py), over https and wss with
the certificate checked.

Sign in and post, and the post arrives live on a socket held by the other process; the throttles
count the client's own address, whatever X-Forwarded-For it sends; plain http is redirected to
https, where HSTS is sent; a socket whose process dies reconnects through the proxy to the other
one and catches up; files go up through the proxy's upload limit and come down by X-Accel-Redirect;
static files come from nginx.
"""

import asyncio
import gzip
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, cast

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed, InvalidStatus

from accounts.models import User
from accounts.services import tokens_issue
from chats.models import Attachment, Chat
from tests.clients import Client
from tests.deploy.tls_stack import (
    REGISTER_RATE,
    Stack,
    announce_only,
    multipart,
    query_of,
    require_stack,
    running_stack,
    wait_until,
)
from tests.factories import UserFactory, chat_factory
from tests.realtime.conftest import sync

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(90),
]

PASSWORD = "violet-kettle-orbit-42"
HSTS = "max-age=31536000; includeSubDomains; preload"


@pytest.fixture(scope="module")
def tls_stack(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_stack()
    with running_stack(tmp_path_factory.mktemp("tls-stack")) as stack:
        yield stack


@pytest.fixture
def stack(tls_stack: Stack, transactional_db: None) -> Iterator[Stack]:
    """The stack with both daphnes running. When the test ends, its sockets are closed on the
    servers, with their last writes, before the database is emptied for the next test."""
    tls_stack.revive()
    yield tls_stack
    wait_until(lambda: not any(tls_stack.sockets().values()), what="the test's sockets closed")


def sign_up(stack: Stack, login: str, *, source: str = "127.0.0.1", **headers: str) -> str:
    """Registers and signs in over https; the access token."""
    account = {"login": login, "password": PASSWORD, "name": login.title()}
    registered = stack.request("POST", "/api/auth/register/", account, headers, source=source)
    assert registered.status == 201, registered.body
    tokens = stack.request(
        "POST", "/api/auth/token/", {"login": login, "password": PASSWORD}, headers, source=source
    )
    assert tokens.status == 200, tokens.body
    return str(tokens.json()["access"])


def token_for(user: User) -> str:
    return str(tokens_issue(user=user)["access"])


async def landed(stack: Stack, before: dict[int, int]) -> int:
    """The daphne that took the socket just opened: the one with one socket more than before."""
    for _ in range(100):
        now = await asyncio.to_thread(stack.sockets)
        grown = [port for port, count in now.items() if count > before.get(port, 0)]
        if grown:
            assert len(grown) == 1, (before, now)
            return grown[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no daphne counts the new socket: {before}")


async def message_numbered(client: Client, seq: int) -> dict[str, Any]:
    """The live message with this seq, skipping earlier ones (a client hears its own posts)."""
    while True:
        message: dict[str, Any] = (await client.next_of("message.new"))["message"]
        if message["seq"] >= seq:
            assert message["seq"] == seq
            return message


@asynccontextmanager
async def socket_on(stack: Stack, token: str, port: int) -> AsyncIterator[Client]:
    """A socket through nginx that lands on the daphne on `port`. least_conn gives a new socket
    to the process with fewer open, so that is the next one, unless nginx still skips a process
    that refused it a moment ago (fail_timeout): then try again, a while."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:
        async with AsyncExitStack() as opened:
            before = await asyncio.to_thread(stack.sockets)
            client = await opened.enter_async_context(stack.socket(token))
            if await landed(stack, before) == port:
                yield client
                return
        if loop.time() > deadline:
            raise AssertionError(f"nginx never chose the daphne on port {port}")
        await asyncio.sleep(0.25)


async def test_signed_in_over_https_a_post_is_live_on_a_socket_of_the_other_process(
    stack: Stack,
) -> None:
    alice = await asyncio.to_thread(sign_up, stack, "alice")
    bob = await asyncio.to_thread(sign_up, stack, "bob")
    bob_id = (await asyncio.to_thread(stack.request, "GET", "/api/users/me/", token=bob)).json()[
        "id"
    ]
    created = await asyncio.to_thread(
        stack.request,
        "POST",
        "/api/chats/",
        {"chat_type": "group", "title": "Behind nginx", "member_ids": [bob_id]},
        token=alice,
    )
    assert created.status == 201, created.body
    chat_id = created.json()["id"]

    before = await asyncio.to_thread(stack.sockets)
    async with stack.socket(alice) as alice_ws:
        alices_process = await landed(stack, before)
        (bobs_process,) = set(stack.daphne_ports) - {alices_process}
        async with socket_on(stack, bob, bobs_process) as bob_ws:
            await alice_ws.send(
                {"type": "message.send", "ref": "m1", "chat_id": chat_id, "text": "over wss"}
            )
            assert (await alice_ws.next_of("ack"))["message"]["seq"] == 1
            assert (await bob_ws.next_of("message.new"))["message"]["text"] == "over wss"

            posted = await asyncio.to_thread(
                stack.request,
                "POST",
                f"/api/chats/{chat_id}/messages/",
                {"text": "over https"},
                token=bob,
            )
            assert posted.status == 201, posted.body
            live = await message_numbered(alice_ws, 2)

    assert live["text"] == "over https"


def test_the_throttles_count_the_clients_address_and_ignore_its_x_forwarded_for(
    stack: Stack,
) -> None:
    """Registrations are limited per client address (THROTTLE_REGISTER, 3/min on these
    servers). A client that claims another address in each request's X-Forwarded-For still
    spends its own budget; a client at another address has a budget of its own."""
    statuses = [
        stack.request(
            "POST",
            "/api/auth/register/",
            {},  # invalid, so nothing is made; the attempt counts all the same
            {"X-Forwarded-For": f"203.0.113.{n}"},
            source="127.0.0.2",
        ).status
        for n in range(REGISTER_RATE + 2)
    ]
    elsewhere = stack.request("POST", "/api/auth/register/", {}, source="127.0.0.3")

    assert statuses == [400] * REGISTER_RATE + [429, 429]
    assert elsewhere.status == 400


def test_a_sign_in_is_recorded_with_the_clients_address_not_the_one_it_claims(
    stack: Stack,
) -> None:
    access = sign_up(stack, "hedy", source="127.0.0.4", **{"X-Forwarded-For": "198.51.100.7"})

    sessions = stack.request("GET", "/api/auth/sessions/", token=access).json()

    assert [session["ip"] for session in sessions] == ["127.0.0.4"]


def test_plain_http_is_redirected_to_https_where_hsts_is_sent(stack: Stack) -> None:
    redirected = stack.request_http("GET", "/login/?next=/chats/1/")
    api = stack.request_http("POST", "/api/auth/token/")
    health = stack.request_http("GET", "/healthz")  # the load balancer's probe stays on http
    page = stack.request("GET", "/login/")

    assert redirected.status == 301
    assert redirected.headers["Location"] == (
        f"https://127.0.0.1:{stack.https_port}/login/?next=/chats/1/"
    )
    assert "Strict-Transport-Security" not in redirected.headers
    assert api.status == 301
    assert health.status in {200, 503}
    assert health.json()["db"] == "ok"
    assert page.status == 200
    assert page.headers["Strict-Transport-Security"] == HSTS
    assert "; Secure" in page.cookies()["csrftoken"]


async def test_a_browser_signs_in_on_the_page_and_opens_its_socket_from_its_own_origin(
    stack: Stack,
) -> None:
    """The app sees the browser's host and port and that it came over https: the CSRF check
    passes the sign-in form, and the WebSocket origin check the page's socket, and refuses a
    page of the same host served over plain http."""
    await asyncio.to_thread(sign_up, stack, "grace")
    page = await asyncio.to_thread(stack.request, "GET", "/login/")
    csrf_cookie = page.cookies()["csrftoken"].split(";", 1)[0]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert token is not None
    form = f"csrfmiddlewaretoken={token.group(1).decode()}&username=grace&password={PASSWORD}"

    signed_in = await asyncio.to_thread(
        stack.request,
        "POST",
        "/login/",
        form.encode(),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": csrf_cookie,
            "Origin": stack.origin,
            "Referer": f"{stack.origin}/login/",
        },
    )
    assert signed_in.status == 302, signed_in.body[:500]
    session = signed_in.cookies()["sessionid"]
    assert "; Secure" in session
    cookie = session.split(";", 1)[0]

    async with stack.socket(origin=stack.origin, cookie=cookie) as socket:
        assert socket.hello["user"]["login"] == "grace"
    with pytest.raises(InvalidStatus) as refused:
        async with stack.socket(origin=f"http://127.0.0.1:{stack.https_port}", cookie=cookie):
            pass
    assert refused.value.response.status_code == 403


async def test_a_socket_whose_process_dies_reconnects_through_nginx_and_catches_up(
    stack: Stack,
) -> None:
    """Alice's socket is on one process, bob's on the other. Alice's process is killed; her
    client reconnects to the same address, nginx takes it to the surviving process, and `sync`
    from the last seq she saw brings what was posted meanwhile. The killed process, started
    again, takes new sockets again."""
    alice = await sync(UserFactory)(login="alice")
    bob = await sync(UserFactory)(login="bob")
    chat: Chat = await sync(chat_factory)(alice, [bob])
    alice_token, bob_token = await sync(token_for)(alice), await sync(token_for)(bob)

    async def post(text: str) -> None:
        answer = await asyncio.to_thread(
            stack.request,
            "POST",
            f"/api/chats/{chat.pk}/messages/",
            {"text": text},
            token=bob_token,
        )
        assert answer.status == 201, answer.body

    before = await asyncio.to_thread(stack.sockets)
    async with stack.socket(alice_token) as alice_ws:
        doomed = await landed(stack, before)
        (survivor,) = set(stack.daphne_ports) - {doomed}
        async with socket_on(stack, bob_token, survivor) as bob_ws:
            await post("m1")
            last_seen = (await alice_ws.next_of("message.new"))["message"]["seq"]

            await asyncio.to_thread(stack.kill, doomed)
            with pytest.raises(ConnectionClosed):
                await alice_ws.read_until_closed(timeout=10)
            for n in range(2, 5):
                await post(f"m{n}")

            async with stack.socket(alice_token) as again:
                state = {c["id"]: c for c in again.hello["chats"]}[chat.pk]
                missed = await again.sync_from(chat.pk, last_seen)
                await post("m5")
                live = (await again.next_of("message.new"))["message"]
                sockets = await asyncio.to_thread(stack.sockets)
            assert (await message_numbered(bob_ws, 2))["text"] == "m2"

    assert last_seen == 1
    assert state["last_seq"] == 4
    assert [(m["seq"], m["text"]) for m in missed] == [(2, "m2"), (3, "m3"), (4, "m4")]
    assert (live["seq"], live["text"]) == (5, "m5")
    assert sockets == {survivor: 2}  # bob's and alice's new one

    await asyncio.to_thread(stack.restart, doomed)
    async with socket_on(stack, alice_token, doomed) as back:
        assert {c["id"]: c for c in back.hello["chats"]}[chat.pk]["last_seq"] == 5


def upload(stack: Stack, token: str, chat: Chat, name: str, content: bytes) -> dict[str, Any]:
    body, content_type = multipart(name, content)
    answer = stack.request(
        "POST",
        f"/api/chats/{chat.pk}/attachments/",
        body,
        {"Content-Type": content_type},
        token=token,
    )
    assert answer.status == 201, answer.body
    uploaded: dict[str, Any] = answer.json()
    return uploaded


def png() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_file_goes_up_through_the_upload_limit_and_comes_down_by_x_accel_redirect(
    stack: Stack,
) -> None:
    """An upload larger than the 256 KiB every other request may send passes nginx and is
    streamed to the app, never spooled to nginx's disk; its download is checked by the app and
    sent by nginx from ATTACHMENT_ROOT, with the app's headers that keep a file harmless."""
    alice = cast(User, UserFactory(login="alice"))
    chat = chat_factory(alice, [])
    token = token_for(alice)
    content = bytes(range(256)) * 4096  # 1 MiB: past what nginx would keep in memory (320 KiB)

    blob = upload(stack, token, chat, "notes.bin", content)
    image = upload(stack, token, chat, "photo.png", png())
    download = stack.request("GET", query_of(blob["url"]))
    shown = stack.request("GET", query_of(image["url"]))
    key = Attachment.objects.get(pk=blob["id"]).key
    direct = stack.request("GET", f"/protected-attachments/{key}")

    assert download.status == 200
    assert download.body == content
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Cache-Control"] == "private, max-age=3600"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert download.headers["Strict-Transport-Security"] == HSTS
    assert "X-Accel-Redirect" not in download.headers
    assert shown.status == 200
    assert shown.headers["Content-Type"] == "image/png"
    assert shown.body.startswith(b"\x89PNG")
    assert direct.status == 404  # internal: only the app's answer reaches it
    # What nginx says when it writes a body larger than its buffer (256k) to a temporary file.
    assert "buffered to a temporary file" not in stack.nginx_log()
    # The signed URL is a credential: nginx logs the path the client asked for, not the query.
    assert f'"GET /api/attachments/{blob["id"]}/ HTTP/1.1" 200' in stack.nginx_access_log()
    assert "grant=" not in stack.nginx_access_log()


def test_bodies_over_the_apps_limits_are_refused_by_nginx(stack: Stack) -> None:
    """256 KiB for any request, ATTACHMENT_MAX_BYTES and 64 KiB of framing for an upload: past
    them nginx answers 413 itself and the app never sees the request."""
    alice = cast(User, UserFactory(login="alice"))
    chat = chat_factory(alice, [])
    token = token_for(alice)
    too_long = {"text": "x" * (256 * 1024)}

    posted = stack.request("POST", f"/api/chats/{chat.pk}/messages/", too_long, token=token)
    uploaded = announce_only(
        stack,
        f"/api/chats/{chat.pk}/attachments/",
        settings.ATTACHMENT_BODY_MAX_BYTES + 1,
        "multipart/form-data; boundary=x",
    )

    for refused in (posted, uploaded):
        assert refused.status == 413
        assert refused.headers["Content-Type"] == "text/html"  # nginx's page, not the app's JSON
    assert f"/api/chats/{chat.pk}/" not in stack.app_access_logs()


def test_static_files_come_from_nginx_and_metrics_stay_inside(stack: Stack) -> None:
    served = stack.request("GET", "/static/chats/app.css", headers={"Accept-Encoding": "gzip"})
    metrics = stack.request("GET", "/metrics")

    assert served.status == 200
    assert served.headers["Content-Type"] == "text/css"
    assert served.headers["Content-Encoding"] == "gzip"  # collectstatic's compressed copy
    assert gzip.decompress(served.body) == (stack.static_root / "chats" / "app.css").read_bytes()
    assert "/static/" not in stack.app_access_logs()
    assert metrics.status == 404
