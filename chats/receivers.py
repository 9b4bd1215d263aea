"""What chats does when accounts announces a change (accounts/signals.py)."""

from typing import Any

from django.dispatch import receiver

from accounts import signals
from accounts.models import User
from chats.realtime import events
from chats.services.presence import presence_announce


@receiver(signals.sessions_revoked)
def close_every_socket(sender: Any, *, user_id: int, **kwargs: Any) -> None:
    events.sessions_close(user_id)


@receiver(signals.session_ended)
def close_session_sockets(sender: Any, *, session_id: str, **kwargs: Any) -> None:
    events.session_close(session_id)


@receiver(signals.status_changed)
def announce_status(sender: Any, *, user: User, **kwargs: Any) -> None:
    presence_announce(user=user)
