"""No password and no token ever reaches a log line: not the app's loggers at DEBUG, not
django.request's error lines, not daphne's own log or its access log.

A user signs up, signs in (JSON and the OAuth2 form grant), refreshes, posts, fails to sign in,
sends a forged token, opens a socket with the bearer subprotocol and signs out; then every log
line is searched for the password and for each token (whole, and its signature alone, in case a
line cut it short).
"""

import json
import logging
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.deploy.conftest import HTTPS, Server

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "violet-kettle-orbit-42"
WRONG_PASSWORD = "amber-teapot-comet-17"


def secrets_in(tokens: list[str]) -> list[str]:
    return [PASSWORD, WRONG_PASSWORD, *tokens, *(token.rsplit(".", 1)[-1] for token in tokens)]


def assert_nothing_leaks(text: str, secrets: list[str]) -> None:
    assert text  # the logs were captured at all
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == [], "\n".join(
        line for line in text.splitlines() if any(s in line for s in leaked)
    )


def test_the_app_logs_no_secret_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = APIClient()
    tokens: list[str] = []

    client.post(
        "/api/auth/register/",
        {"login": "ada", "password": PASSWORD, "name": "Ada"},
        format="json",
    )
    pair = client.post(
        "/api/auth/token/", {"login": "ada", "password": PASSWORD}, format="json"
    ).json()
    form = urlencode({"grant_type": "password", "username": "ada", "password": PASSWORD})
    grant = client.post(
        "/api/auth/token/", form, content_type="application/x-www-form-urlencoded"
    ).json()
    refreshed = client.post(
        "/api/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
    ).json()
    tokens += [pair["access"], pair["refresh"], grant["access"], grant["refresh"]]
    tokens += [refreshed["access"], refreshed["refresh"]]
    # The form grant's refresh token, rotated away and presented again: a 401 that logs a
    # warning, and ends that login session (the other one goes on below).
    client.post("/api/auth/token/refresh/", {"refresh": grant["refresh"]}, format="json")
    reused = client.post("/api/auth/token/refresh/", {"refresh": grant["refresh"]}, format="json")
    wrong = client.post(
        "/api/auth/token/", {"login": "ada", "password": WRONG_PASSWORD}, format="json"
    )
    forged = client.get("/api/users/me/", HTTP_AUTHORIZATION=f"Bearer {pair['access']}x")

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed['access']}")
    chat = client.post("/api/chats/", {"title": "Logs", "chat_type": "group"}, format="json")
    posted = client.post(
        f"/api/chats/{chat.json()['id']}/messages/", {"text": "hello"}, format="json"
    )
    out = client.post("/api/auth/logout/", {"refresh": refreshed["refresh"]}, format="json")

    assert (reused.status_code, wrong.status_code, forged.status_code) == (401, 401, 401)
    assert (posted.status_code, out.status_code) == (201, 204)
    assert any(record.name == "django.request" for record in caplog.records)
    assert_nothing_leaks(caplog.text, secrets_in(tokens))


def test_the_server_logs_no_secret(production_server: Server) -> None:
    """The same story against a real daphne on the production settings, logging at DEBUG, with
    its access log on, and a socket that authenticates with the bearer subprotocol."""
    server = production_server
    tokens: list[str] = []
    account = {"login": "lin", "password": PASSWORD, "name": "Lin"}
    assert server.request("POST", "/api/auth/register/", account, HTTPS).status == 201
    pair = server.request(
        "POST", "/api/auth/token/", {"login": "lin", "password": PASSWORD}, HTTPS
    ).json()
    refreshed = server.request(
        "POST", "/api/auth/token/refresh/", {"refresh": pair["refresh"]}, HTTPS
    ).json()
    tokens += [pair["access"], pair["refresh"], refreshed["access"], refreshed["refresh"]]
    wrong = server.request(
        "POST", "/api/auth/token/", {"login": "lin", "password": WRONG_PASSWORD}, HTTPS
    )
    # A second sign-in whose refresh token is rotated away and presented again: a 401 that ends
    # that login session, not this one.
    other = server.request(
        "POST", "/api/auth/token/", {"login": "lin", "password": PASSWORD}, HTTPS
    ).json()
    tokens += [other["access"], other["refresh"]]
    server.request("POST", "/api/auth/token/refresh/", {"refresh": other["refresh"]}, HTTPS)
    reused = server.request(
        "POST", "/api/auth/token/refresh/", {"refresh": other["refresh"]}, HTTPS
    )
    forged = server.request(
        "GET", "/api/users/me/", headers={**HTTPS, "Authorization": f"Bearer {pair['access']}x"}
    )
    bearer = {**HTTPS, "Authorization": f"Bearer {refreshed['access']}"}
    chat = server.request("POST", "/api/chats/", {"title": "Logs", "chat_type": "group"}, bearer)
    posted = server.request(
        "POST", f"/api/chats/{chat.json()['id']}/messages/", {"text": "hello"}, bearer
    )

    url = f"ws://127.0.0.1:{server.port}/ws/"
    with connect(url, subprotocols=["bearer", refreshed["access"]]) as socket:  # type: ignore[list-item]
        hello = json.loads(socket.recv(timeout=10))
    forged_protocols = ["bearer", f"{refreshed['access']}x"]
    with connect(url, subprotocols=forged_protocols) as socket:  # type: ignore[arg-type]
        with pytest.raises(ConnectionClosed) as refused:
            socket.recv(timeout=10)
    out = server.request("POST", "/api/auth/logout/", {"refresh": refreshed["refresh"]}, bearer)

    assert (wrong.status, reused.status, forged.status) == (401, 401, 401)
    assert (posted.status, out.status) == (201, 204)
    assert hello["type"] == "hello"
    assert refused.value.rcvd is not None
    assert refused.value.rcvd.code == 4401
    logs = server.logs()
    assert "/api/auth/token/" in logs  # the access log is there to search
    assert_nothing_leaks(logs, secrets_in(tokens))
