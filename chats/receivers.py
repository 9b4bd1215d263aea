"""What chats does when accounts announces a change (accounts/signals.py), and when an
attachment's row goes."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from accounts import signals
from accounts.models import User
from chats.models import Attachment
from chats.realtime import events
from chats.services.attachments import files_erase
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


@receiver(post_delete, sender=Attachment)
def erase_files(sender: Any, *, instance: Attachment, **kwargs: Any) -> None:
    """However the row goes (an author's delete, the chat's, the uploader's account, the sweep),
    its bytes go after the commit: a rollback keeps both."""
    keys = [key for key in (instance.key, instance.thumbnail_key) if key]
    transaction.on_commit(lambda: files_erase(keys))
