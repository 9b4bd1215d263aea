import json

import pytest
from django.conf import settings
from rest_framework.test import APIClient

LIMIT = 256 * 1024


def json_body_of(size: int) -> str:
    """A JSON object of exactly `size` bytes."""
    frame = json.dumps({"name": ""})
    body = json.dumps({"name": "x" * (size - len(frame))})
    assert len(body.encode()) == size
    return body


def test_the_limit_is_256_kib() -> None:
    assert settings.REQUEST_BODY_MAX_BYTES == LIMIT


@pytest.mark.parametrize(
    "path", ["/api/auth/register/", "/api/auth/token/", "/api/users/me/", "/api/chats/"]
)
def test_a_body_over_256_kib_is_413_json(api: APIClient, path: str) -> None:
    response = api.generic("POST", path, json_body_of(LIMIT + 1), content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


def test_a_form_body_over_256_kib_is_413(anon: APIClient) -> None:
    form = b"grant_type=password&username=alice&password=" + b"x" * LIMIT

    response = anon.post("/api/auth/token/", form, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 413


def test_a_body_of_exactly_256_kib_gets_through_to_validation(api: APIClient) -> None:
    response = api.patch("/api/users/me/", json_body_of(LIMIT), content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()) == {"name"}


def test_an_oversized_body_changes_nothing(api: APIClient) -> None:
    api.patch("/api/users/me/", json_body_of(LIMIT + 1), content_type="application/json")

    assert api.get("/api/users/me/").json()["name"] == "Alice"


@pytest.mark.parametrize("length", ["abc", "1.5", "0x10", "½"])
@pytest.mark.django_db
def test_a_nonsense_content_length_is_400(anon: APIClient, length: str) -> None:
    response = anon.generic(
        "POST", "/api/auth/register/", "{}", content_type="application/json", CONTENT_LENGTH=length
    )

    assert response.status_code == 400
    assert set(response.json()) == {"detail"}


@pytest.mark.django_db
def test_a_content_length_claiming_more_than_the_limit_is_413(anon: APIClient) -> None:
    response = anon.generic(
        "POST",
        "/api/auth/register/",
        "{}",
        content_type="application/json",
        CONTENT_LENGTH="9" * 40,
    )

    assert response.status_code == 413
