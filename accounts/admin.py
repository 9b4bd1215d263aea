from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import User
from chats.admin import (
    ReasonActionForm,
    action_reason,
    moderator_of,
    reason_required,
    run_for_each,
)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Moderators see users and ban or unban them (accounts.ban_user); only superusers edit them:
    the change form sets is_staff, is_superuser and groups."""

    ordering = ("login",)
    list_display = ("login", "name", "status", "is_active", "is_staff", "last_seen", "created")
    list_filter = ("status", "is_active", "is_staff")
    search_fields = ("login", "name")
    readonly_fields = ("last_seen", "created", "updated")
    fieldsets = (
        (None, {"fields": ("login", "password")}),
        ("Profile", {"fields": ("name", "status", "last_seen")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("created", "updated")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("login", "name", "password1", "password2")}),
    )
    action_form = ReasonActionForm
    actions = ("ban_users", "unban_users")

    def has_ban_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.ban_user")

    @admin.action(description="Ban the selected users (type a reason)", permissions=["ban"])
    def ban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Deactivate them: their refresh tokens stop working and their sockets close."""
        reason = reason_required(self, request)
        if reason is None:
            return
        moderator = moderator_of(request)
        run_for_each(
            self,
            request,
            queryset,
            lambda user: services.user_ban(user=user, moderator=moderator, reason=reason),
            "Banned {count} user(s).",
        )

    @admin.action(description="Unban the selected users", permissions=["ban"])
    def unban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        moderator, reason = moderator_of(request), action_reason(request)
        run_for_each(
            self,
            request,
            queryset,
            lambda user: services.user_unban(user=user, moderator=moderator, reason=reason),
            "Unbanned {count} user(s).",
        )
