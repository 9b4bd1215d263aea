"""Login sessions: every sign-in, token or browser, is a session its user sees and can end.

Ending one stops its tokens at once (not at their expiry) and signs its browser out. A refresh
token used a second time means someone holds a copy, so its whole session ends."""

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import PASSWORD

SESSIONS = "/api/auth/sessions/"
TOKEN = "/api/auth/token/"
REFRESH = "/api/auth/token/refresh/"
LOGOUT = "/api/auth/logout/"
ME = "/api/users/me/"

SignIn = Callable[..., dict[str, str]]
Bearer = Callable[[str], APIClient]


def sign_in_from(anon: APIClient, user: User, device: str) -> dict[str, str]:
    body = {"login": user.login, "password": PASSWORD}
    response = anon.post(TOKEN, body, format="json", HTTP_USER_AGENT=device)
    assert response.status_code == 200, response.content
    return dict(response.json())


def listed(client: APIClient) -> list[dict[str, Any]]:
    response = client.get(SESSIONS)
    assert response.status_code == 200, response.content
    return list(response.json())


def test_each_sign_in_is_a_session_with_its_device_and_the_current_one_marked(
    anon: APIClient, user: User, bearer: Bearer
) -> None:
    sign_in_from(anon, user, "Phone/1.0")
    laptop = sign_in_from(anon, user, "Laptop/2.0")

    sessions = listed(bearer(laptop["access"]))

    assert {s["user_agent"]: s["current"] for s in sessions} == {
        "Laptop/2.0": True,
        "Phone/1.0": False,
    }
    assert all(
        set(s) == {"id", "created", "last_used", "user_agent", "ip", "current"} for s in sessions
    )
    assert sessions[0]["ip"] == "127.0.0.1"


def test_refreshing_stays_in_the_same_session(anon: APIClient, user: User, bearer: Bearer) -> None:
    first = sign_in_from(anon, user, "Phone/1.0")
    before = listed(bearer(first["access"]))

    again = anon.post(REFRESH, {"refresh": first["refresh"]}, format="json").json()

    after = listed(bearer(again["access"]))
    assert [s["id"] for s in after] == [s["id"] for s in before]
    assert after[0]["last_used"] >= before[0]["last_used"]
    assert after[0]["current"]


def test_logout_stops_that_sessions_access_token_at_once(
    anon: APIClient, user: User, bearer: Bearer
) -> None:
    """Security review finding 15: after logout the access token worked for up to 15 minutes."""
    pair = sign_in_from(anon, user, "Phone/1.0")
    other = sign_in_from(anon, user, "Laptop/2.0")
    phone = bearer(pair["access"])

    assert phone.post(LOGOUT, {"refresh": pair["refresh"]}, format="json").status_code == 204

    assert phone.get(ME).status_code == 401
    assert bearer(other["access"]).get(ME).status_code == 200
    assert [s["user_agent"] for s in listed(bearer(other["access"]))] == ["Laptop/2.0"]


def test_a_refresh_token_used_twice_ends_its_whole_session(
    anon: APIClient, user: User, bearer: Bearer
) -> None:
    """Security review finding 18: reusing a rotated-away refresh token went unnoticed."""
    stolen = sign_in_from(anon, user, "Phone/1.0")
    rotated = anon.post(REFRESH, {"refresh": stolen["refresh"]}, format="json").json()

    reuse = anon.post(REFRESH, {"refresh": stolen["refresh"]}, format="json")

    assert reuse.status_code == 401
    assert bearer(rotated["access"]).get(ME).status_code == 401
    assert anon.post(REFRESH, {"refresh": rotated["refresh"]}, format="json").status_code == 401


def test_ending_a_session_from_the_list_stops_it_and_leaves_mine(
    anon: APIClient, user: User, bearer: Bearer
) -> None:
    phone = sign_in_from(anon, user, "Phone/1.0")
    laptop = bearer(sign_in_from(anon, user, "Laptop/2.0")["access"])
    [phone_session] = [s for s in listed(laptop) if not s["current"]]

    assert laptop.delete(f"{SESSIONS}{phone_session['id']}/").status_code == 204

    assert bearer(phone["access"]).get(ME).status_code == 401
    assert anon.post(REFRESH, {"refresh": phone["refresh"]}, format="json").status_code == 401
    assert [s["user_agent"] for s in listed(laptop)] == ["Laptop/2.0"]
    assert laptop.delete(f"{SESSIONS}{phone_session['id']}/").status_code == 404


def test_someone_elses_session_is_404_and_stays(
    anon: APIClient, user: User, other_user: User, bearer: Bearer
) -> None:
    bobs = sign_in_from(anon, other_user, "Bob/1.0")
    alice = bearer(sign_in_from(anon, user, "Alice/1.0")["access"])
    [bobs_session] = listed(bearer(bobs["access"]))

    assert alice.delete(f"{SESSIONS}{bobs_session['id']}/").status_code == 404
    assert bearer(bobs["access"]).get(ME).status_code == 200


def test_revoke_others_ends_every_session_but_mine(
    anon: APIClient, user: User, bearer: Bearer
) -> None:
    others = [sign_in_from(anon, user, f"Old/{n}") for n in range(3)]
    mine = bearer(sign_in_from(anon, user, "Laptop/2.0")["access"])

    assert mine.post(f"{SESSIONS}revoke-others/").status_code == 204

    assert all(bearer(pair["access"]).get(ME).status_code == 401 for pair in others)
    assert [s["user_agent"] for s in listed(mine)] == ["Laptop/2.0"]
    assert mine.get(ME).status_code == 200


def test_a_browser_sign_in_is_listed_and_ending_it_signs_the_browser_out(
    anon: APIClient, user: User, bearer: Bearer
) -> None:
    browser = Client(HTTP_USER_AGENT="Firefox/140")
    response = browser.post("/login/", {"username": user.login, "password": PASSWORD})
    assert response.status_code == 302
    assert browser.get(ME).status_code == 200
    phone = bearer(sign_in_from(anon, user, "Phone/1.0")["access"])
    [web] = [s for s in listed(phone) if s["user_agent"] == "Firefox/140"]

    assert phone.delete(f"{SESSIONS}{web['id']}/").status_code == 204

    assert browser.get(ME).status_code in (401, 403)
    assert browser.get("/").status_code == 302  # the pages send it to sign in again


def test_a_password_change_ends_every_other_session(
    anon: APIClient, user: User, bearer: Bearer
) -> None:
    sign_in_from(anon, user, "Phone/1.0")
    laptop = sign_in_from(anon, user, "Laptop/2.0")
    change = {"old_password": PASSWORD, "new_password": "a-brand-new-passphrase-42"}

    fresh = bearer(laptop["access"]).post("/api/users/me/password/", change, format="json")

    assert fresh.status_code == 200
    sessions = listed(bearer(fresh.json()["access"]))
    assert [s["current"] for s in sessions] == [True]


def test_checking_a_token_and_its_session_is_one_query(
    anon: APIClient, user: User, bearer: Bearer
) -> None:
    """The user, whether their credentials were revoked after the token, and whether its login
    session ended: all in the query that reads the user (no Redis round trip, no second query)."""
    api = bearer(sign_in_from(anon, user, "Phone/1.0")["access"])

    with CaptureQueriesContext(connection) as queries:
        assert api.get(ME).status_code == 200

    assert len(queries) == 1
    assert "accounts_loginsession" in queries[0]["sql"]
