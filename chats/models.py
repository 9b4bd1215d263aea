from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

TITLE_MAX = 200
DESCRIPTION_MAX = 2000
TEXT_MAX = 10_000
CLIENT_ID_MAX = 64
MEMBER_IDS_MAX = 1000


class ChatType(models.TextChoices):
    DIRECT = "direct"
    GROUP = "group"
    CHANNEL = "channel"


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


MANAGER_ROLES = (Role.OWNER, Role.ADMIN)


class Chat(models.Model):
    title = models.CharField(max_length=TITLE_MAX, blank=True)
    description = models.TextField(max_length=DESCRIPTION_MAX, blank=True)
    chat_type = models.CharField(max_length=8, choices=ChatType.choices)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "<low user id>:<high user id>" for direct chats, so the database keeps one chat per pair.
    # NULL, not "", for other chats: the partial unique constraint must not see them.
    direct_key = models.CharField(  # noqa: DJ001
        max_length=41, null=True, blank=True, editable=False
    )
    # The seq of the newest message. Posting increments it under the row lock, which is what
    # makes seqs gapless and in commit order.
    last_seq = models.BigIntegerField(default=0, editable=False)
    last_activity = models.DateTimeField(default=timezone.now, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["direct_key"],
                condition=Q(direct_key__isnull=False),
                name="chat_one_direct_per_pair",
            ),
            models.CheckConstraint(
                condition=Q(chat_type=ChatType.DIRECT) | Q(direct_key__isnull=True),
                name="chat_direct_key_only_for_direct",
            ),
        ]

    def __str__(self) -> str:
        return self.title or f"{self.chat_type} #{self.pk}"


class Membership(models.Model):
    # The unique (chat, user) and the (user, chat) indexes serve both foreign keys.
    chat = models.ForeignKey(
        Chat, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        db_index=False,
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    joined = models.DateTimeField(auto_now_add=True)
    last_read_seq = models.BigIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["chat", "user"], name="membership_unique"),
        ]
        indexes: ClassVar = [models.Index(fields=["user", "chat"], name="membership_user_chat")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.chat_id} ({self.role})"


class Message(models.Model):
    # The unique (chat, seq) index serves this foreign key too.
    chat = models.ForeignKey(
        Chat, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    seq = models.BigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="messages"
    )
    text = models.TextField(max_length=TEXT_MAX)
    # NULL when the client sent none, so the (chat, user, client_id) constraint skips it.
    client_id = models.CharField(max_length=CLIENT_ID_MAX, null=True, blank=True)  # noqa: DJ001
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    edited = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)

    class Meta:
        constraints: ClassVar = [
            # Also the index that serves history by (chat, seq).
            models.UniqueConstraint(fields=["chat", "seq"], name="message_chat_seq_unique"),
            models.UniqueConstraint(
                fields=["chat", "user", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.chat_id}#{self.seq}"


class Connection(models.Model):
    """One open WebSocket, on whichever server process holds it.

    A user is online while they have a row here. A process refreshes its sockets' heartbeats while
    it lives, so the rows of a process that crashed go stale and the presence sweep removes them.
    """

    channel_name = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connections"
    )
    opened = models.DateTimeField(auto_now_add=True)
    heartbeat = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.user_id} on {self.channel_name}"


class ScheduledStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    CANCELED = "canceled"
    FAILED = "failed"


class ScheduledMessage(models.Model):
    """A message to post at `send_at`. The row is the truth: delivery claims it atomically, so a
    queued task, the beat's dispatch and any number of workers deliver it once between them."""

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="scheduled_messages")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scheduled_messages"
    )
    text = models.TextField(max_length=TEXT_MAX)
    send_at = models.DateTimeField()
    status = models.CharField(
        max_length=8, choices=ScheduledStatus.choices, default=ScheduledStatus.PENDING
    )
    message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    failure = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        indexes: ClassVar = [
            # The dispatcher's question: which pending rows are due?
            models.Index(
                fields=["send_at"],
                condition=Q(status="pending"),
                name="scheduled_pending_due",
            ),
            models.Index(fields=["chat", "user"], name="scheduled_chat_user"),
        ]

    def __str__(self) -> str:
        return f"{self.chat_id} at {self.send_at:%Y-%m-%d %H:%M} ({self.status})"
