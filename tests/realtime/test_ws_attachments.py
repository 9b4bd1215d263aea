"""Files on the socket: `message.send` posts uploads with `attachment_ids`, and every frame that
carries a message gives each socket URLs signed for its own user, which download the file
without any other credential. A socket that was down catches up on them with `sync`."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from chats import downloads
from chats.services.attachments import attachment_upload
from chats.services.messages import message_delete, message_send
from tests.chats.test_attachments import png
from tests.factories import chat_factory
from tests.realtime.conftest import sync

pytestmark = pytest.mark.django_db(transaction=True)


async def upload(chat, user, name="view.png", data=None):
    file = SimpleUploadedFile(name, png() if data is None else data)
    return await sync(attachment_upload)(chat=chat, user=user, upload=file)


async def download(url):
    response = await sync(APIClient().get)(url)
    return response.status_code, b"".join(getattr(response, "streaming_content", []))


def granted_to(url):
    """Whom the URL was signed for."""
    grant = parse_qs(urlsplit(url).query)["grant"][0]
    attachment_id = int(urlsplit(url).path.removeprefix(downloads.PATH).split("/")[0])
    granted = downloads.grant_read(grant, attachment_id)
    assert granted is not None
    return granted.user_id


def send_frame(ref, chat_id, text, **fields):
    return {"type": "message.send", "ref": ref, "chat_id": chat_id, "text": text, **fields}


async def test_files_sent_on_the_socket_reach_each_member_with_their_own_urls(
    connect, user, other_user
):
    chat = await sync(chat_factory)(user, [other_user])
    attachment = await upload(chat, user)
    alice, bob = await connect(user), await connect(other_user)

    await alice.send_json_to(send_frame("f", chat.pk, "", attachment_ids=[attachment.pk]))

    ack = await alice.next_of("ack")
    new_for_alice = await alice.next_of("message.new")
    new_for_bob = await bob.next_of("message.new")
    (acked,) = ack["message"]["attachments"]
    (alices,) = new_for_alice["message"]["attachments"]
    (bobs,) = new_for_bob["message"]["attachments"]
    assert acked["id"] == alices["id"] == bobs["id"] == attachment.pk
    assert (granted_to(acked["url"]), granted_to(alices["url"])) == (user.pk, user.pk)
    assert granted_to(bobs["url"]) == other_user.pk
    assert granted_to(bobs["thumbnail_url"]) == other_user.pk
    assert (await download(bobs["url"]))[0] == 200
    assert (await download(bobs["thumbnail_url"]))[0] == 200


async def test_a_frame_without_files_is_shared_unchanged(connect, user, other_user):
    chat = await sync(chat_factory)(user, [other_user])
    bob = await connect(other_user)

    await sync(message_send)(chat=chat, user=user, text='"url":"/api/attachments/1/"')

    frame = await bob.next_of("message.new")
    assert frame["message"]["text"] == '"url":"/api/attachments/1/"'  # text is never signed


@pytest.mark.parametrize(
    "attachment_ids", [[999_999], "x", [1] * 11], ids=["unknown", "not a list", "eleven"]
)
async def test_bad_attachment_ids_on_the_socket_get_an_error_frame(
    connect, user, other_user, attachment_ids
):
    chat = await sync(chat_factory)(user, [other_user])
    alice = await connect(user)

    await alice.send_json_to(send_frame("bad", chat.pk, "hi", attachment_ids=attachment_ids))

    error = await alice.next_of("error")
    assert error["ref"] == "bad"
    await alice.send_json_to({"type": "ping"})
    assert await alice.next_of("pong") == {"type": "pong"}  # still open


async def test_a_socket_that_was_down_catches_up_on_files_with_its_own_urls(
    connect, user, other_user
):
    chat = await sync(chat_factory)(user, [other_user])
    since = chat.version  # where Bob's client was when his socket went down
    kept, _ = await sync(message_send)(
        chat=chat, user=user, text="map", attachment_ids=[(await upload(chat, user)).pk]
    )
    gone, _ = await sync(message_send)(
        chat=chat, user=user, text="oops", attachment_ids=[(await upload(chat, user)).pk]
    )
    await sync(message_delete)(message=gone, actor=user)
    bob = await connect(other_user)

    await bob.send_json_to({"type": "sync", "ref": "s", "chat_id": chat.pk, "since_version": since})

    changes = await bob.next_of("changes")
    by_id = {message["id"]: message for message in changes["messages"]}
    (file,) = by_id[kept.pk]["attachments"]
    assert by_id[gone.pk]["attachments"] == []
    assert granted_to(file["url"]) == other_user.pk
    assert (await download(file["url"]))[0] == 200
