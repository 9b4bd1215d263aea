"""A user as the API and the socket show them: pure functions, no queries."""

from datetime import datetime
from typing import Any

from rest_framework.fields import DateTimeField

from accounts.models import User

# Formats as every DateTimeField of the API does: in the server's time zone, ISO 8601.
_timestamp = DateTimeField()


def timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else _timestamp.to_representation(moment)


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


def user_brief_payload(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.name}
