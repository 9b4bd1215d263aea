import os
from collections.abc import Callable, Iterator

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import tokens_issue
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _require_postgres(request: pytest.FixtureRequest) -> None:
    """Tests marked `postgres` need PostgreSQL; elsewhere they are skipped and say why.

    Under CI=true nothing may be skipped, so there a missing PostgreSQL fails the test.
    """
    if request.node.get_closest_marker("postgres") is None or connection.vendor == "postgresql":
        return
    reason = "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Throttle counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db: None) -> User:
    return UserFactory(login="alice", name="Alice")


@pytest.fixture
def other_user(db: None) -> User:
    return UserFactory(login="bob", name="Bob")


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def api_for(db: None) -> Callable[[User], APIClient]:
    """An API client that authenticates as the user with a real access token."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=user)['access']}")
        return client

    return make


@pytest.fixture
def api(api_for: Callable[[User], APIClient], user: User) -> APIClient:
    return api_for(user)
