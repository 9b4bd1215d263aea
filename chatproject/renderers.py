"""JSON as the API writes it, REST answers and socket frames alike.

orjson writes it, in native code: encoding was the largest CPU cost of a history page and of a
catch-up after the queries (bench/README.md), and orjson writes datetimes itself, exactly as DRF
does (ISO 8601, "Z" for UTC, microseconds when there are any), so payloads carry datetimes and
no Python formats them one by one. What orjson cannot write (a Decimal, a lazy string) goes
through DRF's encoder; a lone surrogate, which UTF-8 cannot hold, is escaped as ASCII JSON.
Unlike DRF, U+2028 and U+2029 go out as they are: valid JSON, and no page of ours embeds an
answer in a script, so escaping them was two more passes over every frame for nothing.
"""

import json
from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_UTC_Z
_fallback = JSONEncoder().default


def json_bytes(data: Any) -> bytes:
    try:
        return orjson.dumps(data, default=_fallback, option=_OPTIONS)
    except orjson.JSONEncodeError:
        # A lone surrogate ("\ud800"): a JSON request can carry one, and validation errors echo
        # client input. Escaped, it goes out instead of a 500.
        return json.dumps(data, cls=JSONEncoder, separators=(",", ":")).encode()


class JSONRenderer(renderers.JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}):
            try:  # a person reads it
                return super().render(data, accepted_media_type, renderer_context)
            except UnicodeEncodeError:  # a lone surrogate: escaped, not indented
                pass
        return json_bytes(data)
