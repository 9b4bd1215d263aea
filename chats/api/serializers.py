from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import UserBriefSerializer, UserSerializer
from chatproject.serializers import StrictSerializer
from chats.models import (
    ATTACHMENTS_PER_MESSAGE_MAX,
    CLIENT_ID_MAX,
    DESCRIPTION_MAX,
    MEMBER_IDS_MAX,
    QUOTE_MAX,
    REASON_MAX,
    TEXT_MAX,
    TITLE_MAX,
    Chat,
    ChatType,
    Membership,
    Message,
    Notify,
    Report,
    Role,
    ScheduledMessage,
)
from chats.payloads import (
    attachment_payload,
    changes_payload,
    member_payload,
    message_payload,
    my_chat_payload,
    user_changes_payload,
)
from chats.selectors import (
    CHANGES_LIMIT_DEFAULT,
    CHANGES_LIMIT_MAX,
    SEEN_BY_MAX,
    THREAD_MAIN_FLOW,
)

BIGINT_MAX = 2**63 - 1


class SeqField(serializers.IntegerField):
    """A seq or id from a client: a non-negative integer that fits the database's bigint."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)


class TextField(serializers.CharField):
    """Text from a client: a JSON string only. DRF's CharField would turn 42 into "42"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- Output ------------------------------------------------------------------------------------


class AttachmentSerializer(serializers.Serializer):
    """A file, for the schema: answers are built by chats.payloads.attachment_payload."""

    id = serializers.IntegerField()
    name = serializers.CharField(help_text="The uploader's file name, without any directory.")
    content_type = serializers.CharField(help_text="Sniffed from the file's bytes.")
    size = serializers.IntegerField(help_text="Bytes, as stored.")
    width = serializers.IntegerField(allow_null=True, help_text="An image's, else null.")
    height = serializers.IntegerField(allow_null=True)
    url = serializers.CharField(
        help_text="Signed for you, good for at most an hour: fetch the message again for a "
        "fresh one. Images are served inline; anything else only as a download."
    )
    thumbnail_url = serializers.CharField(
        allow_null=True, help_text="An image's thumbnail (WebP, at most 320x320), else null."
    )

    def to_representation(self, attachment: Any) -> dict[str, Any]:
        return attachment_payload(attachment)


class AttachmentUploadSerializer(StrictSerializer):
    file = serializers.FileField(
        help_text="At most ATTACHMENT_MAX_BYTES (25 MiB by default), within your quota."
    )


class QuoteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    author = UserBriefSerializer(allow_null=True)
    text = serializers.CharField(
        help_text=f"The start of the quoted text (at most {QUOTE_MAX} characters) as it was when "
        "quoted; empty while that message is deleted or removed."
    )


class ReactionSerializer(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    me = serializers.BooleanField(help_text="Whether I am among them.")


class MessageSerializer(serializers.ModelSerializer):
    chat_id = serializers.IntegerField(read_only=True)
    user_id = serializers.IntegerField(read_only=True, allow_null=True)
    author = UserBriefSerializer(source="user", read_only=True, allow_null=True)
    text = serializers.CharField(read_only=True, help_text="Empty once deleted.")
    reply_to = QuoteSerializer(
        read_only=True, allow_null=True, help_text="The message a quoted reply answers."
    )
    thread_root_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The thread a thread reply is in."
    )
    reply_count = serializers.IntegerField(
        read_only=True, help_text="A thread root's replies that are not deleted."
    )
    last_reply_at = serializers.DateTimeField(read_only=True, allow_null=True)
    mentions = serializers.ListField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="The ids of the members the text mentions (`@login`, or `@all`).",
    )
    reactions = ReactionSerializer(
        many=True,
        read_only=True,
        help_text="Each emoji once, in the order of its earliest reaction still standing.",
    )
    pinned = serializers.BooleanField(read_only=True)
    attachments = AttachmentSerializer(
        many=True, read_only=True, help_text="Files posted with the message; none once deleted."
    )

    class Meta:
        model = Message
        fields = (
            "id",
            "chat_id",
            "seq",
            "version",
            "user_id",
            "author",
            "text",
            "client_id",
            "created",
            "updated",
            "edited",
            "deleted",
            "reply_to",
            "thread_root_id",
            "reply_count",
            "last_reply_at",
            "mentions",
            "reactions",
            "pinned",
            "attachments",
        )
        read_only_fields = fields

    def to_representation(self, message: Message) -> dict[str, Any]:
        return message_payload(message)


class ChatSerializer(serializers.ModelSerializer):
    """A chat as one member sees it. Reads the per-member fields that selectors annotate."""

    creator_user_id = serializers.IntegerField(source="creator_id", read_only=True, allow_null=True)
    member_count = serializers.IntegerField(read_only=True)
    my_role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    unread_count = serializers.IntegerField(read_only=True)
    mention_count = serializers.IntegerField(
        read_only=True, help_text="Messages past my read marker that mention me."
    )
    notify = serializers.ChoiceField(
        choices=Notify.choices, read_only=True, help_text="My notification level for the chat."
    )
    last_message = MessageSerializer(
        read_only=True, allow_null=True, help_text="A preview: its `reactions` are left empty."
    )

    class Meta:
        model = Chat
        fields = (
            "id",
            "title",
            "description",
            "chat_type",
            "creator_user_id",
            "created",
            "updated",
            "last_seq",
            "version",
            "member_count",
            "my_role",
            "unread_count",
            "mention_count",
            "notify",
            "last_message",
        )
        read_only_fields = fields

    def to_representation(self, chat: Chat) -> dict[str, Any]:
        return my_chat_payload(chat)


class MemberSerializer(serializers.ModelSerializer):
    user = UserSerializer(read_only=True)
    read_seq = serializers.IntegerField(source="last_read_seq", read_only=True)

    class Meta:
        model = Membership
        fields = ("user", "role", "joined", "read_seq", "version")
        read_only_fields = fields

    def to_representation(self, membership: Membership) -> dict[str, Any]:
        return member_payload(membership)


class ChatDetailSerializer(serializers.Serializer):
    chat = ChatSerializer()
    members = MemberSerializer(many=True)
    messages = MessageSerializer(many=True)


class MessagePageSerializer(serializers.Serializer):
    results = MessageSerializer(many=True)
    has_more = serializers.BooleanField()


class ChatChangesSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        help_text="How far this answer reaches: ask again from it while `has_more`."
    )
    chat = ChatSerializer(allow_null=True, help_text="As it is now; null if nothing changed.")
    messages = MessageSerializer(many=True)
    members = MemberSerializer(many=True)
    removed_user_ids = serializers.ListField(child=serializers.IntegerField())
    has_more = serializers.BooleanField()

    def to_representation(self, changes: Any) -> dict[str, Any]:
        payload = changes_payload(changes)
        del payload["chat_id"]  # in the path
        return payload


class UserChangesSerializer(serializers.Serializer):
    user_version = serializers.IntegerField()
    chats = ChatSerializer(many=True, help_text="Chats I joined or whose settings changed.")
    removed_chat_ids = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Chats I left or was removed from, and chats deleted.",
    )

    def to_representation(self, changes: Any) -> dict[str, Any]:
        return user_changes_payload(changes)


# --- Input -------------------------------------------------------------------------------------


class ChatCreateSerializer(StrictSerializer):
    title = TextField(max_length=TITLE_MAX, required=False, allow_blank=True, default="")
    description = TextField(
        max_length=DESCRIPTION_MAX, required=False, allow_blank=True, default=""
    )
    chat_type = serializers.ChoiceField(choices=ChatType.choices)
    member_ids = serializers.ListField(
        child=SeqField(min_value=1),
        max_length=MEMBER_IDS_MAX,
        required=False,
        default=list,
        help_text="For a direct chat, exactly the other user.",
    )


class ChatUpdateSerializer(StrictSerializer):
    title = TextField(max_length=TITLE_MAX, required=False)
    description = TextField(max_length=DESCRIPTION_MAX, required=False, allow_blank=True)


class MemberAddSerializer(StrictSerializer):
    user_id = SeqField(min_value=1)
    role = serializers.ChoiceField(choices=[Role.ADMIN, Role.MEMBER], default=Role.MEMBER)


class MemberRoleSerializer(StrictSerializer):
    role = serializers.ChoiceField(
        choices=Role.choices, help_text="`owner` hands ownership over; the old owner becomes admin."
    )


class MessageCreateSerializer(StrictSerializer):
    text = TextField(
        max_length=TEXT_MAX,
        required=False,
        default="",
        allow_blank=True,
        help_text="Required unless attachment_ids are given.",
    )
    client_id = TextField(
        max_length=CLIENT_ID_MAX,
        required=False,
        allow_null=True,
        help_text="Makes the post idempotent: the same client_id again returns the original.",
    )
    reply_to_id = SeqField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text="A message of the chat to quote: the reply stays in the main flow.",
    )
    thread_root_id = SeqField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text="A top-level message of the chat: the reply goes into its thread.",
    )
    attachment_ids = serializers.ListField(
        child=SeqField(min_value=1),
        max_length=ATTACHMENTS_PER_MESSAGE_MAX,
        required=False,
        default=list,
        help_text="Your uploads into this chat not posted yet, to post with the message.",
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data.get("text") and not data.get("attachment_ids"):
            raise serializers.ValidationError({"text": ["A message needs text or attachments."]})
        if len(set(data.get("attachment_ids", []))) != len(data.get("attachment_ids", [])):
            raise serializers.ValidationError({"attachment_ids": ["An attachment twice."]})
        return data


class MessageEditSerializer(StrictSerializer):
    text = TextField(max_length=TEXT_MAX)


class ReadSerializer(StrictSerializer):
    seq = SeqField()


@extend_schema_field(OpenApiTypes.STR)
class ThreadField(serializers.Field):
    """A thread root's id, or `none` for the main flow without thread replies."""

    def to_internal_value(self, data: Any) -> int | str:
        if data == THREAD_MAIN_FLOW:
            return THREAD_MAIN_FLOW
        if not isinstance(data, str) or not data.isdigit() or not 0 < int(data) <= BIGINT_MAX:
            raise serializers.ValidationError("A message id, or `none`.")
        return int(data)

    def to_representation(self, value: int | str) -> int | str:
        return value


class HistoryQuerySerializer(serializers.Serializer):
    before = SeqField(required=False)
    after = SeqField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=50)
    thread_root_id = ThreadField(
        required=False,
        help_text="A thread root's id: that thread's replies (not the root). `none`: the main "
        "flow, without thread replies. Absent: every message.",
    )


class ChatSettingsSerializer(StrictSerializer):
    notify = serializers.ChoiceField(
        choices=Notify.choices,
        help_text="`all`: the unread badge counts every message; `mentions`: only mentions of "
        "me; `none`: nothing.",
    )


class SeenBySerializer(serializers.Serializer):
    users = UserSerializer(
        many=True,
        help_text=f"Up to {SEEN_BY_MAX} members, the author aside, whose read marker is at or "
        "past the message, latest readers first.",
    )
    count = serializers.IntegerField(help_text="How many members have seen it in all.")


class ChangesQuerySerializer(serializers.Serializer):
    since = SeqField(help_text="The version the client holds; 0 for everything.")
    limit = serializers.IntegerField(
        min_value=1,
        max_value=CHANGES_LIMIT_MAX,
        default=CHANGES_LIMIT_DEFAULT,
        help_text="Items (messages, members and removed ids) per page; a page never splits a "
        "version, so it may run past this only to finish one.",
    )


class UserChangesQuerySerializer(serializers.Serializer):
    since = SeqField(help_text="The user_version the client holds; 0 for everything.")


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(min_length=1, max_length=200)
    chat_id = SeqField(min_value=1, required=False)


class ScheduledMessageSerializer(serializers.ModelSerializer):
    chat_id = serializers.IntegerField(read_only=True)
    message_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = ScheduledMessage
        fields = ("id", "chat_id", "text", "send_at", "status", "message_id", "failure", "created")
        read_only_fields = fields


class ScheduledCreateSerializer(StrictSerializer):
    text = TextField(max_length=TEXT_MAX)
    send_at = serializers.DateTimeField(
        help_text="In the future, at most a year ahead; a naive time is in the server's zone (TZ)."
    )


class ScheduledUpdateSerializer(StrictSerializer):
    text = TextField(max_length=TEXT_MAX, required=False)
    send_at = serializers.DateTimeField(required=False)


# --- Moderation ----------------------------------------------------------------------------------


class ReportSerializer(serializers.ModelSerializer):
    chat_id = serializers.IntegerField(source="message.chat_id", read_only=True)
    message_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Report
        fields = ("id", "chat_id", "message_id", "reason", "status", "created")
        read_only_fields = fields


class ReportCreateSerializer(StrictSerializer):
    reason = TextField(
        max_length=REASON_MAX, help_text="What is wrong with the message, 1-1000 characters."
    )
