"""Members report messages to the moderators through the API; moderators work in the admin."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from chatproject.idempotency import IdempotentWrites
from chatproject.openapi import error_responses
from chatproject.throttles import WriteThrottle
from chats import selectors
from chats.api.serializers import ReportCreateSerializer, ReportSerializer
from chats.api.views import CHAT_ID, ChatScopedMixin, validated
from chats.moderation.services import report_create

MESSAGE_ID = OpenApiParameter("message_id", int, OpenApiParameter.PATH)


@extend_schema(tags=["moderation"], parameters=[CHAT_ID, MESSAGE_ID])
class MessageReportViewSet(IdempotentWrites, ChatScopedMixin, viewsets.GenericViewSet):
    serializer_class = ReportSerializer
    throttle_classes = (WriteThrottle,)
    write_scopes = {"create": "report"}

    @extend_schema(
        summary="Report a message to the moderators",
        request=ReportCreateSerializer,
        responses={
            201: ReportSerializer,
            200: ReportSerializer,
            **error_responses(400, 401, 404, 413, 429),
        },
        description=(
            "Any member may report another member's message; it joins the moderators' queue in "
            "the admin. One report per member per message: reporting the same message again "
            "returns the first report with 200, unchanged. A non-member, or an unknown message, "
            "gets 404; one's own message or a deleted one gets 400."
        ),
    )
    def create(self, request: Request, chat_id: str, message_id: str) -> Response:
        # First the lookups: a non-member gets 404 whatever the body.
        message = selectors.message_get(chat=self.get_chat(), message_id=int(message_id))
        reason = validated(ReportCreateSerializer, request.data)["reason"]
        report, created = report_create(message=message, reporter=self.user, reason=reason)
        status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(ReportSerializer(report).data, status=status_code)
