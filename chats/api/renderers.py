"""REST answers, with the attachment URLs in them signed for the caller (chats/downloads.py)."""

from collections.abc import Mapping
from typing import Any

from rest_framework.request import Request
from rest_framework_simplejwt.tokens import Token

from accounts.credentials import session_of
from accounts.selectors import browser_session_id
from chatproject.renderers import JSONRenderer
from chats import downloads


class SignedURLsJSONRenderer(JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        body = super().render(data, accepted_media_type, renderer_context)
        # Only an answer with files in it asks who the caller is: any other (a 503 while the
        # database is down, among them) must render without reaching the database.
        text = body.decode()
        if not downloads.has_unsigned(text):
            return body
        request = (renderer_context or {}).get("request")
        if not isinstance(request, Request) or not request.user.is_authenticated:
            return body
        viewer = downloads.Viewer(request.user.pk, _session(request))
        return downloads.signed_for(text, viewer).encode()


def _session(request: Request) -> str | None:
    """The login session the caller came with: their token's, or their session cookie's."""
    if isinstance(request.auth, Token):
        return session_of(request.auth)
    return browser_session_id(session_key=request.session.session_key or "")
