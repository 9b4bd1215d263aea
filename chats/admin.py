"""The admin: where moderators work (docs/moderation.md).

Every moderation write is an action that calls a service (chats.services, accounts.services), so
the admin follows the same rules as the API and emits the same events. Messages, reports and the
audit trail have no change form: a form would write past the services.
"""

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import Case, Max, Min, QuerySet, Value, When
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from rest_framework.exceptions import APIException, ValidationError

from accounts import services as accounts_services
from accounts.models import User
from chats import selectors, services
from chats.models import (
    REASON_MAX,
    AuditEntry,
    Chat,
    Connection,
    Membership,
    Message,
    Report,
    ReportStatus,
    ScheduledMessage,
)

Obj = TypeVar("Obj", bound=models.Model)

BIGINT_MAX = 2**63 - 1

# --- Moderation actions --------------------------------------------------------------------------

# An action handles at most this many rows: "select all" on a million messages is a mistake.
ACTION_LIMIT = 500


class ReasonActionForm(helpers.ActionForm):
    """The action bar with a "Reason" box next to the action: the moderator types why."""

    reason = forms.CharField(
        required=False,
        max_length=REASON_MAX,
        label="Reason",
        widget=forms.TextInput(attrs={"size": 40, "placeholder": "why (kept in the audit trail)"}),
    )


def action_reason(request: HttpRequest) -> str:
    return request.POST.get("reason", "").strip()


def moderator_of(request: HttpRequest) -> User:
    # The admin admits only authenticated staff.
    return cast(User, request.user)


def _detail_text(exc: APIException) -> str:
    detail: Any = exc.detail
    if isinstance(detail, dict):
        detail = [
            item
            for value in detail.values()
            for item in (value if isinstance(value, list) else [value])
        ]
    if isinstance(detail, list):
        return " ".join(str(item) for item in detail)
    return str(detail)


def run_for_each(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Obj],
    apply: Callable[[Obj], object],
    done: str,
) -> None:
    """Call a service for each selected row; report what was done and each refusal."""
    rows = list(queryset[: ACTION_LIMIT + 1])
    if len(rows) > ACTION_LIMIT:
        model_admin.message_user(
            request,
            f"Select at most {ACTION_LIMIT} rows at a time. Nothing changed.",
            messages.ERROR,
        )
        return
    succeeded = 0
    for row in rows:
        try:
            apply(row)
        except APIException as exc:
            model_admin.message_user(request, f"{row}: {_detail_text(exc)}", messages.ERROR)
        else:
            succeeded += 1
    if succeeded:
        model_admin.message_user(request, done.format(count=succeeded), messages.SUCCESS)


def reason_required(model_admin: admin.ModelAdmin, request: HttpRequest) -> str | None:
    reason = action_reason(request)
    if not reason:
        model_admin.message_user(
            request, "Type the reason in the Reason box first. Nothing changed.", messages.ERROR
        )
        return None
    return reason


# --- Lists of a million rows ---------------------------------------------------------------------


class EstimatedCountPaginator(Paginator):
    """A paginator that never counts a whole big table.

    Django's changelist asks its paginator for the count on every page view, and on a million
    messages that `SELECT COUNT(*)` is the slowest query of the page. Unfiltered, this one takes
    PostgreSQL's own estimate (pg_class.reltuples, which autovacuum keeps fresh) or, where there
    is none (SQLite, a table never analysed), the span of ids: both cost one index or catalogue
    read. Filtered, it counts exactly but stops at EXACT_UP_TO rows (a COUNT over a LIMITed
    subquery); past that, it takes the planner's estimate. So the count and the last page
    number can be approximate on big lists, and a page past the real end is empty.
    """

    EXACT_UP_TO = 10_000

    @cached_property
    def count(self) -> int:
        queryset = cast(QuerySet[Any], self.object_list)
        if not queryset.query.where:
            return _table_estimate(queryset)
        counted = queryset.order_by()[: self.EXACT_UP_TO + 1].count()
        if counted <= self.EXACT_UP_TO:
            return counted
        return max(counted, _planner_estimate(queryset))


def _table_estimate(queryset: QuerySet[Any]) -> int:
    estimate = _reltuples(queryset)
    if estimate is not None and estimate > 0:
        return estimate
    span = queryset.model._default_manager.using(queryset.db).aggregate(
        low=Min("pk"), high=Max("pk")
    )
    return 0 if span["high"] is None else int(span["high"]) - int(span["low"]) + 1


def _reltuples(queryset: QuerySet[Any]) -> int | None:
    """PostgreSQL's estimate of the table's rows: -1 (or 0) until the table is first analysed."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _planner_estimate(queryset: QuerySet[Any]) -> int:
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return 0
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class RawIdFilter(admin.SimpleListFilter):
    """Filters by one related row named by its id in the query string (`?chat=5`), the way
    raw_id_fields pick one. It never lists every chat or author, which on big tables would load
    them all into the sidebar: it shows the chosen one, and the list's cells link to it."""

    related_model: type[models.Model]
    lookup: str

    def has_output(self) -> bool:
        return True

    def _pk(self) -> int | None:
        value = self.value()
        if value is None or not value.isdigit() or not 0 < int(value) <= BIGINT_MAX:
            return None
        return int(value)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        pk = self._pk()
        if pk is None:
            return []
        chosen = self.related_model._default_manager.filter(pk=pk).first()
        return [(str(pk), f"{chosen} (#{pk})" if chosen else f"#{pk}, gone")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() is None:
            return queryset
        pk = self._pk()
        if pk is None:
            raise IncorrectLookupParameters(f"{self.parameter_name} must be an id.")
        return queryset.filter(**{self.lookup: pk})


class ChatIdFilter(RawIdFilter):
    title = "chat (click one in the list)"
    parameter_name = "chat"
    related_model = Chat
    lookup = "chat_id"


class AuthorIdFilter(RawIdFilter):
    title = "author (click one in the list)"
    parameter_name = "author"
    related_model = User
    lookup = "user_id"


class RemovedFilter(admin.SimpleListFilter):
    title = "removed by a moderator"
    parameter_name = "removed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(removed_at__isnull=self.value() == "no")
        return queryset


def _filter_link(parameter: str, pk: int | None, label: object, title: str) -> str:
    if pk is None:
        return "-"
    return format_html('<a href="?{}={}" title="{}">{}</a>', parameter, pk, title, label)


# --- Chats and members ---------------------------------------------------------------------------


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    readonly_fields = ("joined", "last_read_seq")


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "title",
        "chat_type",
        "creator",
        "message_count",
        "last_seq",
        "last_activity",
    )
    list_filter = ("chat_type",)
    list_select_related = ("creator",)
    search_fields = ("title",)
    raw_id_fields = ("creator",)
    readonly_fields = ("last_seq", "last_activity", "created", "updated")
    inlines = (MembershipInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Chat]:
        return super().get_queryset(request).annotate(message_count=selectors.chat_message_count())

    @admin.display(description="messages", ordering="message_count")
    def message_count(self, chat: Chat) -> str:
        url = reverse("admin:chats_message_changelist")
        count = chat.message_count  # type: ignore[attr-defined]
        return format_html('<a href="{}?chat={}">{}</a>', url, chat.pk, count)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("id", "chat", "user", "role", "joined", "last_read_seq")
    list_filter = ("role",)
    raw_id_fields = ("chat", "user")
    list_select_related = ("chat", "user")


# --- Messages ------------------------------------------------------------------------------------


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
        return _filter_link("chat", message.chat_id, message.chat, "Only this chat")

    @admin.display(description="author")
    def author_link(self, message: Message) -> str:
        return _filter_link("author", message.user_id, message.user, "Only this author")

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
        reason = reason_required(self, request)
        if reason is None:
            return
        moderator = moderator_of(request)
        run_for_each(
            self,
            request,
            queryset,
            lambda message: services.message_remove(
                message=message, moderator=moderator, reason=reason
            ),
            "Removed {count} message(s).",
        )

    @admin.action(description="Restore the selected removed messages", permissions=["remove"])
    def restore_messages(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        moderator, reason = moderator_of(request), action_reason(request)
        run_for_each(
            self,
            request,
            queryset,
            lambda message: services.message_restore(
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
        "author",
        "chat",
        "resolved_by",
    )
    list_filter = ("status", ("created", admin.DateFieldListFilter))
    search_fields = ("reason",)
    list_select_related = ("reporter", "message__user", "message__chat", "resolved_by")
    action_form = ReasonActionForm
    actions = ("dismiss_reports", "remove_reported_messages", "ban_reported_authors")
    fields = (
        "status",
        "created",
        "reporter",
        "reason",
        "message",
        "message_excerpt",
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
        text = Truncator(report.message.text).chars(80)
        return format_html('<a href="{}">{}</a>', url, text)

    @admin.display(description="author")
    def author(self, report: Report) -> User | None:
        return report.message.user

    @admin.display(description="chat")
    def chat(self, report: Report) -> Chat:
        return report.message.chat

    @admin.action(description="Dismiss the selected reports", permissions=["resolve"])
    def dismiss_reports(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        moderator, reason = moderator_of(request), action_reason(request)
        run_for_each(
            self,
            request,
            queryset,
            lambda report: services.report_dismiss(
                report=report, moderator=moderator, reason=reason
            ),
            "Dismissed {count} report(s).",
        )

    @admin.action(
        description="Remove the reported messages (the report's reason, unless you type one)",
        permissions=["remove"],
    )
    def remove_reported_messages(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        moderator, reason = moderator_of(request), action_reason(request)
        run_for_each(
            self,
            request,
            queryset,
            lambda report: services.message_remove(
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
        moderator, reason = moderator_of(request), action_reason(request)

        def ban(report: Report) -> None:
            if report.message.user is None:
                raise ValidationError({"detail": "The author's account no longer exists."})
            accounts_services.user_ban(
                user=report.message.user,
                moderator=moderator,
                reason=reason or report.reason,
                report=report,
            )

        run_for_each(self, request, queryset, ban, "Banned the authors of {count} report(s).")


# --- The audit trail -----------------------------------------------------------------------------


class ModeratorFilter(admin.SimpleListFilter):
    """Lists staff only, never every user."""

    title = "moderator"
    parameter_name = "moderator"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, str]]:
        staff = User.objects.filter(is_staff=True).order_by("login")
        return [(str(user.pk), user.login) for user in staff]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit() or int(value) > BIGINT_MAX:
            raise IncorrectLookupParameters("moderator must be an id.")
        return queryset.filter(moderator_id=int(value))


class TargetUserIdFilter(RawIdFilter):
    title = "target user (click one in the list)"
    parameter_name = "target_user"
    related_model = User
    lookup = "target_user_id"


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
                _filter_link("target_user", entry.target_user_id, entry.target_user, "Only them")
            )
        if entry.target_message is not None:
            url = reverse("admin:chats_message_change", args=[entry.target_message_id])
            parts.append(format_html('<a href="{}">message {}</a>', url, entry.target_message))
        if entry.report is not None:
            url = reverse("admin:chats_report_change", args=[entry.report_id])
            parts.append(format_html('<a href="{}">report #{}</a>', url, entry.report_id))
        return format_html_join(" · ", "{}", ((part,) for part in parts)) if parts else "-"


# --- The rest ------------------------------------------------------------------------------------


@admin.register(ScheduledMessage)
class ScheduledMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "chat", "user", "send_at", "status", "message")
    list_filter = ("status",)
    raw_id_fields = ("chat", "user", "message")
    list_select_related = ("chat", "user", "message")
    readonly_fields = ("status", "message", "failure", "created", "updated")


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "channel_name", "opened", "heartbeat")
    raw_id_fields = ("user",)
    list_select_related = ("user",)
