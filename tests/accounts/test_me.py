from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import PASSWORD

ME = "/api/users/me/"
USER_FIELDS = {"id", "login", "name", "status", "last_seen", "created", "updated"}


def test_a_user_sees_their_own_profile(api: APIClient, user: User) -> None:
    response = api.get(ME)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["id"] == user.pk
    assert body["login"] == "alice"
    assert body["name"] == "Alice"
    assert body["status"] == "offline"


def test_a_user_renames_themselves(api: APIClient, user: User) -> None:
    response = api.patch(ME, {"name": "Alice Liddell"}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "Alice Liddell"
    assert response.json()["status"] == "offline"
    user.refresh_from_db()
    assert user.name == "Alice Liddell"


@pytest.mark.parametrize("status", ["online", "away", "offline"])
def test_a_user_sets_their_status(api: APIClient, user: User, status: str) -> None:
    response = api.patch(ME, {"status": status}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == status
    assert response.json()["name"] == "Alice"
    user.refresh_from_db()
    assert user.status == status


def test_a_name_with_emoji_and_accents_round_trips(api: APIClient) -> None:
    name = "Zoë 🦊 Ørsted-Łukasz"

    api.patch(ME, {"name": name}, format="json")

    response = api.get(ME)
    assert response.json()["name"] == name
    assert name.encode() in response.content  # UTF-8 as is, not \u escapes


def test_an_empty_patch_changes_nothing(api: APIClient, user: User) -> None:
    response = api.patch(ME, {}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "Alice"


@pytest.mark.parametrize("status", ["busy", "ONLINE", "", None, 1])
def test_an_unknown_status_is_400(api: APIClient, user: User, status: object) -> None:
    response = api.patch(ME, {"status": status}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"status"}
    user.refresh_from_db()
    assert user.status == "offline"


@pytest.mark.parametrize("name", ["", "   ", "x" * 151])
def test_a_blank_or_overlong_name_is_400(api: APIClient, user: User, name: str) -> None:
    response = api.patch(ME, {"name": name}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"name"}
    user.refresh_from_db()
    assert user.name == "Alice"


def test_a_name_of_150_characters_is_accepted(api: APIClient) -> None:
    response = api.patch(ME, {"name": "x" * 150}, format="json")

    assert response.status_code == 200


@pytest.mark.parametrize(
    "field",
    [
        {"login": "queen"},
        {"id": 999},
        {"password": "new-password-123"},
        {"is_staff": True},
        {"is_active": False},
        {"last_seen": "2024-01-01T00:00:00Z"},
    ],
)
def test_fields_a_user_may_not_change_are_400(
    api: APIClient, user: User, field: dict[str, Any]
) -> None:
    response = api.patch(ME, {"name": "Changed", **field}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == set(field)
    user.refresh_from_db()
    assert (user.login, user.name, user.is_staff, user.is_active) == ("alice", "Alice", False, True)


def test_put_is_not_how_a_profile_changes(api: APIClient) -> None:
    response = api.put(ME, {"name": "Alice"}, format="json")

    assert response.status_code == 405


@pytest.mark.parametrize("method", ["get", "patch"])
@pytest.mark.django_db
def test_the_profile_needs_a_token(anon: APIClient, method: str) -> None:
    response = getattr(anon, method)(ME, {}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_response_ever_carries_a_password_or_its_hash(
    anon: APIClient, api: APIClient, user: User, other_user: User, sign_in: Callable[..., Any]
) -> None:
    """Walks every accounts endpoint that returns a body and searches it for secrets."""
    new_password = "violet-kettle-orbit-42"
    hashes = {u.password for u in User.objects.all()}
    registered = anon.post(
        "/api/auth/register/",
        {"login": "carol", "password": new_password, "name": "Carol"},
        format="json",
    )
    tokens = sign_in(user)
    responses = [
        registered,
        anon.post("/api/auth/token/", {"login": "alice", "password": PASSWORD}, format="json"),
        anon.post("/api/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json"),
        api.get(ME),
        api.patch(ME, {"name": "Alice", "status": "away"}, format="json"),
        api.get("/api/users/"),
        api.get("/api/users/?search=bob"),
        api.get(f"/api/users/{other_user.pk}/"),
        api.post(
            "/api/users/me/password/",
            {"old_password": PASSWORD, "new_password": new_password},
            format="json",
        ),
    ]
    hashes |= {u.password for u in User.objects.all()}

    for response in responses:
        assert response.status_code in {200, 201}, response.content
        text = response.content.decode()
        assert "password" not in text
        assert PASSWORD not in text
        assert new_password not in text
        for password_hash in hashes:
            assert password_hash not in text
