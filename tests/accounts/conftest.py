from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import PASSWORD, UserFactory

TokenPair = dict[str, Any]


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    """A user with the factory's PASSWORD; keyword arguments set fields."""

    def make(**fields: Any) -> User:
        user: User = UserFactory.create(**fields)
        return user

    return make


@pytest.fixture
def sign_in(anon: APIClient) -> Callable[..., TokenPair]:
    """Obtains a token pair through the token endpoint, as a client would."""

    def obtain(user: User, password: str = PASSWORD) -> TokenPair:
        response = anon.post(
            "/api/auth/token/", {"login": user.login, "password": password}, format="json"
        )
        assert response.status_code == 200, response.content
        tokens: TokenPair = response.json()
        return tokens

    return obtain


@pytest.fixture
def bearer() -> Callable[[str], APIClient]:
    """An API client that sends the given access token."""

    def make(access: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        return client

    return make
