from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from accounts.models import InviteCode, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Only superusers edit users: the change form sets is_staff, is_superuser and groups.
    Moderators ban and unban them from the list (chats/moderation/admin.py)."""

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


@admin.register(InviteCode)
class InviteCodeAdmin(admin.ModelAdmin):
    """Invite codes for REGISTRATION=invite: staff with the add permission make them; each lets
    `max_uses` people register until it expires."""

    list_display = ("code", "note", "uses", "max_uses", "expires", "created_by", "created")
    list_select_related = ("created_by",)
    search_fields = ("code", "note")
    fields = ("code", "note", "max_uses", "expires", "uses", "created_by")
    readonly_fields = ("uses", "created_by")

    def save_model(self, request: HttpRequest, obj: InviteCode, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = cast(User, request.user)
        super().save_model(request, obj, form, change)
