"""Uploading a file into a chat, and downloading one by its signed URL (chats/downloads.py)."""

import logging

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.credentials import credentials_hold_now
from chatproject.idempotency import IdempotentWrites
from chatproject.openapi import error_responses
from chatproject.throttles import ClientAddressThrottle, WriteThrottle
from chats import downloads, files, selectors
from chats.api.serializers import AttachmentSerializer, AttachmentUploadSerializer
from chats.api.views import CHAT_ID, ChatScopedMixin
from chats.models import Attachment
from chats.payloads import attachment_payload
from chats.services.attachments import (
    StorageUnavailable,
    attachment_storage,
    attachment_upload,
    quota_check,
)

logger = logging.getLogger(__name__)

# Served inline: the images we re-encoded ourselves. Anything else is a download only.
INLINE_TYPES = frozenset(files.IMAGE_TYPES.values())
# Whatever a browser makes of a file, it runs nothing in our origin.
DOWNLOAD_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


@extend_schema(tags=["attachments"], parameters=[CHAT_ID])
class AttachmentUploadViewSet(IdempotentWrites, ChatScopedMixin, viewsets.ViewSet):
    parser_classes = (MultiPartParser,)
    throttle_classes = (WriteThrottle,)
    write_scopes = {"create": "upload"}

    @extend_schema(
        operation_id="chats_attachments_create",
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachmentSerializer, **error_responses(400, 401, 403, 404, 413, 429, 503)},
        description=(
            "Uploads a file into the chat, to post with a message of mine (`attachment_ids`) "
            "within a day, after which it is removed. The type is sniffed from the bytes; "
            "images (PNG, JPEG, GIF, WebP) lose their metadata (EXIF) and get a thumbnail, width "
            "and height. 413 past `ATTACHMENT_MAX_BYTES` per file or my quota "
            "(`ATTACHMENT_QUOTA_BYTES`), refused by Content-Length before the file is parsed. "
            "503 if the file store fails: nothing is kept. Who may post in the chat may upload."
        ),
    )
    def create(self, request: Request, chat_id: str) -> Response:
        chat = self.get_chat()
        quota_check(user=self.user, incoming=_content_length(request))
        upload = AttachmentUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        attachment = attachment_upload(
            chat=chat, user=self.user, upload=upload.validated_data["file"]
        )
        return Response(attachment_payload(attachment), status=status.HTTP_201_CREATED)


def _content_length(request: Request) -> int:
    """The body's announced size: the file's at most, minus the multipart framing."""
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0) - 64 * 1024, 0)
    except ValueError:
        return 0


class DownloadThrottle(ClientAddressThrottle):
    scope = "download"


@extend_schema(
    tags=["attachments"],
    parameters=[
        OpenApiParameter("attachment_id", int, OpenApiParameter.PATH),
        OpenApiParameter(
            "grant", str, OpenApiParameter.QUERY, required=True, description="From the URL."
        ),
    ],
)
class AttachmentDownloadViewSet(viewsets.ViewSet):
    """The signed URL is the credential: no token or cookie is needed, so an <img> can load it."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (DownloadThrottle,)

    @extend_schema(
        operation_id="attachments_download",
        responses={
            (200, "application/octet-stream"): bytes,
            **error_responses(403, 404, 429),
        },
        description=(
            "The file, by the URL a message gave me (`url`). 403 for a URL that is tampered "
            "with, over an hour old, or whose login session or password has ended or changed "
            "since; 404 once I am no longer a member, or the message is deleted or removed. "
            "Images come inline, anything else as a download "
            "(`Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`)."
        ),
    )
    def retrieve(self, request: Request, attachment_id: str) -> HttpResponse | FileResponse:
        return attachment_file_response(self._granted(request, int(attachment_id)))

    @extend_schema(
        operation_id="attachments_thumbnail",
        responses={(200, files.THUMBNAIL_TYPE): bytes, **error_responses(403, 404, 429)},
        description="An image's thumbnail, by its `thumbnail_url`, under the same rules.",
    )
    def thumbnail(self, request: Request, attachment_id: str) -> HttpResponse | FileResponse:
        attachment = self._granted(request, int(attachment_id))
        if not attachment.thumbnail_key:
            raise exceptions.NotFound("This file has no thumbnail.")
        return attachment_file_response(attachment, thumbnail=True)

    def _granted(self, request: Request, attachment_id: int) -> Attachment:
        grant = downloads.grant_read(request.query_params.get("grant", ""), attachment_id)
        if grant is None or not credentials_hold_now(
            user_id=grant.user_id, authenticated_at=grant.signed_at, session_id=grant.session_id
        ):
            raise exceptions.PermissionDenied("This link is not valid (any more).")
        attachment = selectors.attachment_for_download(
            attachment_id=attachment_id, user_id=grant.user_id
        )
        if attachment is None:
            raise exceptions.NotFound("No such file.")
        return attachment


def attachment_file_response(
    attachment: Attachment, *, thumbnail: bool = False
) -> HttpResponse | FileResponse:
    """The file (or its thumbnail) for someone allowed to have it: the images we re-encoded
    inline, anything else only as a download."""
    if thumbnail:
        key, content_type, name = (
            attachment.thumbnail_key,
            files.THUMBNAIL_TYPE,
            f"{attachment.name}.webp",
        )
    else:
        key, name = attachment.key, attachment.name
        content_type = (
            attachment.content_type
            if attachment.content_type in INLINE_TYPES
            else files.UNKNOWN_TYPE
        )
    inline = content_type != files.UNKNOWN_TYPE
    response: HttpResponse | FileResponse
    # The proxy sends the bytes from its own location: the filesystem store's directory.
    if settings.ATTACHMENT_ACCEL_REDIRECT and settings.ATTACHMENT_STORAGE == "filesystem":
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.ATTACHMENT_ACCEL_REDIRECT + key
        response["Content-Disposition"] = content_disposition_header(not inline, name) or ""
    else:
        try:
            # An S3 object is fetched here (to a temporary file), so a failing store is a 503
            # before the first byte is sent.
            stream = attachment_storage().open(key).open()
        except FileNotFoundError as error:
            raise exceptions.NotFound("No such file.") from error
        except Exception as error:
            logger.exception("reading attachment %s failed", key)
            raise StorageUnavailable() from error
        response = FileResponse(
            stream,
            content_type=content_type,
            as_attachment=not inline,
            filename=name,
        )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_POLICY
    response["Cache-Control"] = "private, max-age=3600"
    return response
