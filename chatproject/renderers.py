from collections.abc import Mapping
from typing import Any

from rest_framework import renderers


class _ASCIIJSONRenderer(renderers.JSONRenderer):
    ensure_ascii = True


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer, except that a lone surrogate in the data is escaped instead of a 500.

    A JSON request can carry a lone surrogate ("\\ud800") that UTF-8 cannot encode, and validation
    errors echo client input: '"\\ud800" is not a valid choice.', or an unknown field's name.
    Such a response is rendered with every non-ASCII character escaped; all others as usual.
    """

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return _ASCIIJSONRenderer().render(data, accepted_media_type, renderer_context)
