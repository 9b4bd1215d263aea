import json
import re
from typing import Any

import pytest
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

# Every path of the contract's Auth, Users, Chats and Messages sections, with its methods.
CONTRACT = {
    "/api/auth/register/": {"post"},
    "/api/auth/token/": {"post"},
    "/api/auth/token/refresh/": {"post"},
    "/api/auth/logout/": {"post"},
    "/api/users/me/": {"get", "patch"},
    "/api/users/me/password/": {"post"},
    "/api/users/": {"get"},
    "/api/users/{}/": {"get"},
    "/api/chats/": {"get", "post"},
    "/api/chats/{}/": {"get", "patch", "delete"},
    "/api/chats/{}/members/": {"get", "post"},
    "/api/chats/{}/members/{}/": {"patch", "delete"},
    "/api/chats/{}/messages/": {"get", "post"},
    "/api/chats/{}/messages/{}/": {"patch", "delete"},
    "/api/chats/{}/read/": {"post"},
    "/api/messages/search/": {"get"},
}
PUBLIC = {
    "/api/auth/register/",
    "/api/auth/token/",
    "/api/auth/token/refresh/",
    # A download's signed URL is its credential (403 without a good one): an <img> sends no token.
    "/api/attachments/{}/",
    "/api/attachments/{}/thumbnail/",
}
METHODS = {"get", "put", "patch", "post", "delete"}


def normalized(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    document: dict[str, Any] = json.loads(response.content)
    return document


def operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (normalized(path), method): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_the_schema_is_valid_openapi_3(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_the_schema_lists_every_path_and_method_of_the_contract(schema: dict[str, Any]) -> None:
    documented: dict[str, set[str]] = {}
    for path, method in operations(schema):
        documented.setdefault(path, set()).add(method)

    missing = {
        path: methods - documented.get(path, set())
        for path, methods in CONTRACT.items()
        if methods - documented.get(path, set())
    }
    assert missing == {}


def test_every_operation_declares_its_client_errors(schema: dict[str, Any]) -> None:
    for (path, method), operation in operations(schema).items():
        codes = set(operation["responses"])
        assert any(code.startswith("4") for code in codes), (method, path)
        if path not in PUBLIC:
            assert "401" in codes, (method, path)
        if "{}" in path:
            assert "404" in codes, (method, path)
        if method in {"post", "patch"} and "requestBody" in operation:
            assert "400" in codes, (method, path)


@pytest.mark.parametrize(
    ("path", "codes"),
    [
        ("/api/auth/register/", {"400", "413", "429"}),
        ("/api/auth/token/", {"400", "401", "413", "429"}),
        ("/api/auth/token/refresh/", {"400", "401"}),
        ("/api/auth/logout/", {"400", "401"}),
    ],
)
def test_the_auth_endpoints_declare_their_errors(
    schema: dict[str, Any], path: str, codes: set[str]
) -> None:
    assert codes <= set(schema["paths"][path]["post"]["responses"])


def test_the_token_endpoint_documents_json_and_the_oauth2_form(schema: dict[str, Any]) -> None:
    body = schema["paths"]["/api/auth/token/"]["post"]["requestBody"]["content"]

    assert {"application/json", "application/x-www-form-urlencoded"} <= set(body)


def test_authorize_offers_a_bearer_token_or_the_password_flow(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["jwtAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    password_flow = schemes["oauth2"]["flows"]["password"]
    assert password_flow["tokenUrl"] == "/api/auth/token/"

    me = schema["paths"]["/api/users/me/"]["get"]["security"]
    assert {"jwtAuth": []} in me
    assert {"oauth2": []} in me
    assert {} not in me


@pytest.mark.parametrize("path", sorted(PUBLIC))
def test_the_public_endpoints_need_no_credentials(schema: dict[str, Any], path: str) -> None:
    (operation,) = [op for (each, _), op in operations(schema).items() if each == path]
    security = operation.get("security", schema.get("security", []))

    assert {} in security or security == []


@pytest.mark.django_db
def test_the_schema_needs_no_token(anon: APIClient) -> None:
    response = anon.get("/api/schema/")

    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


@pytest.mark.django_db
def test_the_docs_page_is_swagger_ui(anon: APIClient) -> None:
    response = anon.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "/api/schema/" in page
