"""The demo pages use the browser session: it authenticates /api/, with CSRF on unsafe methods."""

import pytest
from rest_framework.test import APIClient

from accounts.models import User

ME = "/api/users/me/"
CSRF_SECRET = "k" * 32


@pytest.fixture
def browser(user: User) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_a_signed_in_browser_reads_the_api(browser: APIClient, user: User) -> None:
    response = browser.get(ME)

    assert response.status_code == 200
    assert response.json()["id"] == user.pk


def test_a_browser_write_without_a_csrf_token_is_403(browser: APIClient, user: User) -> None:
    response = browser.patch(ME, {"name": "Forged"}, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    user.refresh_from_db()
    assert user.name == "Alice"


def test_a_browser_write_with_the_csrf_token_works(browser: APIClient) -> None:
    browser.cookies["csrftoken"] = CSRF_SECRET

    response = browser.patch(ME, {"name": "Alice L."}, format="json", HTTP_X_CSRFTOKEN=CSRF_SECRET)

    assert response.status_code == 200
    assert response.json()["name"] == "Alice L."


def test_a_bearer_client_needs_no_csrf_token(api: APIClient) -> None:
    api.handler.enforce_csrf_checks = True

    response = api.patch(ME, {"name": "Alice L."}, format="json")

    assert response.status_code == 200


def test_the_session_of_a_deactivated_user_no_longer_works(browser: APIClient, user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = browser.get(ME)

    assert response.status_code == 401
