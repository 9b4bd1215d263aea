"""Every write to chats, members and messages.

REST views, WebSocket consumers, admin actions and Celery tasks all call these functions, so each
rule (who may do what, seq order, idempotency) lives in one place and each write publishes the
same events. Each function is one transaction; events go out only after it commits.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Value, When
from django.utils import timezone
from rest_framework import exceptions

from accounts.models import User, UserStatus
from chatproject.celery import app as celery_app
from chats import events, selectors
from chats.models import (
    MANAGER_ROLES,
    MEMBER_IDS_MAX,
    REASON_MAX,
    AuditAction,
    AuditEntry,
    Chat,
    ChatType,
    Connection,
    Membership,
    Message,
    Report,
    ReportStatus,
    Role,
    ScheduledMessage,
    ScheduledStatus,
)

logger = logging.getLogger(__name__)


def membership_get(*, chat: Chat, user: User) -> Membership:
    """The caller's membership. A non-member learns nothing, not even that the chat exists."""
    membership = Membership.objects.filter(chat=chat, user=user).first()
    if membership is None:
        raise exceptions.NotFound("No such chat.")
    return membership


def _require_role(membership: Membership, roles: Iterable[str], action: str) -> None:
    if membership.role not in roles:
        raise exceptions.PermissionDenied(f"Your role in this chat does not allow you to {action}.")


def _active_users(user_ids: Iterable[int], *, field: str) -> list[User]:
    wanted = set(user_ids)
    users = list(User.objects.filter(pk__in=wanted, is_active=True))
    missing = wanted - {user.pk for user in users}
    if missing:
        raise exceptions.ValidationError({field: [f"No such user: {sorted(missing)}."]})
    return users


# --- Chats -------------------------------------------------------------------------------------


@transaction.atomic
def chat_create(
    *,
    creator: User,
    chat_type: ChatType,
    title: str = "",
    description: str = "",
    member_ids: Iterable[int] = (),
) -> tuple[Chat, bool]:
    """Create a chat with its creator as owner. Returns (chat, created).

    A direct chat is unique per pair: asking for an existing one returns it with created False.
    """
    other_ids = set(member_ids) - {creator.pk}
    if chat_type == ChatType.DIRECT:
        return _direct_chat_get_or_create(creator=creator, member_ids=set(member_ids))
    if not title:
        raise exceptions.ValidationError({"title": ["A group or channel needs a title."]})
    if len(other_ids) > MEMBER_IDS_MAX:
        raise exceptions.ValidationError({"member_ids": [f"At most {MEMBER_IDS_MAX} members."]})
    others = _active_users(other_ids, field="member_ids")
    chat = Chat.objects.create(
        chat_type=chat_type, title=title, description=description, creator=creator
    )
    memberships = Membership.objects.bulk_create(
        [Membership(chat=chat, user=creator, role=Role.OWNER)]
        + [Membership(chat=chat, user=user, role=Role.MEMBER) for user in others]
    )
    events.chat_created(chat, memberships)
    return chat, True


def _direct_chat_get_or_create(*, creator: User, member_ids: set[int]) -> tuple[Chat, bool]:
    if len(member_ids) != 1 or creator.pk in member_ids:
        raise exceptions.ValidationError(
            {"member_ids": ["A direct chat needs exactly one other user."]}
        )
    (other,) = _active_users(member_ids, field="member_ids")
    low, high = sorted((creator.pk, other.pk))
    key = f"{low}:{high}"
    existing = Chat.objects.filter(direct_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            chat = Chat.objects.create(chat_type=ChatType.DIRECT, direct_key=key, creator=creator)
            memberships = Membership.objects.bulk_create(
                [
                    Membership(chat=chat, user=creator, role=Role.OWNER),
                    Membership(chat=chat, user=other, role=Role.MEMBER),
                ]
            )
    except IntegrityError:  # the other user opened the same chat a moment ago
        return Chat.objects.get(direct_key=key), False
    events.chat_created(chat, memberships)
    return chat, True


@transaction.atomic
def chat_update(
    *, chat: Chat, actor: User, title: str | None = None, description: str | None = None
) -> Chat:
    membership = membership_get(chat=chat, user=actor)
    _require_role(membership, MANAGER_ROLES, "edit it")
    if title is not None:
        if not title and chat.chat_type != ChatType.DIRECT:
            raise exceptions.ValidationError({"title": ["A group or channel needs a title."]})
        chat.title = title
    if description is not None:
        chat.description = description
    chat.save(update_fields=["title", "description", "updated"])
    events.chat_updated(chat)
    return chat


@transaction.atomic
def chat_delete(*, chat: Chat, actor: User) -> None:
    membership = membership_get(chat=chat, user=actor)
    _require_role(membership, (Role.OWNER,), "delete it")
    chat_id = chat.pk
    member_ids = list(Membership.objects.filter(chat=chat).values_list("user_id", flat=True))
    chat.delete()
    events.chat_deleted(chat_id, member_ids)


# --- Members -----------------------------------------------------------------------------------


@transaction.atomic
def member_add(*, chat: Chat, actor: User, user_id: int, role: Role = Role.MEMBER) -> Membership:
    actor_membership = membership_get(chat=chat, user=actor)
    _require_role(actor_membership, MANAGER_ROLES, "add members")
    if chat.chat_type == ChatType.DIRECT:
        raise exceptions.ValidationError(
            {"detail": "A direct chat always has exactly two members."}
        )
    if role == Role.OWNER:
        raise exceptions.ValidationError(
            {"role": ["Transfer ownership by changing a role instead."]}
        )
    if role == Role.ADMIN:
        _require_role(actor_membership, (Role.OWNER,), "appoint admins")
    (user,) = _active_users([user_id], field="user_id")
    if Membership.objects.filter(chat=chat, user=user).exists():
        raise exceptions.ValidationError({"user_id": ["Already a member."]})
    membership = Membership.objects.create(chat=chat, user=user, role=role)
    events.member_added(membership)
    return membership


@transaction.atomic
def member_role_set(*, chat: Chat, actor: User, user_id: int, role: Role) -> Membership:
    """Change a member's role. Giving someone the owner role hands ownership over to them."""
    actor_membership = membership_get(chat=chat, user=actor)
    _require_role(actor_membership, (Role.OWNER,), "change roles")
    target = Membership.objects.select_related("user").filter(chat=chat, user_id=user_id).first()
    if target is None:
        raise exceptions.NotFound("No such member.")
    if target.pk == actor_membership.pk:
        raise exceptions.ValidationError({"role": ["Hand ownership to another member instead."]})
    if role == Role.OWNER:
        actor_membership.role = Role.ADMIN
        actor_membership.save(update_fields=["role"])
        events.member_updated(actor_membership)
    target.role = role
    target.save(update_fields=["role"])
    events.member_updated(target)
    return target


@transaction.atomic
def member_remove(*, chat: Chat, actor: User, user_id: int) -> None:
    """Remove a member, or leave when user_id is the actor's own.

    An owner who leaves hands the chat to the longest-standing admin, or else member; the last
    member to leave deletes the chat.
    """
    actor_membership = membership_get(chat=chat, user=actor)
    target = Membership.objects.filter(chat=chat, user_id=user_id).first()
    if target is None:
        raise exceptions.NotFound("No such member.")
    # The role first, as member_add does: a plain member may not remove anyone from any chat (403).
    if target.pk != actor_membership.pk:
        _require_role(actor_membership, MANAGER_ROLES, "remove members")
        if actor_membership.role == Role.ADMIN and target.role != Role.MEMBER:
            raise exceptions.PermissionDenied("Admins may remove members, not the owner or admins.")
    if chat.chat_type == ChatType.DIRECT:
        raise exceptions.ValidationError(
            {"detail": "A direct chat always has exactly two members."}
        )
    target.delete()
    events.member_removed(chat.pk, user_id)
    if target.role == Role.OWNER:
        _owner_succession(chat)


def _owner_succession(chat: Chat) -> None:
    heir = (
        Membership.objects.filter(chat=chat)
        .select_related("user")
        .order_by(Case(When(role=Role.ADMIN, then=Value(0)), default=Value(1)), "joined", "pk")
        .first()
    )
    if heir is None:
        chat.delete()
        return
    heir.role = Role.OWNER
    heir.save(update_fields=["role"])
    events.member_updated(heir)


# --- Messages ----------------------------------------------------------------------------------


def _seq_next(chat_id: int) -> int:
    """Take the next seq for a chat, holding the chat row's lock until the transaction ends.

    Concurrent posts to one chat queue on this lock, so seqs follow commit order with no gaps.
    """
    with connection.cursor() as cursor:
        cursor.execute(_SEQ_NEXT_SQL, [timezone.now(), chat_id])
        (seq,) = cursor.fetchone()
    return int(seq)


_SEQ_NEXT_SQL = (
    f"UPDATE {Chat._meta.db_table} SET last_seq = last_seq + 1, last_activity = %s "  # noqa: S608
    "WHERE id = %s RETURNING last_seq"
)


def _message_by_client_id(chat: Chat, user: User, client_id: str) -> Message | None:
    return (
        Message.objects.select_related("user")
        .filter(chat=chat, user=user, client_id=client_id)
        .first()
    )


def _may_post(chat: Chat, user: User) -> Membership:
    membership = membership_get(chat=chat, user=user)
    if chat.chat_type == ChatType.CHANNEL:
        _require_role(membership, MANAGER_ROLES, "post in this channel")
    return membership


def message_send(
    *, chat: Chat, user: User, text: str, client_id: str | None = None
) -> tuple[Message, bool]:
    """Post a message. Returns (message, created).

    The same client_id from the same user in the same chat returns the original message, never a
    second one, even when two copies race.
    """
    membership = _may_post(chat, user)
    if client_id is not None:
        existing = _message_by_client_id(chat, user, client_id)
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            seq = _seq_next(chat.pk)
            message = Message.objects.create(
                chat=chat, seq=seq, user=user, text=text, client_id=client_id
            )
            # Posting reads the chat up to one's own message, as in every messenger.
            Membership.objects.filter(pk=membership.pk, last_read_seq__lt=seq).update(
                last_read_seq=seq
            )
            events.message_new(message)
    except IntegrityError:
        existing = _message_by_client_id(chat, user, client_id) if client_id else None
        if existing is None:
            raise
        return existing, False
    chat.last_seq = seq
    return message, True


@transaction.atomic
def message_edit(*, message: Message, actor: User, text: str) -> Message:
    if message.user_id != actor.pk:
        raise exceptions.PermissionDenied("Only the author may edit a message.")
    if message.deleted:
        raise exceptions.ValidationError({"detail": "A deleted message cannot be edited."})
    message.text = text
    message.edited = True
    message.save(update_fields=["text", "edited", "updated"])
    events.message_updated(message)
    return message


@transaction.atomic
def message_delete(*, message: Message, actor: User) -> None:
    """Tombstone a message: it keeps its seq, and clients see empty text and deleted true."""
    if message.user_id != actor.pk and not actor.is_staff:
        membership = membership_get(chat=message.chat, user=actor)
        _require_role(membership, MANAGER_ROLES, "delete other people's messages")
    if message.deleted:
        return
    message.deleted = True
    message.save(update_fields=["deleted", "updated"])
    events.message_updated(message)


@transaction.atomic
def read_mark(*, chat: Chat, user: User, seq: int) -> None:
    """Move the caller's read marker forward to seq. It never moves back."""
    membership = membership_get(chat=chat, user=user)
    if seq > chat.last_seq:
        raise exceptions.ValidationError({"seq": [f"The chat's last seq is {chat.last_seq}."]})
    moved = Membership.objects.filter(pk=membership.pk, last_read_seq__lt=seq).update(
        last_read_seq=seq
    )
    if moved:
        events.read(chat.pk, user.pk, seq)


# --- Presence ----------------------------------------------------------------------------------
# A user is online while they have a Connection row. Connect and disconnect lock the user's row,
# so that a socket opening on one process and the last one closing on another cannot leave the
# status wrong.


def presence_announce(*, user: User) -> None:
    """Tell everyone who shares a chat with the user their current status."""
    events.presence(user.pk, user.status, selectors.chat_ids_for_user(user=user))


def _user_locked(user_id: int) -> User:
    return User.objects.select_for_update().get(pk=user_id)


@transaction.atomic
def presence_connect(*, user: User, channel_name: str) -> User:
    """Record a new socket; the user is online now unless they chose away. Returns the user."""
    locked = _user_locked(user.pk)
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


# --- Scheduled messages ------------------------------------------------------------------------
# The row is the truth. Scheduling queues a delivery task with an eta when send_at is near; the
# beat's dispatcher also delivers every due pending row every few seconds, so nothing depends on
# the broker holding a task (RabbitMQ's consumer_timeout kills channels that hold long-eta tasks,
# so far-off rows are left to the dispatcher alone). Delivery claims the row under a lock.

SCHEDULE_AHEAD_MAX = timedelta(days=365)
# Tasks are queued with an eta only this far ahead; later rows wait for the dispatcher.
SCHEDULE_ETA_HORIZON = timedelta(minutes=10)
DELIVER_TASK = "chats.tasks.scheduled_message_deliver"


def _check_send_at(send_at: datetime) -> None:
    now = timezone.now()
    if send_at <= now:
        raise exceptions.ValidationError({"send_at": ["Must be in the future."]})
    if send_at > now + SCHEDULE_AHEAD_MAX:
        raise exceptions.ValidationError({"send_at": ["Must be at most a year ahead."]})


def _queue_delivery(scheduled: ScheduledMessage) -> None:
    if scheduled.send_at - timezone.now() > SCHEDULE_ETA_HORIZON:
        return
    scheduled_id, send_at = scheduled.pk, scheduled.send_at

    def queue() -> None:
        try:
            celery_app.send_task(DELIVER_TASK, args=[scheduled_id], eta=send_at)
        except Exception:  # the dispatcher delivers it all the same
            logger.exception("could not queue delivery of scheduled message %s", scheduled_id)

    transaction.on_commit(queue)


@transaction.atomic
def message_schedule(*, chat: Chat, user: User, text: str, send_at: datetime) -> ScheduledMessage:
    _may_post(chat, user)
    _check_send_at(send_at)
    scheduled = ScheduledMessage.objects.create(chat=chat, user=user, text=text, send_at=send_at)
    _queue_delivery(scheduled)
    return scheduled


def _require_pending(scheduled: ScheduledMessage) -> None:
    if scheduled.status != ScheduledStatus.PENDING:
        raise exceptions.ValidationError(
            {"detail": f"This scheduled message is {scheduled.status}; only pending ones change."}
        )


@transaction.atomic
def scheduled_update(
    *,
    scheduled: ScheduledMessage,
    text: str | None = None,
    send_at: datetime | None = None,
) -> ScheduledMessage:
    scheduled = ScheduledMessage.objects.select_for_update().get(pk=scheduled.pk)
    _require_pending(scheduled)
    if text is not None:
        scheduled.text = text
    if send_at is not None:
        _check_send_at(send_at)
        scheduled.send_at = send_at
        _queue_delivery(scheduled)  # a task queued for the old time finds the row not yet due
    scheduled.save(update_fields=["text", "send_at", "updated"])
    return scheduled


@transaction.atomic
def scheduled_cancel(*, scheduled: ScheduledMessage) -> ScheduledMessage:
    scheduled = ScheduledMessage.objects.select_for_update().get(pk=scheduled.pk)
    _require_pending(scheduled)
    scheduled.status = ScheduledStatus.CANCELED
    scheduled.save(update_fields=["status", "updated"])
    return scheduled


@transaction.atomic
def scheduled_deliver(*, scheduled_id: int) -> ScheduledMessage | None:
    """Post a due pending row as its author, exactly as POST .../messages/ would, once.

    The row is claimed with SELECT ... FOR UPDATE SKIP LOCKED: a second worker skips it, and
    finds it sent once the first commits. The row's id is the post's client_id as well. Returns
    the row if this call settled it, else None.
    """
    scheduled = (
        ScheduledMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("chat", "user")
        .filter(pk=scheduled_id, status=ScheduledStatus.PENDING, send_at__lte=timezone.now())
        .first()
    )
    if scheduled is None:
        return None
    try:
        if not scheduled.user.is_active:
            raise exceptions.PermissionDenied("The author's account is deactivated.")
        message, _ = message_send(
            chat=scheduled.chat,
            user=scheduled.user,
            text=scheduled.text,
            client_id=f"scheduled-{scheduled.pk}",
        )
    except (exceptions.NotFound, exceptions.PermissionDenied) as exc:
        scheduled.status = ScheduledStatus.FAILED
        scheduled.failure = str(exc.detail)[:200]
        scheduled.save(update_fields=["status", "failure", "updated"])
        return scheduled
    scheduled.status = ScheduledStatus.SENT
    scheduled.message = message
    scheduled.save(update_fields=["status", "message", "updated"])
    return scheduled


def scheduled_retry_at(*, scheduled_id: int, attempted_at: datetime) -> datetime | None:
    """When a delivery task that settled nothing at `attempted_at` should come back: at send_at,
    if the row was not yet due then (an eta timer fires a moment early) and send_at is within the
    eta horizon. Later rows are left to the dispatcher.

    A row that was already due and is still pending was skipped because another transaction holds
    it: that one settles it, or, if its worker dies, the dispatcher does. Retrying would spin for
    as long as the lock is held (a worker killed mid-task holds it until its connection ends)."""
    send_at = (
        ScheduledMessage.objects.filter(pk=scheduled_id, status=ScheduledStatus.PENDING)
        .values_list("send_at", flat=True)
        .first()
    )
    if send_at is None or send_at <= attempted_at:
        return None
    if send_at - timezone.now() > SCHEDULE_ETA_HORIZON:
        return None
    return send_at


def scheduled_due_ids(*, limit: int = 500) -> list[int]:
    due = ScheduledMessage.objects.filter(
        status=ScheduledStatus.PENDING, send_at__lte=timezone.now()
    ).order_by("send_at")
    return list(due.values_list("pk", flat=True)[:limit])


def scheduled_purge(*, older_than: timedelta = timedelta(days=30)) -> int:
    """Forget settled scheduled messages (the posted messages stay)."""
    settled = ScheduledMessage.objects.exclude(status=ScheduledStatus.PENDING).filter(
        updated__lt=timezone.now() - older_than
    )
    deleted, _ = settled.delete()
    return deleted


# --- Moderation --------------------------------------------------------------------------------
# Members report messages; moderators (the "Moderators" group, or superusers) work the queue in
# the admin, whose actions call these functions and accounts.services.user_ban/user_unban. Each
# moderation write checks the moderator's permission, and records an AuditEntry in its
# transaction. docs/moderation.md describes the whole flow.


@transaction.atomic
def report_create(*, message: Message, reporter: User, reason: str) -> tuple[Report, bool]:
    """A member reports a message. Returns (report, created).

    One report per member per message, which the database enforces: reporting again returns the
    first report unchanged, with created False.
    """
    membership_get(chat=message.chat, user=reporter)
    reason = moderation_reason_check(reason, required=True)
    mine = Report.objects.select_related("message").filter(message=message, reporter=reporter)
    existing = mine.first()
    if existing is not None:
        return existing, False
    if message.deleted:
        raise exceptions.ValidationError({"detail": "This message is deleted."})
    if message.user_id == reporter.pk:
        raise exceptions.ValidationError({"detail": "You cannot report your own message."})
    try:
        with transaction.atomic():
            report = Report.objects.create(message=message, reporter=reporter, reason=reason)
    except IntegrityError:  # the same member's other request won the race
        return mine.get(), False
    return report, True


def moderation_permission_check(*, moderator: User, permission: str, doing: str) -> None:
    if not moderator.has_perm(permission):
        raise exceptions.PermissionDenied(f"You may not {doing}.")


def moderation_reason_check(reason: str, *, required: bool) -> str:
    reason = reason.strip()
    if required and not reason:
        raise exceptions.ValidationError({"reason": ["Give a reason."]})
    if len(reason) > REASON_MAX:
        raise exceptions.ValidationError({"reason": [f"At most {REASON_MAX} characters."]})
    return reason


def audit_record(
    *,
    moderator: User,
    action: AuditAction,
    reason: str = "",
    target_user: User | None = None,
    target_message: Message | None = None,
    report: Report | None = None,
) -> AuditEntry:
    """Write one entry of the audit trail. Moderation services call it inside their transaction,
    so an action and its entry commit together or not at all."""
    return AuditEntry.objects.create(
        moderator=moderator,
        action=action,
        reason=reason,
        target_user=target_user,
        target_message=target_message,
        report=report,
    )


def report_open_locked(*, report: Report) -> Report:
    """The report, locked until the transaction ends, if it is still open."""
    locked = (
        Report.objects.select_for_update(of=("self",))
        .select_related("message__user")
        .filter(pk=report.pk)
        .first()
    )
    if locked is None:
        raise exceptions.NotFound("No such report.")
    if locked.status != ReportStatus.OPEN:
        raise exceptions.ValidationError({"detail": f"This report is already {locked.status}."})
    return locked


def report_close(*, report: Report, moderator: User, status: ReportStatus) -> Report:
    report.status = status
    report.resolved_by = moderator
    report.resolved_at = timezone.now()
    report.save(update_fields=["status", "resolved_by", "resolved_at"])
    return report


@transaction.atomic
def report_dismiss(*, report: Report, moderator: User, reason: str = "") -> Report:
    """Close a report with nothing done about the message."""
    moderation_permission_check(
        moderator=moderator, permission="chats.change_report", doing="handle reports"
    )
    reason = moderation_reason_check(reason, required=False)
    report = report_open_locked(report=report)
    report_close(report=report, moderator=moderator, status=ReportStatus.DISMISSED)
    audit_record(
        moderator=moderator,
        action=AuditAction.REPORT_DISMISS,
        reason=reason,
        target_user=report.message.user,
        target_message=report.message,
        report=report,
    )
    return report


def _message_locked(message_id: int) -> Message:
    return Message.objects.select_for_update(of=("self",)).select_related("user").get(pk=message_id)


@transaction.atomic
def message_remove(
    *, message: Message, moderator: User, reason: str, report: Report | None = None
) -> Message:
    """A moderator tombstones a message, as message_delete does, and records who and why.

    Members see it as deleted (`message.updated` with empty text); the text stays in the row, so
    message_restore can bring it back. Every open report about the message closes as removed.
    `report` is the one the moderator acted on, if any; it must be open and about this message.
    """
    moderation_permission_check(
        moderator=moderator, permission="chats.remove_message", doing="remove messages"
    )
    reason = moderation_reason_check(reason, required=True)
    if report is not None:
        moderation_permission_check(
            moderator=moderator, permission="chats.change_report", doing="handle reports"
        )
        report = report_open_locked(report=report)
        if report.message_id != message.pk:
            raise exceptions.ValidationError({"detail": "The report is about another message."})
    message = _message_locked(message.pk)
    if message.deleted:
        raise exceptions.ValidationError({"detail": "This message is already deleted."})
    message.deleted = True
    message.removed_by = moderator
    message.removed_at = timezone.now()
    message.removal_reason = reason
    message.save(update_fields=["deleted", "removed_by", "removed_at", "removal_reason", "updated"])
    events.message_updated(message)
    Report.objects.filter(message=message, status=ReportStatus.OPEN).update(
        status=ReportStatus.REMOVED, resolved_by=moderator, resolved_at=message.removed_at
    )
    audit_record(
        moderator=moderator,
        action=AuditAction.MESSAGE_REMOVE,
        reason=reason,
        target_user=message.user,
        target_message=message,
        report=report,
    )
    return message


@transaction.atomic
def message_restore(*, message: Message, moderator: User, reason: str = "") -> Message:
    """Undo message_remove: members get `message.updated` with the text back.

    Only a moderator's removal is undone; a message its author deleted stays deleted.
    """
    moderation_permission_check(
        moderator=moderator, permission="chats.remove_message", doing="restore messages"
    )
    reason = moderation_reason_check(reason, required=False)
    message = _message_locked(message.pk)
    if not message.deleted or message.removed_at is None:
        raise exceptions.ValidationError(
            {"detail": "Only a message removed by a moderator can be restored."}
        )
    message.deleted = False
    message.removed_by = None
    message.removed_at = None
    message.removal_reason = ""
    message.save(update_fields=["deleted", "removed_by", "removed_at", "removal_reason", "updated"])
    events.message_updated(message)
    audit_record(
        moderator=moderator,
        action=AuditAction.MESSAGE_RESTORE,
        reason=reason,
        target_user=message.user,
        target_message=message,
    )
    return message
