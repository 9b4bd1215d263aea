"""Download URLs of attachments, signed for the member they are given to.

Payloads are built once for everyone who gets them (a socket event goes to every member), so an
Attachment's `url` and `thumbnail_url` leave chats/payloads.py unsigned: `/api/attachments/12/`.
The JSON that leaves for one member, a REST answer (chats/api/renderers.py) or a socket frame
(chats/realtime/consumer.py), is signed for them on its way out: each such URL gets
`?grant=<signed attachment, user, session and time>`. Only the value of an object key `url`
or `thumbnail_url` that starts with the path is touched: inside a JSON string every `"` is
escaped, so nothing a user wrote can look like one.

At download (chats/api/attachments.py) the grant must be untampered and under
ATTACHMENT_URL_MAX_AGE old, the user's credentials and login session must still hold as they did
when it was made, and the user must still be a member who may see the file.
"""

import re
import time
from typing import NamedTuple

from django.conf import settings
from django.core import signing

PATH = "/api/attachments/"
_SALT = "chats.downloads"
# The unsigned URLs in compact JSON (ours) or indented (DRF's browsable answers).
_MARKS = ('url":"' + PATH, 'url": "' + PATH)
_UNSIGNED = re.compile(r'((?:thumbnail_)?url": ?"' + PATH + r'([0-9]+)/(?:thumbnail/)?)"')


class Viewer(NamedTuple):
    """Whom the URLs are signed for: the user, and the login session they came with."""

    user_id: int
    session_id: str | None


class Grant(NamedTuple):
    attachment_id: int
    user_id: int
    session_id: str | None
    signed_at: float


def url(attachment_id: int, *, thumbnail: bool = False) -> str:
    """An unsigned URL, as payloads carry it."""
    return f"{PATH}{attachment_id}/" + ("thumbnail/" if thumbnail else "")


def has_unsigned(text: str) -> bool:
    return any(mark in text for mark in _MARKS)


def signed_for(text: str, viewer: Viewer) -> str:
    """The JSON text with every attachment URL in it signed for the viewer."""
    if not has_unsigned(text):
        return text
    signed_at = time.time()

    def signed(match: re.Match[str]) -> str:
        grant = grant_make(int(match[2]), viewer, signed_at)
        return f'{match[1]}?grant={grant}"'

    return _UNSIGNED.sub(signed, text)


def grant_make(attachment_id: int, viewer: Viewer, signed_at: float) -> str:
    return signing.dumps([attachment_id, *viewer, signed_at], salt=_SALT)


def grant_read(raw: str, attachment_id: int) -> Grant | None:
    """The grant, if it is ours, for this attachment, and not expired."""
    try:
        grant = Grant(*signing.loads(raw, salt=_SALT))
    except (signing.BadSignature, TypeError, ValueError):
        return None
    fresh = 0 <= time.time() - grant.signed_at <= settings.ATTACHMENT_URL_MAX_AGE
    return grant if fresh and grant.attachment_id == attachment_id else None
