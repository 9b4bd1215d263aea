from django.urls import path, re_path

from chatproject.paths import id_group
from chats.api.attachments import AttachmentDownloadViewSet, AttachmentUploadViewSet
from chats.api.views import (
    ChatViewSet,
    MemberViewSet,
    MessageSearchViewSet,
    MessageViewSet,
    PinViewSet,
    ReactionViewSet,
    ScheduledMessageViewSet,
    UserChangesViewSet,
)
from chats.moderation.views import MessageReportViewSet

CHAT = id_group("chat_id")

urlpatterns = [
    re_path(
        rf"^chats/{CHAT}/attachments/$",
        AttachmentUploadViewSet.as_view({"post": "create"}),
        name="attachment-upload",
    ),
    re_path(
        rf"^attachments/{id_group('attachment_id')}/$",
        AttachmentDownloadViewSet.as_view({"get": "retrieve"}),
        name="attachment-download",
    ),
    re_path(
        rf"^attachments/{id_group('attachment_id')}/thumbnail/$",
        AttachmentDownloadViewSet.as_view({"get": "thumbnail"}),
        name="attachment-thumbnail",
    ),
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
        rf"^chats/{id_group('pk')}/settings/$",
        ChatViewSet.as_view({"patch": "member_settings"}),
        name="chat-settings",
    ),
    re_path(
        rf"^chats/{CHAT}/messages/{id_group('pk')}/seen/$",
        MessageViewSet.as_view({"get": "seen"}),
        name="message-seen",
    ),
    re_path(
        rf"^chats/{CHAT}/messages/{id_group('message_id')}/reactions/(?P<emoji>[^/]+)/$",
        ReactionViewSet.as_view({"put": "update", "delete": "destroy"}),
        name="message-reaction",
    ),
    re_path(
        rf"^chats/{CHAT}/pins/$",
        PinViewSet.as_view({"get": "list"}),
        name="pin-list",
    ),
    re_path(
        rf"^chats/{CHAT}/pins/{id_group('pk')}/$",
        PinViewSet.as_view({"put": "update", "delete": "destroy"}),
        name="pin-detail",
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
