"""Uploading files into a chat, posting them with a message, and sweeping those never posted.

An upload is stored at once, under a key of our own making (never the client's name), and waits
for its uploader to post it. Its bytes go when its row goes, after the commit (chats/receivers.py):
an author's delete, the chat's deletion, the uploader's account, the sweep.
"""

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from rest_framework import exceptions, status

from accounts.models import User
from chats import files
from chats.models import Attachment, Chat
from chats.services.access import may_post

logger = logging.getLogger(__name__)

# Uploads never posted are swept after this long.
UNPOSTED_KEPT_FOR = timedelta(days=1)


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class StorageUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The file store is unavailable; try again shortly."
    default_code = "storage_unavailable"


def attachment_storage() -> Storage:
    return storages["attachments"]


def quota_check(*, user: User, incoming: int) -> None:
    """TooLarge if `incoming` more bytes would pass the file limit or the user's quota."""
    if incoming > settings.ATTACHMENT_MAX_BYTES:
        raise TooLarge(f"A file may have at most {settings.ATTACHMENT_MAX_BYTES} bytes.")
    used = Attachment.objects.filter(uploader=user).aggregate(total=Sum("size"))["total"] or 0
    if used + incoming > settings.ATTACHMENT_QUOTA_BYTES:
        raise TooLarge(
            f"Your files would pass your quota of {settings.ATTACHMENT_QUOTA_BYTES} bytes; "
            "delete some of your messages with files to make room."
        )


def attachment_upload(*, chat: Chat, user: User, upload: UploadedFile) -> Attachment:
    """Store a file a member who may post in the chat uploads, typed from its bytes (an image
    re-encoded without its metadata, with a thumbnail). 400 for a file that cannot be stored,
    413 past the size or the quota, 503 when the store fails."""
    may_post(chat, user)
    quota_check(user=user, incoming=upload.size or 0)
    try:
        prepared = files.prepare(upload)
    except files.Unusable as error:
        raise exceptions.ValidationError({"file": [str(error)]}) from error
    with transaction.atomic():
        # One upload of the user's at a time past this point: the quota holds under races.
        User.objects.select_for_update().filter(pk=user.pk).get()
        quota_check(user=user, incoming=prepared.size)
        key = f"{chat.pk}/{uuid.uuid4().hex}"
        attachment = Attachment.objects.create(
            chat=chat,
            uploader=user,
            name=prepared.name,
            content_type=prepared.content_type,
            size=prepared.size,
            width=prepared.width,
            height=prepared.height,
            key=key,
            thumbnail_key="" if prepared.thumbnail is None else f"{key}.thumbnail",
        )
        _store(attachment, prepared)
    return attachment


def _store(attachment: Attachment, prepared: files.Prepared) -> None:
    """Into the store, inside the row's transaction: if the store fails, neither remains."""
    storage = attachment_storage()
    stored: list[str] = []
    try:
        stored.append(storage.save(attachment.key, prepared.body))
        if prepared.thumbnail is not None:
            stored.append(storage.save(attachment.thumbnail_key, prepared.thumbnail))
    except Exception as error:
        logger.exception("storing attachment %s failed", attachment.key)
        files_erase(stored)
        raise StorageUnavailable() from error
    if stored[0] != attachment.key:  # the store chose another name: never, with our keys
        files_erase(stored)
        raise StorageUnavailable()


def attachments_take(*, chat: Chat, user: User, attachment_ids: list[int]) -> list[Attachment]:
    """The user's uploads into the chat not posted yet, locked for posting, in upload order;
    400 if any is not."""
    if not attachment_ids:
        return []
    taken = list(
        Attachment.objects.select_for_update()
        .filter(pk__in=attachment_ids, chat=chat, uploader=user, message__isnull=True)
        .order_by("pk")
    )
    if len(taken) != len(set(attachment_ids)):
        raise exceptions.ValidationError(
            {"attachment_ids": ["Only your own uploads into this chat that are not posted yet."]}
        )
    return taken


def files_erase(keys: list[str]) -> None:
    """Delete from the store; a failure is logged, as the rows are gone already."""
    storage = attachment_storage()
    for key in keys:
        try:
            storage.delete(key)
        except Exception:
            logger.exception("erasing attachment file %s failed", key)


def attachments_sweep() -> int:
    """Delete the uploads never posted within UNPOSTED_KEPT_FOR, and so their files."""
    cutoff = timezone.now() - UNPOSTED_KEPT_FOR
    deleted, _ = Attachment.objects.filter(message__isnull=True, created__lt=cutoff).delete()
    return deleted
