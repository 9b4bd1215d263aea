"""Error responses for the OpenAPI schema, so every endpoint documents its 4xx truthfully."""

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
