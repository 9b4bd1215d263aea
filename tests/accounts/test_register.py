from datetime import datetime

import pytest
from rest_framework.test import APIClient

from accounts.models import User

REGISTER = "/api/auth/register/"
USER_FIELDS = {"id", "login", "name", "status", "last_seen", "created", "updated"}
STRONG = "violet-kettle-orbit-42"


@pytest.mark.django_db
def test_a_newcomer_registers_and_gets_their_user_back(anon: APIClient) -> None:
    response = anon.post(
        REGISTER, {"login": "carol", "password": STRONG, "name": "Carol"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["login"] == "carol"
    assert body["name"] == "Carol"
    assert body["status"] == "offline"
    assert body["last_seen"] is None
    assert datetime.fromisoformat(body["created"]).tzinfo is not None
    assert datetime.fromisoformat(body["updated"]).tzinfo is not None
    user = User.objects.get(pk=body["id"])
    assert user.check_password(STRONG)
    assert user.is_active
    assert not user.is_staff
    assert not user.is_superuser


@pytest.mark.django_db
def test_a_registered_user_can_sign_in_with_their_password(anon: APIClient) -> None:
    anon.post(REGISTER, {"login": "carol", "password": STRONG, "name": "Carol"}, format="json")

    response = anon.post("/api/auth/token/", {"login": "carol", "password": STRONG}, format="json")

    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"


@pytest.mark.django_db
def test_register_keeps_the_login_as_typed(anon: APIClient) -> None:
    response = anon.post(
        REGISTER, {"login": "Carol.K-9_x", "password": STRONG, "name": "Carol"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["login"] == "Carol.K-9_x"


@pytest.mark.django_db
def test_register_needs_no_token_and_ignores_a_bad_one(anon: APIClient) -> None:
    anon.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = anon.post(
        REGISTER, {"login": "carol", "password": STRONG, "name": "Carol"}, format="json"
    )

    assert response.status_code == 201


@pytest.mark.django_db
def test_a_taken_login_is_refused(anon: APIClient, user: User) -> None:
    response = anon.post(
        REGISTER, {"login": user.login, "password": STRONG, "name": "Another"}, format="json"
    )

    assert response.status_code == 400
    assert "login" in response.json()
    assert User.objects.filter(login=user.login).count() == 1


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("v1-x", "too short"),
        ("password123", "too common"),
        ("20240611183012", "entirely numeric"),
        ("carolinewonder", "too similar to the login"),
        ("Caroline Wonderland", "too similar to the name"),
    ],
)
@pytest.mark.django_db
def test_a_weak_password_is_refused(anon: APIClient, password: str, why: str) -> None:
    response = anon.post(
        REGISTER,
        {"login": "carolinewonder", "password": password, "name": "Caroline Wonderland"},
        format="json",
    )

    assert response.status_code == 400, why
    assert set(response.json()) == {"password"}
    assert not User.objects.filter(login="carolinewonder").exists()


@pytest.mark.parametrize(
    "field", [{"is_staff": True}, {"is_superuser": True}, {"is_active": False}, {"id": 1}]
)
@pytest.mark.django_db
def test_register_cannot_set_privileges_or_ids(anon: APIClient, field: dict[str, object]) -> None:
    payload = {"login": "mallory", "password": STRONG, "name": "Mallory", **field}

    response = anon.post(REGISTER, payload, format="json")

    assert response.status_code == 400
    assert set(response.json()) == set(field)
    assert not User.objects.filter(login="mallory").exists()
