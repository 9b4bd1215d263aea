from typing import Any
from urllib.parse import ParseResult

from channels.security import websocket
from django.conf import settings


class OriginValidator(websocket.OriginValidator):
    """Channels' origin check, except that a handshake without an Origin header passes.

    Browsers always send Origin, and a browser page from another site is what the check stops.
    Native apps and scripts send none, and they authenticate with a token, not a cookie.
    """

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        return parsed_origin is None or bool(super().valid_origin(parsed_origin))


def AllowedHostsOriginValidator(application: Any) -> OriginValidator:  # noqa: N802
    """Like channels' AllowedHostsOriginValidator: the allowed origins are ALLOWED_HOSTS."""
    return OriginValidator(application, settings.ALLOWED_HOSTS)
