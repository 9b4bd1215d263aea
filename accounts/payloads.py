"""A user as the API and the socket show them: pure functions, no queries."""

from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import User


def api_time(moment: datetime | None) -> datetime | None:
    """A moment in the server's time zone, for a payload: the JSON encoder writes it as every
    DateTimeField of the API does (chatproject/renderers.py). Already in UTC, it stays as it is:
    the project never activates another zone, so the default one is the current one."""
    if moment is None:
        return None
    zone = timezone.get_default_timezone()
    return moment if moment.utcoffset() == zone.utcoffset(moment) else moment.astimezone(zone)


def user_payload(user: User, *, presence: bool = True) -> dict[str, Any]:
    """Without presence, `status` and `last_seen` are null: what someone who shares no chat with
    the user sees."""
    return {
        "id": user.pk,
        "login": user.login,
        "name": user.name,
        "status": user.status if presence else None,
        "last_seen": api_time(user.last_seen) if presence else None,
        "created": api_time(user.created),
        "updated": api_time(user.updated),
    }
