"""The WebSocket origin check: a browser's handshake must come from this server's own origin.

Channels' check compares only the Origin's host with ALLOWED_HOSTS, so a page on another port or
scheme of the same host (`http://localhost:6666`) passed and could use the visitor's session
cookie. Here the scheme, host and port must all be the server's own, as Django's CSRF check
requires of a form, or be listed in CSRF_TRUSTED_ORIGINS. A handshake without an Origin passes:
browsers always send one, while native apps and scripts send none and authenticate with a
token, not a cookie.
"""

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_key(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin, the default port filled in; None if it is no origin."""
    try:
        parts = urlsplit(url.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def _own_scheme(scope: dict[str, Any], headers: dict[bytes, bytes]) -> str:
    if scope.get("scheme") == "wss":
        return "https"
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header is not None:  # behind a TLS proxy, which says so in X-Forwarded-Proto
        name = proxy_header[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        if headers.get(name, b"").decode("latin-1").strip() == proxy_header[1]:
            return "https"
    return "http"


def origin_allowed(scope: dict[str, Any]) -> bool:
    headers = dict(scope.get("headers", []))
    origin = headers.get(b"origin")
    if origin is None:
        return True
    key = _origin_key(origin.decode("latin-1"))
    if key is None:  # "null" (a sandboxed page, a file) or garbage
        return False
    trusted = {_origin_key(url) for url in settings.CSRF_TRUSTED_ORIGINS}
    if key in trusted:
        return True
    host = headers.get(b"host", b"").decode("latin-1")
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    return key == _origin_key(f"{_own_scheme(scope, headers)}://{host}")


class OriginValidator:
    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
