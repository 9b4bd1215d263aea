"""OpenAPI pieces: truthful 4xx responses for every endpoint, the auth schemes, and the
Idempotency-Key header."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from chatproject.idempotency import HEADER, KEY_MAX, WRITES, IdempotentWrites
from chatproject.serializers import ErrorSerializer

_DESCRIPTIONS = {
    400: "Bad input: `{field: [messages]}`, or `{detail}`.",
    401: "No, bad or expired credentials.",
    403: "A member who may not do this.",
    404: "No such object, or the caller is not a member.",
    413: "Request body too large.",
    429: "Throttled; see the `Retry-After` header.",
    503: "A service it needs (the file store) is unavailable; try again.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    responses = {}
    for code in codes:
        schema = OpenApiTypes.OBJECT if code == 400 else ErrorSerializer
        responses[code] = OpenApiResponse(response=schema, description=_DESCRIPTIONS[code])
    return responses


class BearerOrPasswordFlowScheme(OpenApiAuthenticationExtension):
    """The bearer JWT, documented twice: as a token to paste, and as the OAuth2 password flow
    against the token endpoint, so that the docs page's Authorize button signs in with a login."""

    target_class = "accounts.credentials.CredentialsJWTAuthentication"
    priority = 1  # over drf-spectacular's own SimpleJWTScheme
    name = ["jwtAuth", "oauth2"]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict[str, list[Any]]]:
        return [{"jwtAuth": []}, {"oauth2": []}]  # either one, not both

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict[str, Any]]:
        password_flow = {"password": {"tokenUrl": "/api/auth/token/", "scopes": {}}}
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            {"type": "oauth2", "flows": password_flow},
        ]


class ChatAutoSchema(AutoSchema):
    """drf-spectacular's schema, with the Idempotency-Key header on every write that takes one."""

    def get_override_parameters(self) -> list[Any]:
        parameters = super().get_override_parameters()
        if isinstance(self.view, IdempotentWrites) and self.method in WRITES:
            parameters.append(
                OpenApiParameter(
                    HEADER,
                    str,
                    OpenApiParameter.HEADER,
                    description=(
                        f"1-{KEY_MAX} characters. The same key from the same user within 24 hours "
                        "returns the first answer and changes nothing; with another request, 422."
                    ),
                )
            )
        return parameters


def document_key_reuse(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A postprocessing hook: an Idempotency-Key has a length, a key of another length is a 400,
    and a key used for another request is a 422, on every operation that takes one."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            keys = [p for p in operation.get("parameters", []) if p.get("name") == HEADER]
            if not keys:
                continue
            keys[0]["schema"] = {"type": "string", "minLength": 1, "maxLength": KEY_MAX}
            responses = operation["responses"]
            responses.setdefault(
                "400",
                {
                    "content": {"application/json": {"schema": {"type": "object"}}},
                    "description": "Bad input: `{field: [messages]}`, e.g. the Idempotency-Key.",
                },
            )
            responses["422"] = {
                "content": error,
                "description": "The Idempotency-Key was used for another request.",
            }
    return result
