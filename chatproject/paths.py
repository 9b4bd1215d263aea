"""What every URL configuration and viewset matches an id in a path with, and how large a body
each path takes."""

import re

from django.conf import settings

# The digits of a positive bigint: a longer id would overflow the database's bigint (a 500), so
# the path does not match at all (a 404).
ID_PATTERN = r"[0-9]{1,18}"


def id_group(name: str) -> str:
    return rf"(?P<{name}>{ID_PATTERN})"


# Uploads (chats.api.attachments) take a file; every other path a small body.
_UPLOAD_PATH = re.compile(rf"^/api/chats/{ID_PATTERN}/attachments/$")


def is_upload(path: str) -> bool:
    return _UPLOAD_PATH.match(path) is not None


def body_max_bytes(path: str) -> int:
    """The largest request body the path takes: refused with 413 before it is read."""
    if is_upload(path):
        return int(settings.ATTACHMENT_BODY_MAX_BYTES)
    return int(settings.REQUEST_BODY_MAX_BYTES)
