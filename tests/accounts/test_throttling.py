from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import PASSWORD

REGISTER = "/api/auth/register/"
TOKEN = "/api/auth/token/"

Rates = Callable[..., AbstractContextManager[None]]


def assert_throttled(response: Any) -> None:
    assert response.status_code == 429
    retry_after = response["Retry-After"]
    assert retry_after.isdigit()
    assert int(retry_after) > 0
    assert set(response.json()) == {"detail"}


def register(client: APIClient, n: int, address: str = "203.0.113.1") -> Any:
    payload = {"login": f"newcomer{n}", "password": "violet-kettle-orbit-42", "name": "New"}
    return client.post(REGISTER, payload, content_type="application/json", REMOTE_ADDR=address)


def sign_in(client: APIClient, login: str, password: str, address: str = "203.0.113.1") -> Any:
    payload = {"login": login, "password": password}
    return client.post(TOKEN, payload, content_type="application/json", REMOTE_ADDR=address)


@pytest.mark.django_db
def test_registering_too_often_from_one_address_is_429(
    anon: APIClient, throttle_rates: Rates
) -> None:
    with throttle_rates(register="2/hour"):
        assert register(anon, 1).status_code == 201
        assert register(anon, 2).status_code == 201

        response = register(anon, 3)

    assert_throttled(response)
    assert not User.objects.filter(login="newcomer3").exists()


@pytest.mark.django_db
def test_the_register_limit_is_per_address(anon: APIClient, throttle_rates: Rates) -> None:
    with throttle_rates(register="1/hour"):
        register(anon, 1, address="203.0.113.1")

        response = register(anon, 2, address="203.0.113.2")

    assert response.status_code == 201


@pytest.mark.django_db
def test_invalid_registrations_count_against_the_limit(
    anon: APIClient, throttle_rates: Rates
) -> None:
    with throttle_rates(register="2/hour"):
        for _ in range(2):
            anon.post(REGISTER, {"login": "x"}, format="json", REMOTE_ADDR="203.0.113.1")

        response = register(anon, 1)

    assert_throttled(response)


def test_guessing_many_logins_from_one_address_is_429(
    anon: APIClient, user: User, throttle_rates: Rates
) -> None:
    with throttle_rates(login="3/min"):
        for n in range(3):
            assert sign_in(anon, f"someone{n}", "guess").status_code == 401

        response = sign_in(anon, "alice", PASSWORD)

    assert_throttled(response)


def test_the_address_limit_leaves_other_addresses_alone(
    anon: APIClient, user: User, throttle_rates: Rates
) -> None:
    with throttle_rates(login="1/min"):
        sign_in(anon, "alice", "guess", address="203.0.113.1")

        response = sign_in(anon, "alice", PASSWORD, address="203.0.113.2")

    assert response.status_code == 200


def test_rotating_addresses_does_not_help_guess_one_password(
    anon: APIClient, user: User, throttle_rates: Rates
) -> None:
    with throttle_rates(login_user="3/min"):
        for n in range(3):
            response = sign_in(anon, "alice", f"guess{n}", address=f"198.51.100.{n}")
            assert response.status_code == 401

        response = sign_in(anon, "alice", PASSWORD, address="198.51.100.99")

    assert_throttled(response)


def test_the_per_login_limit_sees_through_case_and_the_form_grant(
    anon: APIClient, user: User, throttle_rates: Rates
) -> None:
    form = urlencode({"grant_type": "password", "username": " Alice ", "password": PASSWORD})
    with throttle_rates(login_user="2/min"):
        sign_in(anon, "ALICE", "guess", address="198.51.100.1")
        sign_in(anon, "alice", "guess", address="198.51.100.2")

        response = anon.post(
            TOKEN,
            form,
            content_type="application/x-www-form-urlencoded",
            REMOTE_ADDR="198.51.100.3",
        )

    assert_throttled(response)


def test_the_per_login_limit_leaves_other_logins_alone(
    anon: APIClient, user: User, other_user: User, throttle_rates: Rates
) -> None:
    with throttle_rates(login_user="1/min"):
        sign_in(anon, "alice", "guess")

        response = sign_in(anon, "bob", PASSWORD)

    assert response.status_code == 200
