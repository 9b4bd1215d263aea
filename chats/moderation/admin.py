"""Where moderators work (docs/moderation.md): messages, the report queue, the audit trail, and
bans on the users' list.

Every moderation write is an action that calls a service (chats/moderation/services.py), so the
admin follows the same rules as the API and emits the same events. Messages, reports and the
audit trail have no change form: a form would write past the services.
"""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Case, QuerySet, Value, When
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from rest_framework.exceptions import ValidationError

from accounts.admin import UserAdmin
from accounts.models import User
from chats import selectors
from chats.api.attachments import attachment_file_response
from chats.models import Attachment, AuditEntry, Chat, Message, Report, ReportStatus
from chats.moderation.admin_actions import (
    ReasonActionForm,
    moderate_each,
)
from chats.moderation.admin_lists import (
    AuthorIdFilter,
    ChatIdFilter,
    EstimatedCountPaginator,
    ModeratorFilter,
    RemovedFilter,
    TargetUserIdFilter,
    filter_link,
)
from chats.moderation.services import (
    message_remove,
    message_restore,
    report_dismiss,
    user_ban,
    user_unban,
)


class AttachmentInline(admin.TabularInline):
    """A message's files, to look at: each opens through the admin (moderators need not be
    members), images inline and anything else as a download, as members get them."""

    model = Attachment
    fk_name = "message"
    extra = 0
    can_delete = False
    fields = ("file", "content_type", "size", "width", "height", "created")
    readonly_fields = fields

    # Whoever may view a message sees its files: no permission of their own to hand out.
    def has_view_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return request.user.has_perm("chats.view_message")

    def has_add_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    @admin.display(description="file")
    def file(self, attachment: Attachment) -> str:
        url = reverse("admin:chats_message_attachment", args=[attachment.message_id, attachment.pk])
        if attachment.thumbnail_key:
            thumbnail = f"{url}?thumbnail=1"
            return format_html(
                '<a href="{}"><img src="{}" alt="{}" style="max-height:120px"></a>',
                url,
                thumbnail,
                attachment.name,
            )
        return format_html('<a href="{}">{}</a>', url, attachment.name)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "chat_link",
        "seq",
        "author_link",
        "excerpt",
        "created",
        "edited",
        "deleted",
        "removed_by",
    )
    list_filter = (
        ChatIdFilter,
        AuthorIdFilter,
        ("created", admin.DateFieldListFilter),
        "deleted",
        RemovedFilter,
        "edited",
    )
    search_fields = ("text",)
    list_select_related = ("chat", "user", "removed_by")
    ordering = ("-id",)
    # Sorting a million rows by a column with no index would be the slow query; id has one.
    sortable_by = ("id",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts are COUNTs over the table
    action_form = ReasonActionForm
    actions = ("remove_messages", "restore_messages")
    inlines = (AttachmentInline,)
    fields = (
        "chat",
        "seq",
        "user",
        "text",
        "client_id",
        "created",
        "updated",
        "edited",
        "deleted",
        "removed_by",
        "removed_at",
        "removal_reason",
    )

    # Read-only: text and flags change through the API's services or the actions here, which
    # tell the chat's members; a deleted row would leave a gap in the chat's seqs.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    def has_remove_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("chats.remove_message")

    def get_urls(self) -> list[URLPattern]:
        attachment = path(
            "<int:message_id>/attachments/<int:attachment_id>/",
            self.admin_site.admin_view(self.attachment_view),
            name="chats_message_attachment",
        )
        return [attachment, *super().get_urls()]

    def attachment_view(
        self, request: HttpRequest, message_id: int, attachment_id: int
    ) -> HttpResponseBase:
        """A file of a message, for whoever may view messages here; a removed message's too."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        attachment = get_object_or_404(Attachment, pk=attachment_id, message_id=message_id)
        thumbnail = bool(request.GET.get("thumbnail")) and bool(attachment.thumbnail_key)
        return attachment_file_response(attachment, thumbnail=thumbnail)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Message], search_term: str
    ) -> tuple[QuerySet[Message], bool]:
        """Words match as prefixes of words, as in the API's search, over the GIN index on
        PostgreSQL: a substring search would read every row of a million."""
        if not search_term.strip():
            return queryset, False
        return selectors.message_text_search(messages=queryset, q=search_term), False

    @admin.display(description="chat")
    def chat_link(self, message: Message) -> str:
        return filter_link("chat", message.chat_id, message.chat, "Only this chat")

    @admin.display(description="author")
    def author_link(self, message: Message) -> str:
        return filter_link("author", message.user_id, message.user, "Only this author")

    @admin.display(description="text")
    def excerpt(self, message: Message) -> str:
        text = Truncator(message.text).chars(80)
        if message.removed_at is not None:
            return f"[removed] {text}"
        return f"[deleted] {text}" if message.deleted else text

    @admin.action(
        description="Remove the selected messages (type a reason)", permissions=["remove"]
    )
    def remove_messages(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        moderate_each(
            self,
            request,
            queryset,
            lambda message, moderator, reason: message_remove(
                message=message, moderator=moderator, reason=reason
            ),
            "Removed {count} message(s).",
            reason_required=True,
        )

    @admin.action(description="Restore the selected removed messages", permissions=["remove"])
    def restore_messages(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        moderate_each(
            self,
            request,
            queryset,
            lambda message, moderator, reason: message_restore(
                message=message, moderator=moderator, reason=reason
            ),
            "Restored {count} message(s).",
        )


# --- Reports -------------------------------------------------------------------------------------


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The moderators' queue: open reports first, newest first within each status."""

    list_display = (
        "id",
        "status",
        "created",
        "reporter",
        "reason",
        "message_excerpt",
        "quoted",
        "author",
        "chat",
        "resolved_by",
    )
    list_filter = ("status", ("created", admin.DateFieldListFilter))
    search_fields = ("reason",)
    list_select_related = (
        "reporter",
        "message__user",
        "message__chat",
        "message__reply_to__user",
        "resolved_by",
    )
    action_form = ReasonActionForm
    actions = ("dismiss_reports", "remove_reported_messages", "ban_reported_authors")
    fields = (
        "status",
        "created",
        "reporter",
        "reason",
        "message",
        "message_excerpt",
        "quoted",
        "author",
        "chat",
        "resolved_by",
        "resolved_at",
    )
    readonly_fields = fields

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        open_first = Case(When(status=ReportStatus.OPEN, then=Value(0)), default=Value(1))
        return [open_first.asc(), "-created", "-id"]

    # Reports come from members through the API and close through the actions below.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        return False

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("chats.change_report")

    def has_remove_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(["chats.change_report", "chats.remove_message"])

    def has_ban_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(["chats.change_report", "accounts.ban_user"])

    @admin.display(description="message")
    def message_excerpt(self, report: Report) -> str:
        url = reverse("admin:chats_message_change", args=[report.message_id])
        # The copy taken when it was reported: the author may have deleted the message since.
        text = Truncator(report.message_text or report.message.text).chars(80)
        return format_html('<a href="{}">{}</a>', url, text)

    @admin.display(description="in reply to")
    def quoted(self, report: Report) -> str:
        """The context of a reply: whom it answered and what it quoted, as its members saw it."""
        message = report.message
        if message.reply_to_id is None:
            return "-"
        author = message.reply_to_author_name or "(deleted account)"
        return f"#{message.reply_to_seq} {author}: {Truncator(message.reply_to_text).chars(80)}"

    @admin.display(description="author")
    def author(self, report: Report) -> User | None:
        return report.message.user

    @admin.display(description="chat")
    def chat(self, report: Report) -> Chat:
        return report.message.chat

    @admin.action(description="Dismiss the selected reports", permissions=["resolve"])
    def dismiss_reports(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        moderate_each(
            self,
            request,
            queryset,
            lambda report, moderator, reason: report_dismiss(
                report=report, moderator=moderator, reason=reason
            ),
            "Dismissed {count} report(s).",
        )

    @admin.action(
        description="Remove the reported messages (the report's reason, unless you type one)",
        permissions=["remove"],
    )
    def remove_reported_messages(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        moderate_each(
            self,
            request,
            queryset,
            lambda report, moderator, reason: message_remove(
                message=report.message,
                moderator=moderator,
                reason=reason or report.reason,
                report=report,
            ),
            "Removed the messages of {count} report(s).",
        )

    @admin.action(
        description="Ban the reported messages' authors (the report's reason, unless you type one)",
        permissions=["ban"],
    )
    def ban_reported_authors(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:

        def ban(report: Report, moderator: User, reason: str) -> None:
            if report.message.user is None:
                raise ValidationError({"detail": "The author's account no longer exists."})
            user_ban(
                user=report.message.user,
                moderator=moderator,
                reason=reason or report.reason,
                report=report,
            )

        moderate_each(self, request, queryset, ban, "Banned the authors of {count} report(s).")


# --- The audit trail -----------------------------------------------------------------------------


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: a list with filters, no forms."""

    list_display = ("created", "moderator", "action", "target", "reason")
    list_display_links = None
    list_filter = (
        "action",
        ("created", admin.DateFieldListFilter),
        ModeratorFilter,
        TargetUserIdFilter,
    )
    search_fields = ("reason",)
    list_select_related = ("moderator", "target_user", "target_message", "report")
    ordering = ("-created", "-id")
    show_facets = admin.ShowFacets.NEVER

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        # The list only: every field is on it.
        return obj is None and super().has_view_permission(request)

    @admin.display(description="target")
    def target(self, entry: AuditEntry) -> str:
        parts = []
        if entry.target_user_id is not None:
            parts.append(
                filter_link("target_user", entry.target_user_id, entry.target_user, "Only them")
            )
        if entry.target_message is not None:
            url = reverse("admin:chats_message_change", args=[entry.target_message_id])
            parts.append(format_html('<a href="{}">message {}</a>', url, entry.target_message))
        if entry.report is not None:
            url = reverse("admin:chats_report_change", args=[entry.report_id])
            parts.append(format_html('<a href="{}">report #{}</a>', url, entry.report_id))
        return format_html_join(" · ", "{}", ((part,) for part in parts)) if parts else "-"


# --- Users -------------------------------------------------------------------------------------


admin.site.unregister(User)


@admin.register(User)
class ModeratedUserAdmin(UserAdmin):
    """The users' list, with bans for moderators (accounts.ban_user)."""

    action_form = ReasonActionForm
    actions = ("ban_users", "unban_users")

    def has_ban_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.ban_user")

    @admin.action(description="Ban the selected users (type a reason)", permissions=["ban"])
    def ban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Deactivate them: their refresh tokens stop working and their sockets close."""
        moderate_each(
            self,
            request,
            queryset,
            lambda user, moderator, reason: user_ban(user=user, moderator=moderator, reason=reason),
            "Banned {count} user(s).",
            reason_required=True,
        )

    @admin.action(description="Unban the selected users", permissions=["ban"])
    def unban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        moderate_each(
            self,
            request,
            queryset,
            lambda user, moderator, reason: user_unban(
                user=user, moderator=moderator, reason=reason
            ),
            "Unbanned {count} user(s).",
        )
