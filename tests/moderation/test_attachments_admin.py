"""A moderator sees a message's files on its page in the admin and opens them there, though not a
member of the chat: images inline, anything else as a download, a removed message's too."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.models import User
from chats.models import Attachment, Chat, Message
from chats.moderation.services import message_remove
from chats.services.attachments import attachment_upload
from chats.services.messages import message_send
from tests.moderation.conftest import AdminFor


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(out, format="PNG")
    return out.getvalue()


def with_files(team: Chat, mallory: User) -> tuple[Message, Attachment, Attachment]:
    picture = attachment_upload(
        chat=team, user=mallory, upload=SimpleUploadedFile("pills.png", png())
    )
    page = attachment_upload(
        chat=team, user=mallory, upload=SimpleUploadedFile("offer.html", b"<html>buy</html>")
    )
    message, _ = message_send(
        chat=team, user=mallory, text="cheap!", attachment_ids=[picture.pk, page.pk]
    )
    return message, picture, page


def file_url(message: Message, attachment: Attachment) -> str:
    return reverse("admin:chats_message_attachment", args=[message.pk, attachment.pk])


def test_a_moderator_sees_the_files_of_a_removed_message_and_opens_them(
    admin_for: AdminFor, mo: User, root: User, team: Chat, mallory: User
) -> None:
    message, picture, page = with_files(team, mallory)
    message_remove(message=message, moderator=root, reason="spam")
    admin = admin_for(mo)

    detail = admin.get(reverse("admin:chats_message_change", args=[message.pk]))
    image = admin.get(file_url(message, picture))
    thumbnail = admin.get(file_url(message, picture) + "?thumbnail=1")
    download = admin.get(file_url(message, page))

    assert detail.status_code == 200
    assert "pills.png" in detail.content.decode()
    assert "offer.html" in detail.content.decode()
    assert (image.status_code, image["Content-Type"]) == (200, "image/png")
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")  # type: ignore[attr-defined]
    assert thumbnail["Content-Type"] == "image/webp"
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"] == 'attachment; filename="offer.html"'


def test_someone_who_may_not_view_messages_in_the_admin_gets_no_file(
    admin_for: AdminFor, user: User, team: Chat, mallory: User
) -> None:
    message, picture, _ = with_files(team, mallory)

    response = admin_for(user).get(file_url(message, picture))  # Alice owns the chat: not staff

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_a_file_is_reached_only_through_its_own_message(
    admin_for: AdminFor, mo: User, team: Chat, mallory: User
) -> None:
    message, picture, _ = with_files(team, mallory)
    other, _ = message_send(chat=team, user=mallory, text="another")

    assert admin_for(mo).get(file_url(other, picture)).status_code == 404
