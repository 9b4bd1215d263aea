import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import Any, cast
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import PASSWORD

REGISTER = "/api/auth/register/"
TOKEN = "/api/auth/token/"

Rates = Callable[..., AbstractContextManager[None]]


@contextmanager
def override_rest_framework(**changes: Any) -> Iterator[None]:
    """REST_FRAMEWORK with some keys changed, on top of whatever rates are in force."""
    config = cast(dict[str, Any], settings.REST_FRAMEWORK)
    with override_settings(REST_FRAMEWORK={**config, **changes}):
        yield


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


def test_rotating_forwarded_for_does_not_help_guess_one_password(
    anon: APIClient, user: User, throttle_rates: Rates
) -> None:
    """Behind a trusted proxy the client address comes from X-Forwarded-For, which an attacker
    writes: a new address per guess (and a new socket address too) still meets the per-login
    limit."""
    with throttle_rates(login_user="3/min"), override_rest_framework(NUM_PROXIES=1):
        for n in range(3):
            response = anon.post(
                TOKEN,
                {"login": "alice", "password": f"guess{n}"},
                content_type="application/json",
                REMOTE_ADDR=f"10.0.0.{n}",
                HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
            )
            assert response.status_code == 401

        response = anon.post(
            TOKEN,
            {"login": "alice", "password": PASSWORD},
            content_type="application/json",
            REMOTE_ADDR="10.0.0.99",
            HTTP_X_FORWARDED_FOR="198.51.100.99, 203.0.113.99",
        )

    assert_throttled(response)


def test_the_address_limit_follows_the_forwarded_for_address_behind_a_proxy(
    anon: APIClient, user: User, throttle_rates: Rates
) -> None:
    """With NUM_PROXIES=1 the proxy's own address is shared by every client, so the per-address
    limit counts the client address the proxy appended, not the proxy's."""
    with throttle_rates(login="1/min"), override_rest_framework(NUM_PROXIES=1):
        first = anon.post(
            TOKEN,
            {"login": "alice", "password": "guess"},
            content_type="application/json",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="198.51.100.1",
        )
        other_client = anon.post(
            TOKEN,
            {"login": "alice", "password": PASSWORD},
            content_type="application/json",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="198.51.100.2",
        )
        same_client = anon.post(
            TOKEN,
            {"login": "alice", "password": PASSWORD},
            content_type="application/json",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="198.51.100.1",
        )

    assert first.status_code == 401
    assert other_client.status_code == 200
    assert_throttled(same_client)


CONCURRENT_GUESSES = 30
LIMIT = 5
# An hour: the burst must fall inside one window however slow the machine.
RATE = f"{LIMIT}/hour"


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_concurrent_guesses_cannot_overshoot_the_per_login_limit(throttle_rates: Rates) -> None:
    """30 guesses at one login fired at the same instant, each from its own address, on the
    shared Redis cache: no more than the limit of 5 get through to the password check, because
    each request counts with one atomic increment instead of reading and rewriting a list."""
    barrier = threading.Barrier(CONCURRENT_GUESSES)

    def guess(n: int) -> int:
        client = APIClient()
        try:
            barrier.wait()
            response = sign_in(client, "alice", f"guess{n}", address=f"198.51.100.{n}")
            return int(response.status_code)
        finally:
            connection.close()  # each thread's own database connection

    with throttle_rates(login_user=RATE):
        with ThreadPoolExecutor(CONCURRENT_GUESSES) as pool:
            statuses = Counter(pool.map(guess, range(CONCURRENT_GUESSES)))

    assert set(statuses) <= {401, 429}, statuses
    assert statuses[401] == LIMIT, statuses


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_concurrent_guesses_from_one_address_cannot_overshoot_its_limit(
    throttle_rates: Rates,
) -> None:
    """The same burst at many logins from one address: the per-address limit holds too."""
    barrier = threading.Barrier(CONCURRENT_GUESSES)

    def guess(n: int) -> int:
        client = APIClient()
        try:
            barrier.wait()
            return int(sign_in(client, f"someone{n}", "guess").status_code)
        finally:
            connection.close()

    with throttle_rates(login=RATE):
        with ThreadPoolExecutor(CONCURRENT_GUESSES) as pool:
            statuses = Counter(pool.map(guess, range(CONCURRENT_GUESSES)))

    assert set(statuses) <= {401, 429}, statuses
    assert statuses[401] == LIMIT, statuses


def test_retry_after_says_when_the_window_ends(
    anon: APIClient, user: User, throttle_rates: Rates
) -> None:
    """The client is told to come back when its window is over: within the rate's minute."""
    with throttle_rates(login_user="1/min"):
        sign_in(anon, "alice", "guess", address="198.51.100.1")

        response = sign_in(anon, "alice", "guess", address="198.51.100.2")

    assert_throttled(response)
    assert 1 <= int(response["Retry-After"]) <= 60


def test_guessing_the_old_password_with_a_stolen_token_is_cut_off(
    api: APIClient, user: User, throttle_rates: Rates
) -> None:
    """Finding 5 of the security review: each guess hashes on the process's database thread."""
    change = "/api/users/me/password/"
    with throttle_rates(password_change="3/hour"):
        for n in range(3):
            guess = {"old_password": f"guess-{n}", "new_password": "violet-kettle-orbit-42"}
            assert api.post(change, guess, format="json").status_code == 400

        right = {"old_password": PASSWORD, "new_password": "violet-kettle-orbit-42"}
        response = api.post(change, right, format="json")

    assert_throttled(response)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def admin_sign_in(client: APIClient, login: str, password: str) -> Any:
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": login, "password": password},
        REMOTE_ADDR="203.0.113.9",
    )


@pytest.mark.django_db
def test_the_admin_login_is_limited_like_the_api_login_and_counted_with_it(
    anon: APIClient, throttle_rates: Rates
) -> None:
    """Finding 4 of the security review: 30 wrong superuser passwords were answered 200 in the
    admin, and the right one then worked."""
    User.objects.create_superuser("root", PASSWORD, name="Root")
    with throttle_rates(login_user="3/min"):
        assert sign_in(anon, "root", "wrong-1").status_code == 401  # the API's count
        assert admin_sign_in(anon, "root", "wrong-2").status_code == 200  # the form, again
        assert admin_sign_in(anon, "root", "wrong-3").status_code == 200

        refused = admin_sign_in(anon, "root", PASSWORD)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert b"Too many attempts" in refused.content
    assert anon.get("/admin/").status_code == 302  # not signed in: back to the login page


@pytest.mark.django_db
def test_the_admin_login_still_signs_in_within_the_budget(anon: APIClient) -> None:
    User.objects.create_superuser("root", PASSWORD, name="Root")

    response = admin_sign_in(anon, "root", PASSWORD)

    assert response.status_code == 302
    assert anon.get("/admin/").status_code == 200
