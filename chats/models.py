from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

TITLE_MAX = 200
DESCRIPTION_MAX = 2000
TEXT_MAX = 10_000
CLIENT_ID_MAX = 64
MEMBER_IDS_MAX = 100  # people added in one request (security review finding 10)
REASON_MAX = 1000  # a report's reason, and a moderator's
QUOTE_MAX = 200  # what a quoted reply copies of the message it answers
EMOJI_MAX = 32  # code points: the longest emoji sequences (family ZWJ, tag flags) take 10
REACTIONS_DISTINCT_MAX = 20  # distinct emoji on one message
PINS_MAX = 100  # pinned messages per chat
ATTACHMENTS_PER_MESSAGE_MAX = 10
ATTACHMENT_NAME_MAX = 200


class ChatType(models.TextChoices):
    DIRECT = "direct"
    GROUP = "group"
    CHANNEL = "channel"


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


MANAGER_ROLES = (Role.OWNER, Role.ADMIN)


class Notify(models.TextChoices):
    """A member's notification level for a chat: what the unread badge counts."""

    ALL = "all"
    MENTIONS = "mentions"
    NONE = "none"


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
    # The chat's change counter: every commit that changes anything in the chat takes the next
    # one under the same row lock (chats/services/versions.py), so versions are gapless and in
    # commit order too. Messages, members and departures carry the version of their last change.
    version = models.BigIntegerField(default=0, editable=False)
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
    version = models.BigIntegerField(default=0, editable=False)  # the chat's, at the last change
    # The user's version (User.user_version) when they joined or changed their settings here.
    user_version = models.BigIntegerField(default=0, editable=False)
    notify = models.CharField(
        max_length=8, choices=Notify.choices, default=Notify.ALL, db_default=Notify.ALL
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["chat", "user"], name="membership_unique"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["user", "chat"], name="membership_user_chat"),
            models.Index(fields=["chat", "version"], name="membership_chat_version"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.chat_id} ({self.role})"


class Message(models.Model):
    # The unique (chat, seq) index serves this foreign key too.
    chat = models.ForeignKey(
        Chat, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    seq = models.BigIntegerField()
    version = models.BigIntegerField(default=0)  # the chat's, at the message's last change
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
    # Set when a moderator removed the message (deleted is then true too), cleared by a restore:
    # a removal keeps the text in the row, so that it can be restored. An author's delete erases
    # the text (an open report about the message keeps its own copy as evidence).
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # the partial index below serves it
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    removal_reason = models.TextField(max_length=REASON_MAX, blank=True)
    # The columns below have database defaults too, so that a process still running the code of
    # before them (a rolling restart) inserts rows all the same.
    # A quoted reply: the message it answers, and a copy of the start of its text as it was
    # then, which becomes "" while that message is deleted or removed (and comes back with a
    # restore). A copy, so that the reply changes (and takes a version) only when that happens.
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    reply_to_text = models.CharField(max_length=QUOTE_MAX, blank=True, default="", db_default="")
    # A thread reply: the top-level message whose thread it is in. The root counts its replies
    # that are not deleted, and the time of the latest.
    thread_root = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="thread_replies",
        db_index=False,
    )
    reply_count = models.IntegerField(default=0, db_default=0)
    last_reply_at = models.DateTimeField(null=True, blank=True)
    # The ids of the members the text mentions, as the payload lists them; Mention rows are what
    # mention counts read.
    mention_ids = models.JSONField(default=list, db_default=[], blank=True)
    # Whether any reaction stands on it: a page of messages reads reactions only for those that
    # have some, and most have none.
    reacted = models.BooleanField(default=False, db_default=False)
    # How many files it carries, likewise: a page reads attachments only for those that have some.
    attachment_count = models.SmallIntegerField(default=0, db_default=0)
    # Set while pinned: the pins list's order. A removal hides the pin; an author's delete drops it.
    pinned_at = models.DateTimeField(null=True, blank=True)

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
        indexes: ClassVar = [
            models.Index(fields=["chat", "version"], name="message_chat_version"),
            # Few messages are ever removed: a small index, for deleting a moderator's account.
            models.Index(
                fields=["removed_by"],
                condition=Q(removed_by__isnull=False),
                name="message_removed_by",
            ),
            # One thread's replies by seq, and the main flow without them.
            models.Index(
                fields=["thread_root", "seq"],
                condition=Q(thread_root__isnull=False),
                name="message_thread_seq",
            ),
            models.Index(
                fields=["chat", "seq"],
                condition=Q(thread_root__isnull=True),
                name="message_main_flow_seq",
            ),
            # The quoted replies of a message, whose quotes follow its deletion.
            models.Index(
                fields=["reply_to"], condition=Q(reply_to__isnull=False), name="message_reply_to"
            ),
            models.Index(
                fields=["chat", "pinned_at"],
                condition=Q(pinned_at__isnull=False),
                name="message_pins",
            ),
        ]
        permissions: ClassVar = [
            # Not change_message: the change form would rewrite text past the services.
            ("remove_message", "Can remove and restore messages"),
        ]

    def __str__(self) -> str:
        return f"{self.chat_id}#{self.seq}"

    # Its reactions as a payload shows them to one member (chats.selectors.reactions_for), set
    # by whoever read them; a message just posted has none.
    reactions: "list[dict[str, Any]]" = []  # noqa: RUF012  # replaced, never changed in place
    # Its files, likewise (chats.selectors.message_extras_set).
    attachments: "list[Attachment]" = []  # noqa: RUF012

    @property
    def author_name(self) -> str | None:
        """What a message payload shows of its author; a history row reads it by join
        (chats.selectors.MessageRow), as it does the quoted message's below."""
        return None if self.user is None else self.user.name

    @property
    def reply_to_seq(self) -> int | None:
        return None if self.reply_to is None else self.reply_to.seq

    @property
    def reply_to_user_id(self) -> int | None:
        return None if self.reply_to is None else self.reply_to.user_id

    @property
    def reply_to_author_name(self) -> str | None:
        return None if self.reply_to is None else self.reply_to.author_name


class Reaction(models.Model):
    """One member's emoji on a message. A message lists each emoji once with its count."""

    # The unique (message, emoji, user) index serves this foreign key too.
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="reaction_rows", db_index=False
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=EMOJI_MAX)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["message", "emoji", "user"], name="reaction_one_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.emoji} by {self.user_id} on {self.message_id}"


class Attachment(models.Model):
    """A file a member uploaded into a chat: first on its own, then posted with one of their
    messages. The bytes live in the "attachments" storage under `key` (and an image's thumbnail
    under `thumbnail_key`); an author's delete erases them, and an upload never posted is swept
    after a day (chats.services.attachments)."""

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="+", db_index=False)
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="files"
    )
    name = models.CharField(max_length=ATTACHMENT_NAME_MAX)
    content_type = models.CharField(max_length=100)  # sniffed from the bytes
    size = models.BigIntegerField()
    width = models.IntegerField(null=True, blank=True)
    height = models.IntegerField(null=True, blank=True)
    key = models.CharField(max_length=200)
    thumbnail_key = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes: ClassVar = [
            # The sweep of uploads never posted.
            models.Index(
                fields=["created"], condition=Q(message__isnull=True), name="attachment_unposted"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Mention(models.Model):
    """A member mentioned by a message that is not deleted: what their mention_count for the
    chat counts, past their read marker. A delete or removal drops the rows; a restore and an
    edit write them again from the text."""

    # The unique (message, user) index serves this foreign key too.
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()  # the message's, which the read marker is compared with

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["message", "user"], name="mention_unique"),
        ]
        indexes: ClassVar = [
            # A member's mention count in a chat; it serves the user foreign key too.
            models.Index(fields=["user", "chat", "seq"], name="mention_user_chat_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.message_id}"


class Departure(models.Model):
    """A user who left a chat, was removed from it, or lost it when it was deleted: what the
    chat's change feed reports as a removed user id and the user's as a removed chat id. Joining
    the chat again deletes it. `chat_id` is no foreign key: the row outlives a deleted chat."""

    chat_id = models.BigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    version = models.BigIntegerField(null=True)  # the chat's; none when the chat was deleted
    user_version = models.BigIntegerField()

    class Meta:
        constraints: ClassVar = [
            # Also the index of the chat's feed, with version below.
            models.UniqueConstraint(fields=["chat_id", "user"], name="departure_unique"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["chat_id", "version"], name="departure_chat_version"),
            models.Index(fields=["user", "user_version"], name="departure_user_version"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} left {self.chat_id}"


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
    # Whether a delivery task was queued: one per row, however often send_at moves (a task that
    # comes early re-queues itself; a row moved earlier is the dispatcher's).
    delivery_queued = models.BooleanField(default=False)
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


# --- Moderation ----------------------------------------------------------------------------------


class ReportStatus(models.TextChoices):
    OPEN = "open"
    DISMISSED = "dismissed"  # a moderator found nothing to do
    REMOVED = "removed"  # the message was removed
    BANNED = "banned"  # the message's author was banned


class Report(models.Model):
    """A member's complaint about a message: the moderators' queue. One per member per message."""

    # The unique (message, reporter) index serves this foreign key too.
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="reports", db_index=False
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports"
    )
    reason = models.TextField(max_length=REASON_MAX)
    # The message's text as reported: the evidence, kept while the report is open even if the
    # author deletes the message (which erases it there), and erased when the report closes.
    message_text = models.TextField(max_length=TEXT_MAX, blank=True)
    status = models.CharField(
        max_length=16, choices=ReportStatus.choices, default=ReportStatus.OPEN
    )
    created = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["message", "reporter"], name="report_one_per_reporter_per_message"
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["status", "created"], name="report_queue")]

    def __str__(self) -> str:
        return f"report #{self.pk} on message {self.message_id}"


class AuditAction(models.TextChoices):
    USER_BAN = "user.ban", "ban user"
    USER_UNBAN = "user.unban", "unban user"
    MESSAGE_REMOVE = "message.remove", "remove message"
    MESSAGE_RESTORE = "message.restore", "restore message"
    REPORT_DISMISS = "report.dismiss", "dismiss report"
    MEMBER_REMOVE = "member.remove", "remove member"


class AuditEntry(models.Model):
    """Who did what to whom, when and why: one row per moderation action, never changed.

    The targets are nullable so that the trail outlives them; `target_user` is the user acted
    on, or the author of the message acted on, so one filter shows everything done about a user.
    """

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    target_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    report = models.ForeignKey(
        Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(max_length=REASON_MAX, blank=True)

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit trail"

    def __str__(self) -> str:
        return (
            f"{self.get_action_display()} by {self.moderator_id} at {self.created:%Y-%m-%d %H:%M}"
        )
