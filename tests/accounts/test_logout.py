from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.models import User

LOGOUT = "/api/auth/logout/"
REFRESH = "/api/auth/token/refresh/"

SignIn = Callable[..., dict[str, str]]


def test_logout_ends_that_refresh_token(
    anon: APIClient, api: APIClient, user: User, sign_in: SignIn
) -> None:
    refresh = sign_in(user)["refresh"]

    response = api.post(LOGOUT, {"refresh": refresh}, format="json")

    assert response.status_code == 204
    assert response.content == b""
    assert anon.post(REFRESH, {"refresh": refresh}, format="json").status_code == 401


def test_logout_leaves_the_users_other_sign_ins_alone(
    anon: APIClient, api: APIClient, user: User, sign_in: SignIn
) -> None:
    laptop, phone = sign_in(user)["refresh"], sign_in(user)["refresh"]

    api.post(LOGOUT, {"refresh": laptop}, format="json")

    assert anon.post(REFRESH, {"refresh": phone}, format="json").status_code == 200


def test_logging_out_twice_with_one_token_is_400(
    api: APIClient, user: User, sign_in: SignIn
) -> None:
    refresh = sign_in(user)["refresh"]
    api.post(LOGOUT, {"refresh": refresh}, format="json")

    response = api.post(LOGOUT, {"refresh": refresh}, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()


def test_a_user_cannot_log_out_someone_else(
    anon: APIClient, api: APIClient, other_user: User, sign_in: SignIn
) -> None:
    bobs_refresh = sign_in(other_user)["refresh"]

    response = api.post(LOGOUT, {"refresh": bobs_refresh}, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()
    assert anon.post(REFRESH, {"refresh": bobs_refresh}, format="json").status_code == 200


def test_logout_needs_an_access_token(anon: APIClient, user: User, sign_in: SignIn) -> None:
    refresh = sign_in(user)["refresh"]

    response = anon.post(LOGOUT, {"refresh": refresh}, format="json")

    assert response.status_code == 401
    assert anon.post(REFRESH, {"refresh": refresh}, format="json").status_code == 200


def test_logout_does_not_take_a_refresh_token_as_credentials(
    user: User, sign_in: SignIn, bearer: Callable[[str], APIClient]
) -> None:
    refresh = sign_in(user)["refresh"]

    response = bearer(refresh).post(LOGOUT, {"refresh": refresh}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
def test_logout_with_a_bad_token_is_400(api: APIClient, token: str) -> None:
    response = api.post(LOGOUT, {"refresh": token}, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()


def test_logout_with_an_access_token_in_place_of_the_refresh_is_400(
    api: APIClient, user: User, sign_in: SignIn
) -> None:
    response = api.post(LOGOUT, {"refresh": sign_in(user)["access"]}, format="json")

    assert response.status_code == 400
