"""Whatever a client sends, the accounts endpoints answer 4xx in DRF's error shape, never 500."""

import json
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import PASSWORD

REGISTER = "/api/auth/register/"
TOKEN = "/api/auth/token/"
REFRESH = "/api/auth/token/refresh/"
LOGOUT = "/api/auth/logout/"
ME = "/api/users/me/"
CHANGE = "/api/users/me/password/"
STRONG = "violet-kettle-orbit-42"


def valid_register(**overrides: Any) -> dict[str, Any]:
    return {"login": "carol", "password": STRONG, "name": "Carol", **overrides}


def as_json(payload: dict[str, Any]) -> str:
    """JSON with non-ASCII escaped, the only way to send a lone surrogate such as "\\ud800"."""
    return json.dumps(payload)


# --- Bodies that are not a JSON object -----------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "{",
        '{"login": "carol",}',
        "{'login': 'carol'}",
        '{"login": NaN}',
        '{"login": Infinity}',
        b"\xff\xfe{}",
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 20_000 + "1" + "}" * 20_000,
        "1" * 5_000,
    ],
    ids=[
        "truncated",
        "trailing comma",
        "single quotes",
        "NaN",
        "Infinity",
        "not UTF-8",
        "arrays nested too deep",
        "objects nested too deep",
        "integer with too many digits",
    ],
)
@pytest.mark.parametrize("path", [REGISTER, TOKEN, REFRESH])
@pytest.mark.django_db
def test_a_malformed_json_body_is_400(anon: APIClient, path: str, body: str | bytes) -> None:
    response = anon.post(path, body, content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("body", ["[]", "null", '"carol"', "42", "true", "[{}]"])
@pytest.mark.parametrize("path", [REGISTER, TOKEN, REFRESH])
@pytest.mark.django_db
def test_a_json_body_that_is_not_an_object_is_400(anon: APIClient, path: str, body: str) -> None:
    response = anon.post(path, body, content_type="application/json")

    assert response.status_code == 400


@pytest.mark.parametrize(
    "body", ["{", "[" * 100_000 + "]" * 100_000, '["name"]'], ids=["truncated", "deep", "list"]
)
@pytest.mark.parametrize("path", [ME, CHANGE, LOGOUT])
def test_authenticated_endpoints_refuse_malformed_json_too(
    api: APIClient, path: str, body: str
) -> None:
    method = api.patch if path == ME else api.post

    response = method(path, body, content_type="application/json")

    assert response.status_code == 400


@pytest.mark.parametrize("path", [REGISTER, REFRESH])
@pytest.mark.django_db
def test_a_form_body_where_json_is_expected_is_415(anon: APIClient, path: str) -> None:
    response = anon.post(path, "login=carol", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert set(response.json()) == {"detail"}


# --- Wrong types, missing and unknown fields --------------------------------------------------


@pytest.mark.parametrize("field", ["login", "password", "name"])
@pytest.mark.parametrize("value", [None, True, [], ["carol"], {}, {"a": "b"}])
@pytest.mark.django_db
def test_register_refuses_a_field_of_the_wrong_type(
    anon: APIClient, field: str, value: Any
) -> None:
    response = anon.post(REGISTER, valid_register(**{field: value}), format="json")

    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert not User.objects.exists()


@pytest.mark.parametrize("field", ["login", "password"])
@pytest.mark.parametrize("value", [None, False, ["alice"], {"$ne": ""}])
def test_sign_in_refuses_a_field_of_the_wrong_type(
    anon: APIClient, user: User, field: str, value: Any
) -> None:
    payload = {"login": "alice", "password": PASSWORD, field: value}

    response = anon.post(TOKEN, payload, format="json")

    assert response.status_code == 400


@pytest.mark.parametrize("value", [None, True, ["x"], {"token": "x"}])
@pytest.mark.parametrize("path", [REFRESH, LOGOUT])
def test_a_refresh_field_of_the_wrong_type_is_400(api: APIClient, path: str, value: Any) -> None:
    response = api.post(path, {"refresh": value}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"refresh"}


@pytest.mark.parametrize("value", [None, True, ["x"], {"first": "A"}])
@pytest.mark.parametrize("field", ["name", "status"])
def test_me_refuses_a_field_of_the_wrong_type(
    api: APIClient, user: User, field: str, value: Any
) -> None:
    response = api.patch(ME, {field: value}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {field}


@pytest.mark.parametrize("missing", ["login", "password", "name"])
@pytest.mark.django_db
def test_register_names_each_missing_field(anon: APIClient, missing: str) -> None:
    payload = valid_register()
    del payload[missing]

    response = anon.post(REGISTER, payload, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {missing}


@pytest.mark.django_db
def test_register_names_every_missing_field_of_an_empty_body(anon: APIClient) -> None:
    response = anon.post(REGISTER, {}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"login", "password", "name"}


@pytest.mark.parametrize(
    ("path", "payload", "unknown"),
    [
        (REGISTER, valid_register(email="carol@example.com"), "email"),
        (TOKEN, {"login": "alice", "password": PASSWORD, "remember": True}, "remember"),
        (REFRESH, {"refresh": "x", "access": "y"}, "access"),
        (ME, {"name": "Alice", "avatar": "x.png"}, "avatar"),
        (CHANGE, {"old_password": PASSWORD, "new_password": STRONG, "confirm": STRONG}, "confirm"),
        (LOGOUT, {"refresh": "x", "everywhere": True}, "everywhere"),
    ],
)
def test_an_unknown_field_is_400_and_named(
    api: APIClient, path: str, payload: dict[str, Any], unknown: str
) -> None:
    method = api.patch if path == ME else api.post

    response = method(path, payload, format="json")

    assert response.status_code == 400
    assert response.json() == {unknown: ["Unknown field."]}


# --- Lengths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("login", "a" * 151), ("name", "n" * 151), ("password", "Zq9!" * 32 + "x")],
)
@pytest.mark.django_db
def test_register_refuses_overlong_strings(anon: APIClient, field: str, value: str) -> None:
    response = anon.post(REGISTER, valid_register(**{field: value}), format="json")

    assert response.status_code == 400
    assert set(response.json()) == {field}


@pytest.mark.django_db
def test_register_accepts_a_login_and_name_of_150_characters(anon: APIClient) -> None:
    response = anon.post(REGISTER, valid_register(login="a" * 150, name="n" * 150), format="json")

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        (TOKEN, {"login": "a" * 151, "password": PASSWORD}, "login"),
        (TOKEN, {"login": "alice", "password": "p" * 129}, "password"),
        (REFRESH, {"refresh": "r" * 4097}, "refresh"),
        (CHANGE, {"old_password": "p" * 129, "new_password": STRONG}, "old_password"),
        (CHANGE, {"old_password": PASSWORD, "new_password": "Zq9!" * 33}, "new_password"),
    ],
)
def test_overlong_credentials_are_400(
    api: APIClient, path: str, payload: dict[str, str], field: str
) -> None:
    response = api.post(path, payload, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {field}


# --- NUL bytes and other unstorable characters -------------------------------------------------


@pytest.mark.parametrize("bad", ["\x00", "\ud800"], ids=["NUL", "lone surrogate"])
@pytest.mark.parametrize("field", ["login", "password", "name"])
@pytest.mark.django_db
def test_register_refuses_unstorable_characters(anon: APIClient, field: str, bad: str) -> None:
    value = {"login": "carol", "password": STRONG, "name": "Carol"}[field] + bad

    response = anon.post(
        REGISTER, as_json(valid_register(**{field: value})), content_type="application/json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert not User.objects.exists()


@pytest.mark.parametrize("bad", ["\x00", "\ud800"], ids=["NUL", "lone surrogate"])
@pytest.mark.parametrize("field", ["login", "password"])
def test_sign_in_refuses_unstorable_characters(
    anon: APIClient, user: User, field: str, bad: str
) -> None:
    payload = {"login": "alice", "password": PASSWORD}
    payload[field] += bad

    response = anon.post(TOKEN, as_json(payload), content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()) == {field}


@pytest.mark.parametrize("bad", ["\x00", "\ud800"], ids=["NUL", "lone surrogate"])
def test_other_endpoints_refuse_unstorable_characters(api: APIClient, bad: str) -> None:
    requests = [
        (api.patch, ME, {"name": f"Alice{bad}"}),
        (api.patch, ME, {"status": f"online{bad}"}),
        (api.post, REFRESH, {"refresh": f"token{bad}"}),
        (api.post, LOGOUT, {"refresh": f"token{bad}"}),
        (api.post, CHANGE, {"old_password": PASSWORD, "new_password": STRONG + bad}),
        (api.post, CHANGE, {"old_password": PASSWORD + bad, "new_password": STRONG}),
    ]

    responses = [
        method(path, as_json(payload), content_type="application/json")
        for method, path, payload in requests
    ]

    assert [r.status_code for r in responses] == [400] * len(responses)


def test_an_error_echoing_a_lone_surrogate_is_a_400_not_a_500(anon: APIClient, user: User) -> None:
    payload = {"login": "alice", "password": PASSWORD, "grant_type": "password\ud800"}

    response = anon.post(TOKEN, as_json(payload), content_type="application/json")

    assert response.status_code == 400
    assert set(json.loads(response.content)) == {"grant_type"}


@pytest.mark.django_db
def test_an_unknown_field_named_with_a_lone_surrogate_is_400(anon: APIClient) -> None:
    payload = valid_register(**{"nick\ud800": "x"})

    response = anon.post(REGISTER, as_json(payload), content_type="application/json")

    assert response.status_code == 400
    assert json.loads(response.content) == {"nick\ud800": ["Unknown field."]}


def test_a_nul_byte_in_a_search_is_400(api: APIClient) -> None:
    response = api.get("/api/users/", {"search": "al\x00ice"})

    assert response.status_code == 400
    assert "search" in response.json()


def test_a_form_grant_with_a_nul_byte_is_400(anon: APIClient, user: User) -> None:
    response = anon.post(
        TOKEN,
        "grant_type=password&username=alice%00&password=x",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400


# --- The login rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["abc", "a.b", "A-Z_0.9", "x" * 150, "...", "___", "007"])
@pytest.mark.django_db
def test_a_login_of_3_to_150_allowed_characters_is_accepted(anon: APIClient, login: str) -> None:
    response = anon.post(REGISTER, valid_register(login=login), format="json")

    assert response.status_code == 201


@pytest.mark.parametrize(
    "login",
    [
        "ab",
        "x" * 151,
        "",
        "car ol",
        "carol!",
        "carol@example.com",
        "car/ol",
        "Δelta",
        "ｃａｒｏｌ",
        "caro\u0131",
        "carol\u200b",
        "١٢٣٤",
        "carol\nx",
    ],
    ids=[
        "too short",
        "too long",
        "empty",
        "space",
        "punctuation",
        "email",
        "slash",
        "greek",
        "fullwidth",
        "dotless i",
        "zero-width space",
        "arabic digits",
        "newline",
    ],
)
@pytest.mark.django_db
def test_a_login_outside_the_rules_is_400(anon: APIClient, login: str) -> None:
    response = anon.post(REGISTER, valid_register(login=login), format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"login"}


@pytest.mark.parametrize("login", ["alice", "Alice", "ALICE", "aLiCe"])
def test_logins_are_unique_case_insensitively(anon: APIClient, user: User, login: str) -> None:
    response = anon.post(REGISTER, valid_register(login=login), format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"login"}
    assert User.objects.filter(login__iexact="alice").count() == 1


def test_the_database_itself_refuses_a_login_differing_only_in_case(user: User) -> None:
    """The service checks first; the constraint catches two registrations that race past it."""
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("ALICE", STRONG, name="Impostor")
