"""Moderation: members report messages; moderators (the "Moderators" group, or superusers) work
the queue in the admin (chats/moderation/admin.py), whose actions call these functions.

Each moderation write checks the moderator's permission and records an AuditEntry in its own
transaction, so an action and its entry commit together or not at all. docs/moderation.md
describes the whole flow.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions

from accounts.models import User
from accounts.services import user_deactivate
from chats.models import (
    REASON_MAX,
    AuditAction,
    AuditEntry,
    Membership,
    Message,
    Report,
    ReportStatus,
)
from chats.services.access import membership_get
from chats.services.dependents import message_hidden, message_shown, messages_publish
from chats.services.members import membership_end
from chats.services.versions import chat_version_next


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
            report = Report.objects.create(
                message=message, reporter=reporter, reason=reason, message_text=message.text
            )
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
    report.message_text = ""  # the evidence goes with the report
    report.save(update_fields=["status", "resolved_by", "resolved_at", "message_text"])
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


_REMOVAL_FIELDS = ("version", "deleted", "removed_by", "removed_at", "removal_reason")


def _message_locked(message_id: int) -> Message:
    return (
        Message.objects.select_for_update(of=("self",))
        .select_related("user", "reply_to__user")
        .get(pk=message_id)
    )


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
    version = chat_version_next(message.chat_id)  # the chat's lock first, as every chat write
    message = _message_locked(message.pk)
    if message.deleted:
        raise exceptions.ValidationError({"detail": "This message is already deleted."})
    message.version = version
    message.deleted = True
    message.removed_by = moderator
    message.removed_at = timezone.now()
    message.removal_reason = reason
    message.save(update_fields=[*_REMOVAL_FIELDS, "updated"])
    others = message_hidden(message, version, erase=False)
    messages_publish(message.chat_id, version, updated=[message, *others])
    Report.objects.filter(message=message, status=ReportStatus.OPEN).update(
        status=ReportStatus.REMOVED,
        resolved_by=moderator,
        resolved_at=message.removed_at,
        message_text="",
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
    version = chat_version_next(message.chat_id)
    message = _message_locked(message.pk)
    if not message.deleted or message.removed_at is None:
        raise exceptions.ValidationError(
            {"detail": "Only a message removed by a moderator can be restored."}
        )
    message.version = version
    message.deleted = False
    message.removed_by = None
    message.removed_at = None
    message.removal_reason = ""
    message.save(update_fields=[*_REMOVAL_FIELDS, "updated"])
    others = message_shown(message, version)
    messages_publish(message.chat_id, version, updated=[message, *others])
    audit_record(
        moderator=moderator,
        action=AuditAction.MESSAGE_RESTORE,
        reason=reason,
        target_user=message.user,
        target_message=message,
    )
    return message


def _ban_target_locked(*, user: User, moderator: User, doing: str) -> User:
    if user.pk == moderator.pk:
        raise exceptions.ValidationError({"detail": f"You cannot {doing} yourself."})
    locked = User.objects.select_for_update().get(pk=user.pk)
    if (locked.is_staff or locked.is_superuser) and not moderator.is_superuser:
        raise exceptions.PermissionDenied(f"Only a superuser may {doing} staff.")
    return locked


@transaction.atomic
def user_ban(*, user: User, moderator: User, reason: str, report: Report | None = None) -> User:
    """Deactivate an account for a reason: user_deactivate blacklists its refresh tokens and
    closes its sockets on every process (4403), and the audit trail records who and why.

    `report` is the report the moderator acted on, if any: it must be open and about a message
    of this user, and it closes as banned.
    """
    moderation_permission_check(
        moderator=moderator, permission="accounts.ban_user", doing="ban users"
    )
    reason = moderation_reason_check(reason, required=True)
    if report is not None:
        moderation_permission_check(
            moderator=moderator, permission="chats.change_report", doing="handle reports"
        )
        report = report_open_locked(report=report)
        if report.message.user_id != user.pk:
            raise exceptions.ValidationError({"detail": "The report is about another user."})
    user = _ban_target_locked(user=user, moderator=moderator, doing="ban")
    if not user.is_active:
        raise exceptions.ValidationError({"detail": f"{user.login} is already deactivated."})
    user_deactivate(user=user)
    if report is not None:
        report_close(report=report, moderator=moderator, status=ReportStatus.BANNED)
    audit_record(
        moderator=moderator,
        action=AuditAction.USER_BAN,
        reason=reason,
        target_user=user,
        report=report,
    )
    return user


@transaction.atomic
def user_unban(*, user: User, moderator: User, reason: str = "") -> User:
    """Reactivate a banned account. Its old tokens stay revoked: the user signs in again."""
    moderation_permission_check(
        moderator=moderator, permission="accounts.ban_user", doing="unban users"
    )
    reason = moderation_reason_check(reason, required=False)
    user = _ban_target_locked(user=user, moderator=moderator, doing="unban")
    if user.is_active:
        raise exceptions.ValidationError({"detail": f"{user.login} is not deactivated."})
    user.is_active = True
    user.save(update_fields=["is_active", "updated"])
    audit_record(
        moderator=moderator, action=AuditAction.USER_UNBAN, reason=reason, target_user=user
    )
    return user


@transaction.atomic
def member_remove_by_moderator(*, membership: Membership, moderator: User, reason: str) -> None:
    """A moderator takes someone out of a chat they need not be in, from the admin: as a manager's
    removal does, so the member's sockets stop following the chat at once, with an audit entry."""
    moderation_permission_check(
        moderator=moderator, permission="chats.delete_membership", doing="remove members"
    )
    reason = moderation_reason_check(reason, required=True)
    locked = Membership.objects.select_related("chat", "user").filter(pk=membership.pk).first()
    if locked is None:
        raise exceptions.NotFound("No such member.")
    membership_end(chat=locked.chat, target=locked)
    audit_record(
        moderator=moderator,
        action=AuditAction.MEMBER_REMOVE,
        reason=f"{reason} (chat {locked.chat_id})",
        target_user=locked.user,
    )
