from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.models import User

REFRESH = "/api/auth/token/refresh/"

SignIn = Callable[..., dict[str, str]]


def test_a_refresh_returns_a_new_pair_that_works(
    anon: APIClient, user: User, sign_in: SignIn, bearer: Callable[[str], APIClient]
) -> None:
    old = sign_in(user)

    response = anon.post(REFRESH, {"refresh": old["refresh"]}, format="json")

    assert response.status_code == 200
    new = response.json()
    assert new["refresh"] != old["refresh"]
    assert bearer(new["access"]).get("/api/users/me/").json()["id"] == user.pk
    assert anon.post(REFRESH, {"refresh": new["refresh"]}, format="json").status_code == 200


def test_a_used_refresh_token_stops_working(anon: APIClient, user: User, sign_in: SignIn) -> None:
    old = sign_in(user)["refresh"]
    anon.post(REFRESH, {"refresh": old}, format="json")

    response = anon.post(REFRESH, {"refresh": old}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_a_refresh_token_of_a_deactivated_user_is_refused(
    anon: APIClient, user: User, sign_in: SignIn
) -> None:
    refresh = sign_in(user)["refresh"]
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = anon.post(REFRESH, {"refresh": refresh}, format="json")

    assert response.status_code == 401


def test_a_refresh_token_of_a_deleted_user_is_refused(
    anon: APIClient, user: User, sign_in: SignIn
) -> None:
    refresh = sign_in(user)["refresh"]
    User.objects.filter(pk=user.pk).delete()

    response = anon.post(REFRESH, {"refresh": refresh}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"])
@pytest.mark.django_db
def test_a_garbage_refresh_token_is_refused(anon: APIClient, token: str) -> None:
    response = anon.post(REFRESH, {"refresh": token}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_access_token_cannot_be_used_to_refresh(
    anon: APIClient, user: User, sign_in: SignIn
) -> None:
    response = anon.post(REFRESH, {"refresh": sign_in(user)["access"]}, format="json")

    assert response.status_code == 401


def test_a_refresh_token_signed_with_another_key_is_refused(
    anon: APIClient, user: User, sign_in: SignIn
) -> None:
    header, payload, _signature = sign_in(user)["refresh"].split(".")
    forged = f"{header}.{payload}.c2lnbmVkLWJ5LXNvbWVvbmUtZWxzZQ"

    response = anon.post(REFRESH, {"refresh": forged}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize("payload", [{}, {"refresh": ""}, {"refresh": "   "}])
@pytest.mark.django_db
def test_refresh_needs_the_refresh_field(anon: APIClient, payload: dict[str, str]) -> None:
    response = anon.post(REFRESH, payload, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()
