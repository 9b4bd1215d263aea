from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import User


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
