"""A user as the API and the socket show them: pure functions, no queries."""

from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import User


def timestamp(moment: datetime | None) -> str | None:
    """As every DateTimeField of the API formats it: ISO 8601 in the server's time zone, "Z" for
    UTC. Written out rather than through DRF's field, whose per-call time zone lookup was half of
    a catch-up's serializing in the profile (bench/README.md); the project never activates
    another zone, so the default one is the current one."""
    if moment is None:
        return None
    text = moment.astimezone(timezone.get_default_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def user_payload(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "login": user.login,
        "name": user.name,
        "status": user.status,
        "last_seen": timestamp(user.last_seen),
        "created": timestamp(user.created),
        "updated": timestamp(user.updated),
    }
