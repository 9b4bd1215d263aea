"""Presence: who is online.

A user is online while they have a Connection row (one per open socket). Connect and disconnect
lock the user's row, so that a socket opening on one process and the last one closing on another
cannot leave the status wrong.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User, UserStatus
from chats import selectors
from chats.models import Connection
from chats.realtime import events


def presence_announce(*, user: User) -> None:
    """Tell everyone who shares a chat with the user their current status."""
    events.presence(user.pk, user.status, selectors.chat_ids_for_user(user=user))


def _user_locked(user_id: int) -> User:
    return User.objects.select_for_update().get(pk=user_id)


class SocketLimitReached(Exception):
    """The user has WS_SOCKETS_PER_USER sockets open already."""


@transaction.atomic
def presence_connect(*, user: User, channel_name: str) -> User:
    """Record a new socket; the user is online now unless they chose away. Returns the user.

    Counted under the user's lock, so sockets opening together on several processes cannot all
    pass the cap. A row of a process that died counts until the presence sweep ends it."""
    locked = _user_locked(user.pk)
    if Connection.objects.filter(user=locked).count() >= settings.WS_SOCKETS_PER_USER:
        raise SocketLimitReached
    Connection.objects.create(channel_name=channel_name, user=locked)
    locked.last_seen = timezone.now()
    fields = ["last_seen"]
    if locked.status == UserStatus.OFFLINE:  # "away" stays away: the user chose it
        locked.status = UserStatus.ONLINE
        fields.append("status")
        presence_announce(user=locked)
    locked.save(update_fields=fields)
    return locked


@transaction.atomic
def presence_disconnect(*, channel_name: str) -> None:
    connection_row = Connection.objects.filter(channel_name=channel_name).first()
    if connection_row is None:  # already swept
        return
    locked = _user_locked(connection_row.user_id)
    connection_row.delete()
    _offline_if_unconnected(locked)


def _offline_if_unconnected(user: User) -> bool:
    user.last_seen = timezone.now()
    if Connection.objects.filter(user=user).exists() or user.status == UserStatus.OFFLINE:
        user.save(update_fields=["last_seen"])
        return False
    user.status = UserStatus.OFFLINE
    user.save(update_fields=["status", "last_seen"])
    presence_announce(user=user)
    return True


def presence_heartbeat(*, channel_name: str) -> None:
    Connection.objects.filter(channel_name=channel_name).update(heartbeat=timezone.now())


def presence_sweep(*, stale_seconds: int | None = None) -> int:
    """End the connections whose process stopped heartbeating (it crashed or was killed), and mark
    offline the users left with none. Returns how many users went offline."""
    stale_after = stale_seconds if stale_seconds is not None else settings.PRESENCE_STALE_SECONDS
    cutoff = timezone.now() - timedelta(seconds=stale_after)
    user_ids = set(
        Connection.objects.filter(heartbeat__lt=cutoff).values_list("user_id", flat=True)
    )
    # Users marked online by a process that died before it wrote a connection row go too.
    user_ids |= set(
        User.objects.exclude(status=UserStatus.OFFLINE)
        .filter(connections__isnull=True)
        .values_list("pk", flat=True)
    )
    went_offline = 0
    for user_id in sorted(user_ids):
        with transaction.atomic():
            user = _user_locked(user_id)
            Connection.objects.filter(user=user, heartbeat__lt=cutoff).delete()
            went_offline += _offline_if_unconnected(user)
    return went_offline
