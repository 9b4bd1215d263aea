from django.contrib import admin

from chats.models import Chat, Connection, Membership, Message, ScheduledMessage


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    readonly_fields = ("joined", "last_read_seq")


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "chat_type", "creator", "last_seq", "last_activity")
    list_filter = ("chat_type",)
    search_fields = ("title",)
    raw_id_fields = ("creator",)
    readonly_fields = ("last_seq", "last_activity", "created", "updated")
    inlines = (MembershipInline,)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("id", "chat", "user", "role", "joined", "last_read_seq")
    list_filter = ("role",)
    raw_id_fields = ("chat", "user")
    list_select_related = ("chat", "user")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "chat", "seq", "user", "created", "edited", "deleted")
    list_filter = ("deleted", "edited")
    search_fields = ("text",)
    raw_id_fields = ("chat", "user")
    list_select_related = ("chat", "user")
    readonly_fields = ("seq", "client_id", "created", "updated")
    ordering = ("-id",)
    show_full_result_count = False


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
