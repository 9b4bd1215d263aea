import pytest
from django.db import OperationalError
from django.test import override_settings
from rest_framework.test import APIClient

from chatproject import health
from chatproject.celery import app

CLOSED_BROKER = "amqp://guest:guest@127.0.0.1:1//"


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Points Celery at a closed port. Celery reads CELERY_BROKER_URL before its own conf."""
    monkeypatch.setenv("CELERY_BROKER_URL", CLOSED_BROKER)
    monkeypatch.setitem(app.conf, "broker_url", CLOSED_BROKER)


class _UnreachableDatabase:
    def cursor(self) -> None:
        raise OperationalError("could not connect to server")


@pytest.mark.django_db
def test_healthz_reports_every_dependency_ok(anon: APIClient) -> None:
    response = anon.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"db": "ok", "channel_layer": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_names_a_channel_layer_that_is_down(anon: APIClient) -> None:
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = anon.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"db": "ok", "channel_layer": "down", "broker": "ok"}


@pytest.mark.django_db
@pytest.mark.usefixtures("broker_down")
def test_healthz_names_a_broker_that_is_down(anon: APIClient) -> None:
    response = anon.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"db": "ok", "channel_layer": "ok", "broker": "down"}


@pytest.mark.django_db
@pytest.mark.usefixtures("broker_down")
def test_a_down_broker_is_reported_without_sleeping_between_retries(
    anon: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A health probe has a deadline; kombu's default retry sleeps 2 s first."""
    sleeps: list[float] = []
    monkeypatch.setattr("kombu.utils.functional.sleep", sleeps.append)

    response = anon.get("/healthz")

    assert response.json()["broker"] == "down"
    assert sleeps == []


def test_healthz_names_a_database_that_is_down(
    anon: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "connection", _UnreachableDatabase())

    response = anon.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"db": "down", "channel_layer": "ok", "broker": "ok"}


@pytest.mark.django_db
@pytest.mark.usefixtures("broker_down")
def test_healthz_names_everything_that_is_down_at_once(
    anon: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "connection", _UnreachableDatabase())

    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = anon.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"db": "down", "channel_layer": "down", "broker": "down"}


@pytest.mark.django_db
def test_healthz_ignores_credentials(anon: APIClient) -> None:
    anon.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = anon.get("/healthz")

    assert response.status_code == 200


@pytest.mark.django_db
def test_healthz_only_answers_get(anon: APIClient) -> None:
    response = anon.post("/healthz", {}, format="json")

    assert response.status_code == 405
