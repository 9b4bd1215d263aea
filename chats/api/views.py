"""Thin views: parse input with a serializer, find the object through a selector (which checks
membership), call a service, shape the output with a serializer."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.models import User
from accounts.payloads import user_payload
from chatproject.idempotency import IdempotentWrites
from chatproject.openapi import error_responses
from chatproject.pagination import ListCursorPagination
from chatproject.paths import ID_PATTERN
from chatproject.throttles import WriteThrottle
from chats import selectors
from chats.api.serializers import (
    ChangesQuerySerializer,
    ChatChangesSerializer,
    ChatCreateSerializer,
    ChatDetailSerializer,
    ChatSerializer,
    ChatSettingsSerializer,
    ChatUpdateSerializer,
    HistoryQuerySerializer,
    MemberAddSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    MessageCreateSerializer,
    MessageEditSerializer,
    MessagePageSerializer,
    MessageSerializer,
    ReadSerializer,
    ScheduledCreateSerializer,
    ScheduledMessageSerializer,
    ScheduledUpdateSerializer,
    SearchQuerySerializer,
    SeenBySerializer,
    UserChangesQuerySerializer,
    UserChangesSerializer,
)
from chats.models import (
    PINS_MAX,
    REACTIONS_DISTINCT_MAX,
    Chat,
    Membership,
    Message,
    ScheduledMessage,
)
from chats.services.chats import chat_create, chat_delete, chat_settings_set, chat_update
from chats.services.members import member_add, member_remove, member_role_set
from chats.services.messages import message_delete, message_edit, message_send, read_mark
from chats.services.pins import pin_set
from chats.services.reactions import reaction_add, reaction_remove
from chats.services.scheduling import message_schedule, scheduled_cancel, scheduled_update

CHAT_ID = OpenApiParameter("chat_id", int, OpenApiParameter.PATH)


def validated(serializer_class: type[BaseSerializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class CurrentUserMixin:
    request: Any

    @property
    def user(self) -> User:
        # Every view here requires authentication, so the user is never anonymous.
        return self.request.user


class ChatScopedMixin(CurrentUserMixin):
    """For views under /api/chats/{chat_id}/: the chat, if the caller is a member."""

    kwargs: dict[str, Any]

    def get_chat(self) -> Chat:
        return selectors.chat_access(user=self.user, chat_id=int(self.kwargs["chat_id"]))


class ChatPagination(ListCursorPagination):
    ordering = "-last_activity"


class SearchPagination(ListCursorPagination):
    ordering = "-id"


# The members a chat's detail shows; a large chat's list is paged (security review finding 10).
CHAT_DETAIL_MEMBERS = 100


@extend_schema_view(
    list=extend_schema(
        summary="My chats, latest activity first",
        responses={200: ChatSerializer(many=True), **error_responses(400, 401)},
        parameters=[OpenApiParameter("limit", int, description="Page size, 1-100 (default 50).")],
    ),
    create=extend_schema(
        request=ChatCreateSerializer,
        responses={
            201: ChatSerializer,
            200: ChatSerializer,
            **error_responses(400, 401, 413, 429),
        },
        description=(
            "The creator is owner. For `direct`, an existing chat with that user is returned "
            "with 200; nobody owns a direct chat: both people are plain members, so neither has "
            "power over the other's messages, roles or the chat."
        ),
    ),
    retrieve=extend_schema(
        responses={200: ChatDetailSerializer, **error_responses(401, 404)},
        description=(
            f"The chat, its first {CHAT_DETAIL_MEMBERS} members (by joining; page them all with "
            "`GET .../members/` when `member_count` is larger) and its last 20 messages in "
            "ascending seq."
        ),
    ),
    partial_update=extend_schema(
        request=ChatUpdateSerializer,
        responses={200: ChatSerializer, **error_responses(400, 401, 403, 404, 413)},
        description="Owner or admin.",
    ),
    destroy=extend_schema(
        responses={204: None, **error_responses(401, 403, 404)}, description="Owner."
    ),
)
@extend_schema(tags=["chats"])
class ChatViewSet(IdempotentWrites, CurrentUserMixin, viewsets.GenericViewSet):
    serializer_class = ChatSerializer
    throttle_classes = (WriteThrottle,)
    write_scopes = {"create": "chat_create", "read": "read", "member_settings": "chat_settings"}
    pagination_class = ChatPagination
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[Chat]:
        return selectors.chat_list_for_user(user=self.user)

    def get_object(self) -> Chat:
        return selectors.chat_get_for_member(user=self.user, chat_id=int(self.kwargs["pk"]))

    def _chat_response(self, chat_id: int, status_code: int = status.HTTP_200_OK) -> Response:
        chat = selectors.chat_get_for_member(user=self.user, chat_id=chat_id)
        return Response(ChatSerializer(chat).data, status=status_code)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        chats = selectors.chat_previews_set(page or [], viewer=self.user)
        return self.get_paginated_response(ChatSerializer(chats, many=True).data)

    def create(self, request: Request) -> Response:
        chat, created = chat_create(
            creator=self.user, **validated(ChatCreateSerializer, request.data)
        )
        return self._chat_response(
            chat.pk, status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def retrieve(self, request: Request, pk: str) -> Response:
        chat = self.get_object()
        messages, _ = selectors.message_history(chat=chat, viewer=self.user, limit=20)
        members = selectors.member_list(chat=chat)[:CHAT_DETAIL_MEMBERS]
        detail = {"chat": chat, "members": members, "messages": messages}
        return Response(ChatDetailSerializer(detail).data)

    def partial_update(self, request: Request, pk: str) -> Response:
        chat = self.get_object()
        chat_update(chat=chat, actor=self.user, **validated(ChatUpdateSerializer, request.data))
        return self._chat_response(chat.pk)

    def destroy(self, request: Request, pk: str) -> Response:
        chat_delete(chat=self.get_object(), actor=self.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[ChangesQuerySerializer],
        responses={200: ChatChangesSerializer, **error_responses(400, 401, 404)},
        description=(
            "Everything in the chat whose version is after `since`: messages (a deleted one as "
            "its tombstone), members, and the ids of users who left or were removed, each once "
            "and as it is now, ascending by version. `chat` is the chat as it is now, or null "
            "if nothing changed. A page never splits a version. Ask again from `version` while "
            "`has_more`. A client that applies the answers to what it holds has exactly what a "
            "fresh load would show. 404 once the caller is no longer a member: their own feed "
            "(`/api/users/me/changes/`) lists the chat as removed."
        ),
    )
    @action(detail=True, methods=["get"])
    def changes(self, request: Request, pk: str) -> Response:
        query = validated(ChangesQuerySerializer, request.query_params)
        [changes] = selectors.chat_changes(
            user=self.user, chat_id=int(pk), since=query["since"], limit=query["limit"]
        )
        return Response(ChatChangesSerializer(changes).data)

    @extend_schema(
        request=ReadSerializer,
        responses={204: None, **error_responses(400, 401, 404, 413, 429)},
        description="Moves my read marker forward to `seq`. It never moves back.",
    )
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str) -> Response:
        seq = validated(ReadSerializer, request.data)["seq"]
        read_mark(chat=self.get_object(), user=self.user, seq=seq)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=ChatSettingsSerializer,
        responses={200: ChatSerializer, **error_responses(400, 401, 404, 413, 429)},
        description=(
            "My notification level for the chat (`notify`): `all`, `mentions` or `none`. The "
            "chat list shows it, and a client's unread badge follows it. A change of my own list "
            "of chats: it moves my `user_version`, and my sockets get a `user.changes` frame."
        ),
    )
    def member_settings(self, request: Request, pk: str) -> Response:
        notify = validated(ChatSettingsSerializer, request.data)["notify"]
        chat_settings_set(chat=self.get_object(), user=self.user, notify=notify)
        return self._chat_response(int(pk))


@extend_schema(tags=["chats"])
class UserChangesViewSet(CurrentUserMixin, viewsets.ViewSet):
    @extend_schema(
        operation_id="users_me_changes",
        parameters=[UserChangesQuerySerializer],
        responses={200: UserChangesSerializer, **error_responses(400, 401)},
        description=(
            "My list of chats since `since` (a `user_version`): chats I joined or whose "
            "settings for me changed, and the ids of chats I left, was removed from, or that "
            "were deleted. Changes inside a chat come from its own feed."
        ),
    )
    # Not named "list": drf-spectacular would document the answer as an array.
    def changes(self, request: Request) -> Response:
        since = validated(UserChangesQuerySerializer, request.query_params)["since"]
        return Response(
            UserChangesSerializer(selectors.user_changes(user=self.user, since=since)).data
        )


@extend_schema_view(
    list=extend_schema(
        responses={200: MemberSerializer(many=True), **error_responses(400, 401, 404)}
    ),
    create=extend_schema(
        request=MemberAddSerializer,
        responses={201: MemberSerializer, **error_responses(400, 401, 403, 404, 413)},
        description="Owner or admin; only the owner appoints admins. Not for direct chats.",
    ),
    partial_update=extend_schema(
        request=MemberRoleSerializer,
        responses={200: MemberSerializer, **error_responses(400, 401, 403, 404, 413)},
        description="Owner only. Giving `owner` hands ownership over; the old owner becomes admin.",
    ),
    destroy=extend_schema(
        responses={204: None, **error_responses(400, 401, 403, 404)},
        description=(
            "Owner or admin (admins remove plain members), or anyone for themselves (leaving). "
            "An owner who leaves hands the chat to an admin, or else the longest-standing member."
        ),
    ),
)
@extend_schema(tags=["members"], parameters=[CHAT_ID])
class MemberViewSet(IdempotentWrites, ChatScopedMixin, viewsets.GenericViewSet):
    serializer_class = MemberSerializer
    pagination_class = ListCursorPagination
    lookup_field = "user_id"
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[Membership]:
        return selectors.member_list(chat=self.get_chat())

    def list(self, request: Request, chat_id: str) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(MemberSerializer(page, many=True).data)

    def create(self, request: Request, chat_id: str) -> Response:
        chat = self.get_chat()
        membership = member_add(
            chat=chat, actor=self.user, **validated(MemberAddSerializer, request.data)
        )
        member = selectors.member_get(chat=chat, user_id=membership.user_id)
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, chat_id: str, user_id: str) -> Response:
        chat = self.get_chat()
        role = validated(MemberRoleSerializer, request.data)["role"]
        member_role_set(chat=chat, actor=self.user, user_id=int(user_id), role=role)
        return Response(
            MemberSerializer(selectors.member_get(chat=chat, user_id=int(user_id))).data
        )

    def destroy(self, request: Request, chat_id: str, user_id: str) -> Response:
        member_remove(chat=self.get_chat(), actor=self.user, user_id=int(user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    create=extend_schema(
        request=MessageCreateSerializer,
        responses={
            201: MessageSerializer,
            200: MessageSerializer,
            **error_responses(400, 401, 403, 404, 413, 429),
        },
        description="The same `client_id` again returns the original message with 200.",
    ),
    partial_update=extend_schema(
        request=MessageEditSerializer,
        responses={200: MessageSerializer, **error_responses(400, 401, 403, 404, 413, 429)},
        description="Author only.",
    ),
    destroy=extend_schema(
        responses={204: None, **error_responses(401, 403, 404, 429)},
        description=(
            "Author, chat owner or admin: leaves a tombstone that keeps its seq, its text "
            "erased. A moderator (the remove_message permission) outside those roles removes "
            "the message instead, as the admin does: audited and restorable. Other staff get 404 "
            "outside their chats."
        ),
    ),
)
@extend_schema(tags=["messages"], parameters=[CHAT_ID])
class MessageViewSet(IdempotentWrites, ChatScopedMixin, viewsets.GenericViewSet):
    serializer_class = MessageSerializer
    throttle_classes = (WriteThrottle,)
    write_scopes = {
        "create": "message_send",
        "partial_update": "message_edit",
        "destroy": "message_delete",
    }
    lookup_value_regex = ID_PATTERN

    # Not named "list": drf-spectacular documents a list action's answer as an array, and the
    # history is a `{results, has_more}` object.
    @extend_schema(
        operation_id="chats_messages_list",
        parameters=[HistoryQuerySerializer],
        responses={200: MessagePageSerializer, **error_responses(400, 401, 404)},
        description=(
            "Messages in ascending seq. With `after`, the oldest ones past it (how a client "
            "catches up); otherwise the newest before `before`, or the newest of all. "
            "`has_more` says whether more lie beyond the page in that direction."
        ),
    )
    def history(self, request: Request, chat_id: str) -> Response:
        query = validated(HistoryQuerySerializer, request.query_params)
        messages, has_more = selectors.message_history(
            chat=self.get_chat(), viewer=self.user, **query
        )
        return Response(
            {"results": MessageSerializer(messages, many=True).data, "has_more": has_more}
        )

    def _message_response(
        self, message: Message, status_code: int = status.HTTP_200_OK
    ) -> Response:
        selectors.message_extras_set([message], viewer=self.user)
        return Response(MessageSerializer(message).data, status=status_code)

    def create(self, request: Request, chat_id: str) -> Response:
        message, created = message_send(
            chat=self.get_chat(),
            user=self.user,
            **validated(MessageCreateSerializer, request.data),
        )
        if created:
            return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)
        return self._message_response(message)

    def partial_update(self, request: Request, chat_id: str, pk: str) -> Response:
        message = selectors.message_get(chat=self.get_chat(), message_id=int(pk))
        text = validated(MessageEditSerializer, request.data)["text"]
        return self._message_response(message_edit(message=message, actor=self.user, text=text))

    def destroy(self, request: Request, chat_id: str, pk: str) -> Response:
        chat = selectors.chat_get_for_moderation(user=self.user, chat_id=int(chat_id))
        message = selectors.message_get(chat=chat, message_id=int(pk))
        message_delete(message=message, actor=self.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="chats_messages_seen",
        responses={200: SeenBySerializer, **error_responses(401, 404)},
        description=(
            "The members other than the author whose read marker is at or past the message: "
            "derived from read markers, so it needs no receipt per message."
        ),
    )
    def seen(self, request: Request, chat_id: str, pk: str) -> Response:
        chat = self.get_chat()
        users, count = selectors.message_seen_by(
            chat=chat, message=selectors.message_get(chat=chat, message_id=int(pk))
        )
        return Response({"users": [user_payload(user) for user in users], "count": count})


@extend_schema(
    tags=["messages"],
    parameters=[
        CHAT_ID,
        OpenApiParameter("message_id", int, OpenApiParameter.PATH),
        OpenApiParameter(
            "emoji", str, OpenApiParameter.PATH, description="One emoji, URL-encoded."
        ),
    ],
)
class ReactionViewSet(IdempotentWrites, ChatScopedMixin, viewsets.ViewSet):
    throttle_classes = (WriteThrottle,)
    write_scopes = {"update": "reaction", "destroy": "reaction"}

    def _message(self) -> Message:
        return selectors.message_get(
            chat=self.get_chat(), message_id=int(self.kwargs["message_id"])
        )

    @extend_schema(
        operation_id="chats_messages_reactions_put",
        request=None,
        responses={204: None, **error_responses(400, 401, 404, 429)},
        description=(
            "Puts my reaction on the message; idempotent. One emoji (skin tones, ZWJ sequences "
            f"and flags included); at most {REACTIONS_DISTINCT_MAX} different ones per message. "
            "A deleted message takes none (400). Members get a `reaction` event."
        ),
    )
    def update(self, request: Request, chat_id: str, message_id: str, emoji: str) -> Response:
        reaction_add(message=self._message(), user=self.user, emoji=emoji)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="chats_messages_reactions_delete",
        responses={204: None, **error_responses(400, 401, 404, 429)},
        description="Takes my reaction off the message; idempotent.",
    )
    def destroy(self, request: Request, chat_id: str, message_id: str, emoji: str) -> Response:
        reaction_remove(message=self._message(), user=self.user, emoji=emoji)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PinPagination(ListCursorPagination):
    ordering = "-pinned_at"


@extend_schema(tags=["messages"], parameters=[CHAT_ID])
class PinViewSet(IdempotentWrites, ChatScopedMixin, viewsets.GenericViewSet):
    serializer_class = MessageSerializer
    pagination_class = PinPagination
    throttle_classes = (WriteThrottle,)
    write_scopes = {"update": "pin", "destroy": "pin"}
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[Message]:
        return selectors.pins_list(chat=self.get_chat())

    @extend_schema(
        responses={200: MessageSerializer(many=True), **error_responses(400, 401, 404)},
        description="The chat's pinned messages, most recently pinned first.",
    )
    def list(self, request: Request, chat_id: str) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        messages = selectors.message_extras_set(list(page or []), viewer=self.user)
        return self.get_paginated_response(MessageSerializer(messages, many=True).data)

    def _message(self) -> Message:
        return selectors.message_get(chat=self.get_chat(), message_id=int(self.kwargs["pk"]))

    @extend_schema(
        request=None,
        responses={204: None, **error_responses(400, 401, 403, 404, 429)},
        description=(
            "Pins the message; idempotent. The owner and admins, or anyone in a direct chat or "
            f"in a group of fewer than 10 members. At most {PINS_MAX} per chat. Members get a "
            "`pins` event."
        ),
    )
    def update(self, request: Request, chat_id: str, pk: str) -> Response:
        pin_set(message=self._message(), actor=self.user, pinned=True)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={204: None, **error_responses(400, 401, 403, 404, 429)},
        description="Unpins the message; idempotent. The same people as pinning.",
    )
    def destroy(self, request: Request, chat_id: str, pk: str) -> Response:
        pin_set(message=self._message(), actor=self.user, pinned=False)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        parameters=[SearchQuerySerializer],
        responses={200: MessageSerializer(many=True), **error_responses(400, 401, 404)},
        description=(
            "Messages from my chats containing every word of `q` (words match as prefixes), "
            "newest first. Tombstones are never found."
        ),
    )
)
@extend_schema(tags=["messages"])
class MessageSearchViewSet(CurrentUserMixin, viewsets.GenericViewSet):
    serializer_class = MessageSerializer
    pagination_class = SearchPagination

    def get_queryset(self) -> QuerySet[Message]:
        query = validated(SearchQuerySerializer, self.request.query_params)
        return selectors.message_search(user=self.user, **query)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        messages = selectors.message_extras_set(list(page or []), viewer=self.user)
        return self.get_paginated_response(MessageSerializer(messages, many=True).data)


class ScheduledPagination(ListCursorPagination):
    ordering = "send_at"


@extend_schema_view(
    list=extend_schema(
        responses={200: ScheduledMessageSerializer(many=True), **error_responses(400, 401, 404)},
        description="My scheduled messages in this chat, soonest first.",
    ),
    create=extend_schema(
        request=ScheduledCreateSerializer,
        responses={
            201: ScheduledMessageSerializer,
            **error_responses(400, 401, 403, 404, 413, 429),
        },
        description=(
            "Posted as me at `send_at`, exactly as `POST .../messages/` would, and pushed live. "
            "If I may no longer post then, it ends `failed` with the reason in `failure`."
        ),
    ),
    retrieve=extend_schema(
        responses={200: ScheduledMessageSerializer, **error_responses(401, 404)},
    ),
    partial_update=extend_schema(
        request=ScheduledUpdateSerializer,
        responses={200: ScheduledMessageSerializer, **error_responses(400, 401, 404, 413)},
        description="Only while pending.",
    ),
    destroy=extend_schema(
        responses={204: None, **error_responses(400, 401, 404)},
        description="Cancels it; only while pending. A canceled message is never sent.",
    ),
)
@extend_schema(tags=["scheduled messages"], parameters=[CHAT_ID])
class ScheduledMessageViewSet(
    IdempotentWrites, ChatScopedMixin, viewsets.GenericViewSet[ScheduledMessage]
):
    serializer_class = ScheduledMessageSerializer
    pagination_class = ScheduledPagination
    lookup_value_regex = ID_PATTERN
    throttle_classes = (WriteThrottle,)
    write_scopes = {"create": "message_send"}  # a scheduled post is a post, later

    def get_scheduled(self) -> ScheduledMessage:
        return selectors.scheduled_get(
            chat=self.get_chat(), user=self.user, scheduled_id=int(self.kwargs["pk"])
        )

    def list(self, request: Request, chat_id: str) -> Response:
        page = self.paginate_queryset(
            selectors.scheduled_list(chat=self.get_chat(), user=self.user)
        )
        return self.get_paginated_response(ScheduledMessageSerializer(page, many=True).data)

    def create(self, request: Request, chat_id: str) -> Response:
        scheduled = message_schedule(
            chat=self.get_chat(),
            user=self.user,
            **validated(ScheduledCreateSerializer, request.data),
        )
        return Response(ScheduledMessageSerializer(scheduled).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, chat_id: str, pk: str) -> Response:
        return Response(ScheduledMessageSerializer(self.get_scheduled()).data)

    def partial_update(self, request: Request, chat_id: str, pk: str) -> Response:
        scheduled = self.get_scheduled()  # first: someone else's row is 404 whatever the body
        changes = validated(ScheduledUpdateSerializer, request.data)
        scheduled = scheduled_update(scheduled=scheduled, **changes)
        return Response(ScheduledMessageSerializer(scheduled).data)

    def destroy(self, request: Request, chat_id: str, pk: str) -> Response:
        scheduled_cancel(scheduled=self.get_scheduled())
        return Response(status=status.HTTP_204_NO_CONTENT)
