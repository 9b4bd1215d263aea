from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import PASSWORD

TOKEN = "/api/auth/token/"
ME = "/api/users/me/"
FORM = "application/x-www-form-urlencoded"


def test_a_user_signs_in_with_json_and_the_access_token_works(
    anon: APIClient, user: User, bearer: Callable[[str], APIClient]
) -> None:
    response = anon.post(TOKEN, {"login": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert set(tokens) >= {"access", "refresh"}
    me = bearer(tokens["access"]).get(ME)
    assert me.status_code == 200
    assert me.json()["id"] == user.pk


def test_the_oauth2_password_grant_signs_in_with_a_form(
    anon: APIClient, user: User, bearer: Callable[[str], APIClient]
) -> None:
    form = urlencode(
        {"grant_type": "password", "username": "alice", "password": PASSWORD, "scope": ""}
    )

    response = anon.post(TOKEN, form, content_type=FORM)

    assert response.status_code == 200
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["access_token"] == tokens["access"]
    assert tokens["expires_in"] > 0
    assert bearer(tokens["access_token"]).get(ME).json()["id"] == user.pk


def test_the_login_is_matched_case_insensitively(anon: APIClient, user: User) -> None:
    response = anon.post(TOKEN, {"login": "ALICE", "password": PASSWORD}, format="json")

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("login", "password"),
    [("alice", "wrong-password"), ("alice", PASSWORD.upper()), ("nobody", PASSWORD)],
    ids=["wrong password", "password is case-sensitive", "unknown login"],
)
def test_wrong_credentials_are_401(anon: APIClient, user: User, login: str, password: str) -> None:
    response = anon.post(TOKEN, {"login": login, "password": password}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) == {"detail"}


def test_a_wrong_password_in_the_form_grant_is_401(anon: APIClient, user: User) -> None:
    form = urlencode({"grant_type": "password", "username": "alice", "password": "wrong"})

    response = anon.post(TOKEN, form, content_type=FORM)

    assert response.status_code == 401


def test_an_inactive_user_cannot_sign_in(anon: APIClient, make_user: Callable[..., User]) -> None:
    make_user(login="ghost", is_active=False)

    response = anon.post(TOKEN, {"login": "ghost", "password": PASSWORD}, format="json")

    assert response.status_code == 401


def test_a_grant_other_than_password_is_refused(anon: APIClient, user: User) -> None:
    form = urlencode({"grant_type": "client_credentials", "username": "alice", "password": "x"})

    response = anon.post(TOKEN, form, content_type=FORM)

    assert response.status_code == 400
    assert "grant_type" in response.json()


@pytest.mark.parametrize("payload", [{"password": PASSWORD}, {"login": "alice"}, {}])
def test_missing_credentials_are_400(anon: APIClient, user: User, payload: dict[str, str]) -> None:
    response = anon.post(TOKEN, payload, format="json")

    assert response.status_code == 400


def test_the_access_token_of_a_deactivated_user_stops_working(
    user: User, sign_in: Callable[..., dict[str, str]], bearer: Callable[[str], APIClient]
) -> None:
    client = bearer(sign_in(user)["access"])
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = client.get(ME)

    assert response.status_code == 401


def test_the_access_token_of_a_deleted_user_stops_working(
    user: User, sign_in: Callable[..., dict[str, str]], bearer: Callable[[str], APIClient]
) -> None:
    client = bearer(sign_in(user)["access"])
    User.objects.filter(pk=user.pk).delete()

    response = client.get(ME)

    assert response.status_code == 401


def test_a_refresh_token_is_not_an_access_token(
    user: User, sign_in: Callable[..., dict[str, str]], bearer: Callable[[str], APIClient]
) -> None:
    response = bearer(sign_in(user)["refresh"]).get(ME)

    assert response.status_code == 401


@pytest.mark.parametrize(
    "header", ["Bearer not-a-token", "Bearer", "Bearer a b", "Token abc", "Basic YWxpY2U6eA=="]
)
def test_a_bad_authorization_header_is_401(anon: APIClient, user: User, header: str) -> None:
    anon.credentials(HTTP_AUTHORIZATION=header)

    response = anon.get(ME)

    assert response.status_code == 401
