from django.urls import path, re_path

from chatproject.paths import id_group
from chats.api.views import (
    ChatViewSet,
    MemberViewSet,
    MessageSearchViewSet,
    MessageViewSet,
    ScheduledMessageViewSet,
    UserChangesViewSet,
)
from chats.moderation.views import MessageReportViewSet

CHAT = id_group("chat_id")

urlpatterns = [
    path("chats/", ChatViewSet.as_view({"get": "list", "post": "create"}), name="chat-list"),
    re_path(
        rf"^chats/{id_group('pk')}/$",
        ChatViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="chat-detail",
    ),
    re_path(
        rf"^chats/{id_group('pk')}/changes/$",
        ChatViewSet.as_view({"get": "changes"}),
        name="chat-changes",
    ),
    path("users/me/changes/", UserChangesViewSet.as_view({"get": "changes"}), name="user-changes"),
    re_path(
        rf"^chats/{id_group('pk')}/read/$", ChatViewSet.as_view({"post": "read"}), name="chat-read"
    ),
    re_path(
        rf"^chats/{CHAT}/members/$",
        MemberViewSet.as_view({"get": "list", "post": "create"}),
        name="member-list",
    ),
    re_path(
        rf"^chats/{CHAT}/members/{id_group('user_id')}/$",
        MemberViewSet.as_view({"patch": "partial_update", "delete": "destroy"}),
        name="member-detail",
    ),
    re_path(
        rf"^chats/{CHAT}/messages/$",
        MessageViewSet.as_view({"get": "history", "post": "create"}),
        name="message-list",
    ),
    re_path(
        rf"^chats/{CHAT}/messages/{id_group('pk')}/$",
        MessageViewSet.as_view({"patch": "partial_update", "delete": "destroy"}),
        name="message-detail",
    ),
    re_path(
        rf"^chats/{CHAT}/messages/{id_group('message_id')}/report/$",
        MessageReportViewSet.as_view({"post": "create"}),
        name="message-report",
    ),
    re_path(
        rf"^chats/{CHAT}/scheduled/$",
        ScheduledMessageViewSet.as_view({"get": "list", "post": "create"}),
        name="scheduled-list",
    ),
    re_path(
        rf"^chats/{CHAT}/scheduled/{id_group('pk')}/$",
        ScheduledMessageViewSet.as_view(
            {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
        ),
        name="scheduled-detail",
    ),
    path("messages/search/", MessageSearchViewSet.as_view({"get": "list"}), name="message-search"),
]
