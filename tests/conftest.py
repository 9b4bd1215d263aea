import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import tokens_issue
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _require_services(request: pytest.FixtureRequest) -> None:
    """Tests marked `postgres` or `redis` need that service; without it they are skipped and say
    why. Under CI=true nothing may be skipped, so there a missing service fails the test."""
    missing = []
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        missing.append("PostgreSQL: set DATABASE_URL=postgres://...")
    if request.node.get_closest_marker("redis") and not settings.REDIS_URL:
        missing.append("Redis: set REDIS_URL=redis://...")
    if request.node.get_closest_marker("broker") and settings.CELERY_BROKER_URL == "memory://":
        missing.append("a broker: set CELERY_BROKER_URL=amqp://...")
    if not missing:
        return
    reason = "needs " + " and ".join(missing)
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Throttle counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def file_store(settings: Any, tmp_path: Path) -> Path:
    """Attachments go to the test's own directory, through the real filesystem storage."""
    location = tmp_path / "attachments"
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": location},
        },
    }
    return location


@pytest.fixture
def user(db: None) -> User:
    return cast(User, UserFactory(login="alice", name="Alice"))


@pytest.fixture
def other_user(db: None) -> User:
    return cast(User, UserFactory(login="bob", name="Bob"))


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


@pytest.fixture
def throttle_rates() -> Callable[..., AbstractContextManager[None]]:
    """`with throttle_rates(login="3/min"):` lowers the named rates and keeps the others."""

    @contextmanager
    def lowered(**rates: str) -> Iterator[None]:
        config = cast(dict[str, Any], settings.REST_FRAMEWORK)
        merged = {**config["DEFAULT_THROTTLE_RATES"], **rates}
        with override_settings(REST_FRAMEWORK={**config, "DEFAULT_THROTTLE_RATES": merged}):
            yield

    return lowered


Rates = Callable[..., AbstractContextManager[None]]
