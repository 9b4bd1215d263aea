"""OpenAPI pieces: truthful 4xx responses for every endpoint, and the auth schemes."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

from chatproject.serializers import ErrorSerializer

_DESCRIPTIONS = {
    400: "Bad input: `{field: [messages]}`, or `{detail}`.",
    401: "No, bad or expired credentials.",
    403: "A member who may not do this.",
    404: "No such object, or the caller is not a member.",
    413: "Request body too large.",
    429: "Throttled; see the `Retry-After` header.",
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

    target_class = "rest_framework_simplejwt.authentication.JWTAuthentication"
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
