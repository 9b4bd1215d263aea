"""Client-to-server WebSocket frames, validated with the REST serializers' own fields and rules."""

from typing import Any

from rest_framework import serializers

from chatproject.serializers import StrictSerializer
from chats.api.serializers import MessageCreateSerializer, ReadSerializer, SeqField
from chats.realtime.protocol import SYNC_LIMIT_MAX
from chats.selectors import CHANGES_LIMIT_DEFAULT, CHANGES_LIMIT_MAX

REF_MAX = 64


class RefField(serializers.Field):
    """The client's correlation id for a frame: a short string or an integer, echoed back as is."""

    default_error_messages = {"invalid": f"Must be a string of at most {REF_MAX} chars or an int."}

    def to_internal_value(self, data: Any) -> str | int:
        if isinstance(data, str) and len(data) <= REF_MAX:
            return data
        if isinstance(data, int) and not isinstance(data, bool) and abs(data) <= 2**53:
            return data
        self.fail("invalid")

    def to_representation(self, value: Any) -> Any:
        return value


class Frame(StrictSerializer):
    type = serializers.CharField()
    ref = RefField(required=False)


class ChatFrame(Frame):
    chat_id = SeqField(min_value=1)


class MessageSendFrame(ChatFrame, MessageCreateSerializer):
    pass


class SyncFrame(ChatFrame):
    """Either `after_seq` (messages, in sync.batch frames) or `since_version` (every change, in
    changes frames)."""

    after_seq = SeqField(required=False)
    since_version = SeqField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=CHANGES_LIMIT_MAX, required=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if ("after_seq" in data) == ("since_version" in data):
            raise serializers.ValidationError("Give either after_seq or since_version.")
        if "after_seq" in data:
            limit = data.setdefault("limit", SYNC_LIMIT_MAX)
            if limit > SYNC_LIMIT_MAX:
                raise serializers.ValidationError(
                    {"limit": [f"At most {SYNC_LIMIT_MAX} with after_seq."]}
                )
        else:
            data.setdefault("limit", CHANGES_LIMIT_DEFAULT)
        return data


class UserSyncFrame(Frame):
    since_user_version = SeqField()


class ReadFrame(ChatFrame, ReadSerializer):
    pass


class AuthFrame(Frame):
    token = serializers.CharField(max_length=4096)


FRAMES: dict[str, type[Frame]] = {
    "auth": AuthFrame,
    "message.send": MessageSendFrame,
    "sync": SyncFrame,
    "user.sync": UserSyncFrame,
    "typing": ChatFrame,
    "read": ReadFrame,
    "ping": Frame,
}
