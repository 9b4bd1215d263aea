"""What a browser and a load balancer get from a production server behind a TLS proxy."""

import re

import pytest

from tests.deploy.conftest import HTTPS, Server

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "violet-kettle-orbit-42"


def sign_up(server: Server, login: str) -> str:
    """Registers over the API and returns an access token."""
    account = {"login": login, "password": PASSWORD, "name": login.title()}
    assert server.request("POST", "/api/auth/register/", account, HTTPS).status == 201
    tokens = server.request(
        "POST", "/api/auth/token/", {"login": login, "password": PASSWORD}, HTTPS
    )
    assert tokens.status == 200, tokens.body
    return str(tokens.json()["access"])


def assert_hardened(headers: object) -> None:
    get = headers.get  # type: ignore[attr-defined]
    assert get("Strict-Transport-Security") == "max-age=31536000; includeSubDomains; preload"
    assert get("X-Content-Type-Options") == "nosniff"
    assert get("X-Frame-Options") == "DENY"
    assert get("Referrer-Policy") == "same-origin"
    assert get("Cross-Origin-Opener-Policy") == "same-origin"


def test_api_answers_carry_the_security_headers(production_server: Server) -> None:
    access = sign_up(production_server, "hedy")

    answer = production_server.request(
        "GET", "/api/users/me/", headers={**HTTPS, "Authorization": f"Bearer {access}"}
    )

    assert answer.status == 200
    assert_hardened(answer.headers)
    assert answer.headers["Cache-Control"] == "no-store"


def test_pages_carry_the_security_headers_and_a_content_security_policy(
    production_server: Server,
) -> None:
    answer = production_server.request("GET", "/login/", headers=HTTPS)

    assert answer.status == 200
    assert_hardened(answer.headers)
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]


def test_plain_http_is_redirected_to_https(production_server: Server) -> None:
    for path in ("/login/", "/api/users/me/"):
        answer = production_server.request("GET", path)

        assert answer.status == 301, path
        assert answer.headers["Location"] == f"https://127.0.0.1:{production_server.port}{path}"
        # Pinning to https is only ever announced over https.
        assert "Strict-Transport-Security" not in answer.headers


def test_the_load_balancer_reaches_healthz_over_plain_http(production_server: Server) -> None:
    answer = production_server.request("GET", "/healthz")

    assert answer.status in {200, 503}  # a report either way, whatever the services do
    assert set(answer.json()) == {"db", "channel_layer", "broker"}
    assert answer.json()["db"] == "ok"


def test_signing_in_on_the_page_sets_secure_cookies(production_server: Server) -> None:
    """The session cookie is Secure and HttpOnly, the CSRF cookie Secure: neither ever travels
    over plain http, and no script reads the session."""
    sign_up(production_server, "grace")
    page = production_server.request("GET", "/login/", headers=HTTPS)
    csrf_cookie = page.cookies()["csrftoken"]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert token is not None
    origin = f"https://127.0.0.1:{production_server.port}"

    answer = production_server.request(
        "POST",
        "/login/",
        f"csrfmiddlewaretoken={token.group(1).decode()}&username=grace&password={PASSWORD}",
        {
            **HTTPS,
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": csrf_cookie.split(";", 1)[0],
            "Origin": origin,
            "Referer": f"{origin}/login/",
        },
    )

    assert answer.status == 302, answer.body[:500]
    session = answer.cookies()["sessionid"]
    assert "; Secure" in session
    assert "; HttpOnly" in session
    assert "; Secure" in csrf_cookie
