from collections.abc import Callable

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import User
from tests.factories import PASSWORD

CHANGE = "/api/users/me/password/"
TOKEN = "/api/auth/token/"
REFRESH = "/api/auth/token/refresh/"
ME = "/api/users/me/"
NEW = "violet-kettle-orbit-42"

SignIn = Callable[..., dict[str, str]]


def test_a_wrong_old_password_is_400_and_changes_nothing(api: APIClient, user: User) -> None:
    response = api.post(CHANGE, {"old_password": "not-it", "new_password": NEW}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"old_password"}
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert api.get(ME).status_code == 200


@pytest.mark.parametrize("new_password", ["short", "password123", "98765432109", "alice1984"])
def test_a_weak_new_password_is_400(api: APIClient, user: User, new_password: str) -> None:
    response = api.post(
        CHANGE, {"old_password": PASSWORD, "new_password": new_password}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"new_password"}
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_password_change_returns_a_new_pair_that_works(
    anon: APIClient, api: APIClient, user: User, bearer: Callable[[str], APIClient]
) -> None:
    response = api.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW}, format="json")

    assert response.status_code == 200
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert bearer(tokens["access"]).get(ME).status_code == 200
    assert anon.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 200


def test_after_a_change_only_the_new_password_signs_in(
    anon: APIClient, api: APIClient, user: User
) -> None:
    api.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW}, format="json")

    old = anon.post(TOKEN, {"login": "alice", "password": PASSWORD}, format="json")
    new = anon.post(TOKEN, {"login": "alice", "password": NEW}, format="json")

    assert old.status_code == 401
    assert new.status_code == 200


def test_a_password_change_revokes_every_access_token(
    user: User, sign_in: SignIn, bearer: Callable[[str], APIClient]
) -> None:
    laptop = bearer(sign_in(user)["access"])
    phone = bearer(sign_in(user)["access"])

    laptop.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW}, format="json")

    assert laptop.get(ME).status_code == 401
    assert phone.get(ME).status_code == 401


def test_a_password_change_revokes_every_refresh_token(
    anon: APIClient, api: APIClient, user: User, sign_in: SignIn
) -> None:
    refreshes = [sign_in(user)["refresh"] for _ in range(3)]

    new = api.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW}, format="json").json()

    for refresh in refreshes:
        assert anon.post(REFRESH, {"refresh": refresh}, format="json").status_code == 401
    still_open = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    assert list(still_open.values_list("token", flat=True)) == [new["refresh"]]


def test_a_password_change_leaves_other_users_signed_in(
    anon: APIClient, api: APIClient, other_user: User, sign_in: SignIn
) -> None:
    bobs = sign_in(other_user)

    api.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW}, format="json")

    assert anon.post(REFRESH, {"refresh": bobs["refresh"]}, format="json").status_code == 200


def test_a_bearer_client_gets_no_session_cookie_from_a_change(api: APIClient) -> None:
    response = api.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW}, format="json")

    assert response.status_code == 200
    assert "sessionid" not in response.cookies


def test_a_browser_that_changes_the_password_stays_signed_in(user: User) -> None:
    browser = APIClient()
    browser.force_login(user)

    response = browser.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW}, format="json")

    assert response.status_code == 200
    assert browser.get(ME).status_code == 200


def test_a_password_change_signs_out_the_users_other_browsers(api: APIClient, user: User) -> None:
    browser = APIClient()
    browser.force_login(user)
    assert browser.get(ME).status_code == 200

    api.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW}, format="json")

    assert browser.get(ME).status_code == 401


@pytest.mark.parametrize(
    "payload",
    [{"old_password": PASSWORD}, {"new_password": NEW}, {}],
    ids=["no new password", "no old password", "nothing"],
)
def test_a_change_needs_both_passwords(api: APIClient, payload: dict[str, str]) -> None:
    response = api.post(CHANGE, payload, format="json")

    assert response.status_code == 400


@pytest.mark.django_db
def test_a_change_needs_a_token(anon: APIClient) -> None:
    response = anon.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW}, format="json")

    assert response.status_code == 401
