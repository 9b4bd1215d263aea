"""The admin of chats: chats, members, scheduled messages and open sockets, for looking up.

Every write goes through a service, so that members hear of it and its rules hold: these lists
have no add, change or delete forms (a removed membership would leave its sockets subscribed, an
edited role would tell nobody). What moderators change, they change with the actions of
chats/moderation/admin.py, registered here too.
"""

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from chats import selectors
from chats.models import Chat, Connection, Membership, ScheduledMessage
from chats.moderation import admin as moderation_admin  # noqa: F401  (registers its lists)
from chats.moderation.admin_actions import ReasonActionForm, moderate_each
from chats.moderation.services import member_remove_by_moderator
from chats.services.scheduling import scheduled_cancel


class ViewOnly:
    """No add, change or delete form: the rows change through the services alone."""

    def has_add_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False


class MembershipInline(ViewOnly, admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "joined", "last_read_seq")
    readonly_fields = fields


@admin.register(Chat)
class ChatAdmin(ViewOnly, admin.ModelAdmin):
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
    inlines = (MembershipInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Chat]:
        return super().get_queryset(request).annotate(message_count=selectors.chat_message_count())

    @admin.display(description="messages", ordering="message_count")
    def message_count(self, chat: Chat) -> str:
        url = reverse("admin:chats_message_changelist")
        count = chat.message_count  # type: ignore[attr-defined]
        return format_html('<a href="{}?chat={}">{}</a>', url, chat.pk, count)


@admin.register(Membership)
class MembershipAdmin(ViewOnly, admin.ModelAdmin):
    list_display = ("id", "chat", "user", "role", "joined", "last_read_seq")
    list_filter = ("role",)
    list_select_related = ("chat", "user")
    search_fields = ("user__login", "chat__title")
    action_form = ReasonActionForm
    actions = ("remove_members",)

    def has_remove_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("chats.delete_membership")

    @admin.action(
        description="Remove the selected members from their chats (type a reason)",
        permissions=["remove"],
    )
    def remove_members(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        moderate_each(
            self,
            request,
            queryset,
            lambda membership, moderator, reason: member_remove_by_moderator(
                membership=membership, moderator=moderator, reason=reason
            ),
            "Removed {count} member(s).",
            reason_required=True,
        )


@admin.register(ScheduledMessage)
class ScheduledMessageAdmin(ViewOnly, admin.ModelAdmin):
    list_display = ("id", "chat", "user", "send_at", "status", "message")
    list_filter = ("status",)
    list_select_related = ("chat", "user", "message")
    actions = ("cancel_scheduled",)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("chats.change_scheduledmessage")

    @admin.action(description="Cancel the selected pending messages", permissions=["cancel"])
    def cancel_scheduled(self, request: HttpRequest, queryset: QuerySet[ScheduledMessage]) -> None:
        moderate_each(
            self,
            request,
            queryset,
            lambda scheduled, moderator, reason: scheduled_cancel(scheduled=scheduled),
            "Canceled {count} scheduled message(s).",
        )


@admin.register(Connection)
class ConnectionAdmin(ViewOnly, admin.ModelAdmin):
    list_display = ("id", "user", "channel_name", "opened", "heartbeat")
    list_select_related = ("user",)
