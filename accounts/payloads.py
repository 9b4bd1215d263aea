"""A user as the API and the socket show them: pure functions, no queries."""

import functools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from accounts.models import User


@functools.cache
def _api_zone() -> ZoneInfo | None:
    """The zone the API writes times in, or None for UTC, which the database's already are.
    Read once: a catch-up writes tens of thousands of times, and reading the setting each time
    was a quarter of its CPU in the profile."""
    name = settings.TIME_ZONE
    return None if name in ("UTC", "Etc/UTC") else ZoneInfo(name)


@receiver(setting_changed)
def _api_zone_forget(*, setting: str, **kwargs: Any) -> None:
    if setting == "TIME_ZONE":  # tests change it
        _api_zone.cache_clear()


def api_time(moment: datetime | None) -> datetime | None:
    """A moment in the server's time zone (TIME_ZONE), for a payload: the JSON encoder writes it
    as every DateTimeField of the API does (chatproject/renderers.py)."""
    if moment is None:
        return None
    zone = _api_zone()
    if zone is None:
        return moment if moment.utcoffset() == _NO_OFFSET else moment.astimezone(UTC)
    return moment.astimezone(zone)


_NO_OFFSET = timedelta(0)


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
