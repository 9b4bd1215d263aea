"""POST /api/chats/{id}/attachments/ and the files posted with messages.

Alice uploads files into the team's chat, then posts them with a message. Bob and Carol see
them with URLs signed for each of them; whoever is not (or no longer) a member, or holds a URL
that was tampered with, expired, or belongs to an ended session, gets nothing. The bytes are
stored through the real filesystem storage, in the test's own directory (tests/conftest.py).
"""

import io
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone
from PIL import Image
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import login_session_end_mine
from chats.models import Attachment, Chat, Message
from chats.moderation.services import message_remove, message_restore
from chats.services.attachments import attachments_sweep
from chats.services.members import member_remove
from chats.services.messages import message_delete
from tests.chats.conftest import MakeUser
from tests.factories import chat_factory

Api = Callable[[User], APIClient]

ROOT = Path(__file__).resolve().parents[2]


# --- Files to upload ------------------------------------------------------------------------------


def photo(width: int = 640, height: int = 480, *, image_format: str = "JPEG") -> bytes:
    """A photo as a phone takes it: EXIF with the camera, the place (GPS) and an orientation."""
    image = Image.new("RGB", (width, height), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: turned 90°, as a phone held upright writes it
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format=image_format, exif=exif)
    return out.getvalue()


def png(width: int = 32, height: int = 16) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 128, 255, 255)).save(out, format="PNG")
    return out.getvalue()


def png_bomb(side: int = 10_000) -> bytes:
    """A valid PNG of side x side grey pixels, all zero: 100 MB decoded, 100 KB stored."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = bytes(side + 1)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def upload(api: APIClient, chat: Chat, name: str, data: bytes, **headers: Any) -> Any:
    return api.post(
        f"/api/chats/{chat.pk}/attachments/",
        {"file": SimpleUploadedFile(name, data, content_type="application/x-anything")},
        format="multipart",
        **headers,
    )


def uploaded(api: APIClient, chat: Chat, name: str, data: bytes) -> dict[str, Any]:
    response = upload(api, chat, name, data)
    assert response.status_code == 201, response.content
    return dict(response.json())


def post(api: APIClient, chat: Chat, *attachment_ids: int, text: str = "") -> Any:
    return api.post(
        f"/api/chats/{chat.pk}/messages/",
        {"text": text, "attachment_ids": list(attachment_ids)},
        format="json",
    )


def posted(api: APIClient, chat: Chat, *attachment_ids: int, text: str = "") -> dict[str, Any]:
    response = post(api, chat, *attachment_ids, text=text)
    assert response.status_code == 201, response.content
    return dict(response.json())


def files_seen_by(api: APIClient, chat: Chat, message_id: int) -> list[dict[str, Any]]:
    """The message's attachments as the caller's client shows them in the history."""
    history = api.get(f"/api/chats/{chat.pk}/messages/").json()["results"]
    (message,) = [m for m in history if m["id"] == message_id]
    return list(message["attachments"])


def download(url: str) -> Any:
    """Fetch a URL as a browser's <img> or link would: no token, no cookie."""
    return APIClient().get(url)


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def stored(file_store: Path) -> list[str]:
    return sorted(str(p.relative_to(file_store)) for p in file_store.rglob("*") if p.is_file())


# --- Uploading and posting ------------------------------------------------------------------------


def test_a_member_uploads_a_file_then_posts_it_and_the_others_download_it(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    alice, bob = api_for(user), api_for(other_user)
    report = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

    attachment = uploaded(alice, team, "report.pdf", report)
    message = posted(alice, team, attachment["id"], text="the report")

    assert attachment["name"] == "report.pdf"
    assert attachment["content_type"] == "application/pdf"
    assert attachment["size"] == len(report)
    assert (attachment["width"], attachment["height"], attachment["thumbnail_url"]) == (
        None,
        None,
        None,
    )
    (as_posted,) = message["attachments"]
    assert as_posted["id"] == attachment["id"]
    (seen,) = files_seen_by(bob, team, message["id"])
    response = download(seen["url"])
    assert response.status_code == 200
    assert body(response) == report
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_message_may_be_files_alone_but_not_nothing(api: APIClient, team: Chat) -> None:
    attachment = uploaded(api, team, "a.png", png())

    assert posted(api, team, attachment["id"])["text"] == ""
    response = post(api, team)
    assert response.status_code == 400
    assert "text" in response.json()


def test_up_to_ten_files_go_with_one_message_in_the_order_they_were_uploaded(
    api: APIClient, team: Chat
) -> None:
    ids = [uploaded(api, team, f"{n}.png", png(8 + n, 8))["id"] for n in range(11)]

    assert post(api, team, *ids).status_code == 400  # eleven
    message = posted(api, team, *reversed(ids[:10]))

    assert [a["id"] for a in message["attachments"]] == ids[:10]
    assert [a["name"] for a in message["attachments"]] == [f"{n}.png" for n in range(10)]


@pytest.mark.parametrize(
    "whose", ["posted already", "someone else's", "of another chat", "unknown", "twice"]
)
def test_only_my_own_uploads_into_this_chat_not_posted_yet_can_be_posted(
    api_for: Api, team: Chat, user: User, other_user: User, whose: str
) -> None:
    alice = api_for(user)
    mine = uploaded(alice, team, "a.png", png())["id"]
    ids = {
        "posted already": lambda: [posted(alice, team, mine)["attachments"][0]["id"]],
        "someone else's": lambda: [uploaded(api_for(other_user), team, "b.png", png())["id"]],
        "of another chat": lambda: [
            uploaded(alice, chat_factory(user, [other_user]), "c.png", png())["id"]
        ],
        "unknown": lambda: [mine + 1000],
        "twice": lambda: [mine, mine],
    }[whose]()

    response = post(alice, team, *ids, text="look")

    assert response.status_code == 400
    assert "attachment_ids" in response.json()
    assert Message.objects.filter(chat=team, text="look").count() == 0


def test_a_channel_reader_may_not_upload(
    api_for: Api, channel: Chat, other_user: User, file_store: Path
) -> None:
    response = upload(api_for(other_user), channel, "a.png", png())

    assert response.status_code == 403
    assert stored(file_store) == []


def test_a_non_member_cannot_upload_nor_learn_that_the_chat_exists(
    api_for: Api, team: Chat, make_user: MakeUser, file_store: Path
) -> None:
    response = upload(api_for(make_user()), team, "a.png", png())

    assert response.status_code == 404
    assert stored(file_store) == []


@pytest.mark.parametrize("form", [{}, {"file": ""}, {"file": "text, not a file"}, {"files": "x"}])
def test_an_upload_without_a_file_is_a_400(api: APIClient, team: Chat, form: dict) -> None:
    response = api.post(f"/api/chats/{team.pk}/attachments/", form, format="multipart")

    assert response.status_code == 400


def test_an_upload_as_json_is_refused_as_such(api: APIClient, team: Chat) -> None:
    response = api.post(f"/api/chats/{team.pk}/attachments/", {"file": "x"}, format="json")

    assert response.status_code == 415


def test_the_file_name_keeps_no_directories_or_control_characters(
    api: APIClient, team: Chat, file_store: Path
) -> None:
    attachment = uploaded(api, team, "../../etc/pass\x07wd\u202e.txt", b"plain text\n")

    assert attachment["name"] == "passwd.txt"
    (key,) = stored(file_store)
    assert key.startswith(f"{team.pk}/")
    assert "passwd" not in key


# --- What a file really is ------------------------------------------------------------------------


def test_a_png_named_txt_is_an_image(api_for: Api, team: Chat, user: User) -> None:
    attachment = uploaded(api_for(user), team, "notes.txt", png(32, 16))

    assert attachment["content_type"] == "image/png"
    assert (attachment["width"], attachment["height"]) == (32, 16)
    response = download(_signed(api_for(user), team, attachment)["url"])
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")


def test_html_named_png_is_never_served_as_html(api_for: Api, team: Chat, user: User) -> None:
    attachment = uploaded(api_for(user), team, "cat.png", HTML)

    assert attachment["content_type"] == "text/html"
    assert attachment["thumbnail_url"] is None
    response = download(_signed(api_for(user), team, attachment)["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="cat.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_svg_is_a_download_too(api_for: Api, team: Chat, user: User) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    attachment = uploaded(api_for(user), team, "logo.svg", svg)

    response = download(_signed(api_for(user), team, attachment)["url"])

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


def test_a_photo_loses_its_exif_keeps_its_pixels_upright_and_gets_a_thumbnail(
    api_for: Api, team: Chat, user: User
) -> None:
    alice = api_for(user)
    attachment = uploaded(alice, team, "IMG_0001.jpg", photo(640, 480))
    signed = _signed(alice, team, attachment)

    kept = Image.open(io.BytesIO(body(download(signed["url"]))))
    thumbnail = Image.open(io.BytesIO(body(download(signed["thumbnail_url"]))))

    assert kept.format == "JPEG"
    assert dict(kept.getexif()) == {}  # no camera, no place, no orientation
    assert kept.size == (480, 640)  # turned as the orientation said, then stored upright
    assert (attachment["width"], attachment["height"]) == (480, 640)
    assert thumbnail.format == "WEBP"
    assert max(thumbnail.size) == 320


@pytest.mark.parametrize("image_format", ["PNG", "GIF", "WEBP"])
def test_every_image_format_we_show_is_reencoded_without_metadata(
    api_for: Api, team: Chat, user: User, image_format: str
) -> None:
    alice = api_for(user)
    attachment = uploaded(alice, team, "x.bin", photo(40, 30, image_format=image_format))

    kept = Image.open(io.BytesIO(body(download(_signed(alice, team, attachment)["url"]))))

    assert attachment["content_type"] == f"image/{image_format.lower()}"
    assert kept.format == image_format
    assert dict(kept.getexif()) == {}


def test_an_animated_gif_keeps_its_frames(api_for: Api, team: Chat, user: User) -> None:
    frames = [Image.new("RGB", (20, 20), (n * 60, 0, 0)) for n in range(4)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    alice = api_for(user)
    attachment = uploaded(alice, team, "wave.gif", out.getvalue())

    kept = Image.open(io.BytesIO(body(download(_signed(alice, team, attachment)["url"]))))

    assert getattr(kept, "n_frames", 1) == 4


def test_a_truncated_image_is_refused(api: APIClient, team: Chat, file_store: Path) -> None:
    whole = photo(800, 600)

    response = upload(api, team, "cut.jpg", whole[: len(whole) // 2])

    assert response.status_code == 400
    assert "damaged" in response.json()["file"][0]
    assert stored(file_store) == []


def test_a_decompression_bomb_is_refused_before_it_is_decoded(
    api: APIClient, team: Chat, file_store: Path
) -> None:
    response = upload(api, team, "bomb.png", png_bomb())

    assert response.status_code == 400
    assert "pixels" in response.json()["file"][0]
    assert stored(file_store) == []


def test_refusing_a_decompression_bomb_takes_no_more_memory_than_a_small_image(
    tmp_path: Path,
) -> None:
    """Measured in a process of its own: the peak resident size of reading each file."""
    peaks = {}
    for name, data in {"small": png(), "bomb": png_bomb()}.items():
        path = tmp_path / name
        path.write_bytes(data)
        peaks[name] = int(
            subprocess.run(  # noqa: S603 - our interpreter, our script
                [sys.executable, "-c", PEAK_RSS_OF_PREPARE, str(path)],
                capture_output=True,
                check=True,
                text=True,
                cwd=ROOT,
                env={**os.environ, "DJANGO_SETTINGS_MODULE": "chatproject.settings"},
            ).stdout
        )

    assert peaks["bomb"] - peaks["small"] < 20 * 1024  # KiB: the bomb decodes to 100 MB


PEAK_RSS_OF_PREPARE = """
import resource, sys, django
django.setup()
from django.core.files.uploadedfile import SimpleUploadedFile
from chats import files
data = open(sys.argv[1], "rb").read()
try:
    files.prepare(SimpleUploadedFile("f.png", data))
except files.Unusable:
    pass
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


# --- Size and quota -------------------------------------------------------------------------------


@override_settings(ATTACHMENT_MAX_BYTES=1000, ATTACHMENT_BODY_MAX_BYTES=1000 + 64 * 1024)
def test_a_file_over_the_limit_is_a_413(api: APIClient, team: Chat, file_store: Path) -> None:
    response = upload(api, team, "big.bin", os.urandom(1001))

    assert response.status_code == 413
    assert stored(file_store) == []
    assert upload(api, team, "ok.bin", os.urandom(1000)).status_code == 201


@override_settings(ATTACHMENT_BODY_MAX_BYTES=100_000)
def test_a_body_over_the_limit_is_refused_by_its_content_length_before_it_is_read(
    api: APIClient, team: Chat
) -> None:
    response = announced(api, team, length=100_001)

    assert response.status_code == 413


def announced(api: APIClient, chat: Chat, *, length: int) -> Any:
    """An upload whose Content-Length says `length`, with no body to read behind it: only a
    refusal by the header answers it as it should."""
    return api.post(
        f"/api/chats/{chat.pk}/attachments/",
        b"not even multipart",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(length),
    )


def test_other_paths_keep_the_small_body_limit(api: APIClient, team: Chat) -> None:
    response = api.post(
        f"/api/chats/{team.pk}/messages/",
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH=str(256 * 1024 + 1),
    )

    assert response.status_code == 413


@override_settings(ATTACHMENT_QUOTA_BYTES=3000)
def test_my_files_together_stay_within_my_quota(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    alice = api_for(user)
    first = uploaded(alice, team, "1.bin", os.urandom(1500))
    posted(alice, team, first["id"])
    uploaded(alice, team, "2.bin", os.urandom(1500))

    refused = upload(alice, team, "3.bin", os.urandom(10))
    bobs = upload(api_for(other_user), team, "b.bin", os.urandom(1500))
    message_delete(message=Message.objects.get(pk=first_message_id(first)), actor=user)
    after_delete = upload(alice, team, "3.bin", os.urandom(10))

    assert refused.status_code == 413
    assert "quota" in refused.json()["detail"]
    assert bobs.status_code == 201  # a quota is each user's own
    assert after_delete.status_code == 201  # a deleted message's files free their room


def first_message_id(attachment: dict[str, Any]) -> int:
    return int(Attachment.objects.values_list("message_id", flat=True).get(pk=attachment["id"]))


@override_settings(ATTACHMENT_QUOTA_BYTES=3000)
def test_a_quota_is_refused_by_content_length_before_the_file_is_parsed(
    api: APIClient, team: Chat
) -> None:
    response = announced(api, team, length=64 * 1024 + 3001)

    assert response.status_code == 413
    assert "quota" in response.json()["detail"]


def test_uploads_are_limited_per_user(api: APIClient, team: Chat, throttle_rates: Any) -> None:
    with throttle_rates(upload="2/min"):
        statuses = [upload(api, team, f"{n}.png", png()).status_code for n in range(3)]

    assert statuses == [201, 201, 429]


def test_an_upload_sent_again_with_its_idempotency_key_stores_one_file(
    api: APIClient, team: Chat, file_store: Path
) -> None:
    first = upload(api, team, "a.png", png(), HTTP_IDEMPOTENCY_KEY="upload-1")
    again = upload(api, team, "a.png", png(), HTTP_IDEMPOTENCY_KEY="upload-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert Attachment.objects.count() == 1
    assert len(stored(file_store)) == 2  # the image and its thumbnail


# --- Who may download -----------------------------------------------------------------------------


def _signed(api: APIClient, chat: Chat, attachment: dict[str, Any]) -> dict[str, Any]:
    """The attachment with its URLs as the upload answer gave them to its uploader."""
    assert attachment["url"].startswith(f"/api/attachments/{attachment['id']}/?grant=")
    return attachment


@pytest.fixture
def shared(api_for: Api, team: Chat, user: User) -> dict[str, Any]:
    """A picture Alice posted in the team."""
    alice = api_for(user)
    attachment = uploaded(alice, team, "hike.png", png())
    return posted(alice, team, attachment["id"], text="the view")


def test_each_member_gets_a_url_of_their_own(
    api_for: Api, team: Chat, user: User, other_user: User, shared: dict[str, Any]
) -> None:
    (alices,) = files_seen_by(api_for(user), team, shared["id"])
    (bobs,) = files_seen_by(api_for(other_user), team, shared["id"])

    assert alices["url"] != bobs["url"]
    assert download(alices["url"]).status_code == 200
    assert download(bobs["url"]).status_code == 200
    assert download(bobs["thumbnail_url"]).status_code == 200


def test_a_url_tampered_with_or_without_its_grant_is_a_403(
    api_for: Api, team: Chat, other_user: User, shared: dict[str, Any]
) -> None:
    (bobs,) = files_seen_by(api_for(other_user), team, shared["id"])
    path, grant = bobs["url"].split("?grant=")
    other_id = int(path.rstrip("/").rsplit("/", 1)[1]) + 1

    for url in [
        path,
        f"{path}?grant=",
        f"{path}?grant={grant[:-2]}xx",
        f"{path}?grant=x{grant}",
        f"/api/attachments/{other_id}/?grant={grant}",  # the grant is for one file only
    ]:
        assert download(url).status_code == 403, url


def test_a_url_expires_within_the_hour(
    api_for: Api, team: Chat, other_user: User, shared: dict[str, Any], monkeypatch: Any
) -> None:
    (bobs,) = files_seen_by(api_for(other_user), team, shared["id"])
    later = timezone.now() + timedelta(hours=1, seconds=1)
    monkeypatch.setattr("chats.downloads.time.time", lambda: later.timestamp())

    assert download(bobs["url"]).status_code == 403


def test_a_member_removed_from_the_chat_gets_nothing_more(
    api_for: Api, team: Chat, user: User, other_user: User, shared: dict[str, Any]
) -> None:
    (bobs,) = files_seen_by(api_for(other_user), team, shared["id"])

    member_remove(chat=team, actor=user, user_id=other_user.pk)

    assert download(bobs["url"]).status_code == 404


def test_a_url_of_a_session_that_ended_gets_nothing(
    api_for: Api, team: Chat, other_user: User, shared: dict[str, Any]
) -> None:
    bob = api_for(other_user)
    (bobs,) = files_seen_by(bob, team, shared["id"])
    (session,) = bob.get("/api/auth/sessions/").json()
    session_id = session["id"]

    login_session_end_mine(user=other_user, session_id=session_id)

    assert download(bobs["url"]).status_code == 403


def test_a_url_given_before_a_password_change_gets_nothing(
    api_for: Api, team: Chat, other_user: User, shared: dict[str, Any]
) -> None:
    (bobs,) = files_seen_by(api_for(other_user), team, shared["id"])

    other_user.set_password("a completely new passphrase 42")
    other_user.save()

    assert download(bobs["url"]).status_code == 403


def test_an_upload_not_posted_yet_is_its_uploader_s_alone(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    attachment = uploaded(api_for(user), team, "draft.png", png())
    grant = parse_qs(urlsplit(attachment["url"]).query)["grant"][0]

    assert download(attachment["url"]).status_code == 200
    bobs_try = download(f"/api/attachments/{attachment['id']}/?grant={grant}x")
    assert bobs_try.status_code == 403


# --- Lifecycle ------------------------------------------------------------------------------------


def test_an_author_s_delete_erases_the_files_from_the_store(
    api_for: Api,
    team: Chat,
    user: User,
    other_user: User,
    file_store: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    alice = api_for(user)
    kept = uploaded(alice, team, "keep.png", png())
    posted(alice, team, kept["id"])
    attachment = uploaded(alice, team, "oops.png", png())
    message = posted(alice, team, attachment["id"])
    (bobs,) = files_seen_by(api_for(other_user), team, message["id"])
    before = stored(file_store)

    with django_capture_on_commit_callbacks(execute=True):
        deleted = alice.delete(f"/api/chats/{team.pk}/messages/{message['id']}/")

    assert deleted.status_code == 204
    assert len(before) == 4
    assert len(stored(file_store)) == 2  # the kept image and its thumbnail
    assert not Attachment.objects.filter(pk=attachment["id"]).exists()
    assert files_seen_by(alice, team, message["id"]) == []
    assert download(bobs["url"]).status_code == 404


def test_a_moderator_s_removal_hides_the_files_and_a_restore_brings_them_back(
    api_for: Api, team: Chat, user: User, other_user: User, make_user: MakeUser, file_store: Path
) -> None:
    alice = api_for(user)
    attachment = uploaded(alice, team, "borderline.png", png())
    message = posted(alice, team, attachment["id"])
    (bobs,) = files_seen_by(api_for(other_user), team, message["id"])
    moderator = make_user(is_staff=True, is_superuser=True)
    row = Message.objects.get(pk=message["id"])

    message_remove(message=row, moderator=moderator, reason="checking")
    hidden = (files_seen_by(alice, team, message["id"]), download(bobs["url"]).status_code)
    message_restore(message=row, moderator=moderator)

    assert hidden == ([], 404)
    assert len(stored(file_store)) == 2  # kept, for the restore
    assert [a["id"] for a in files_seen_by(alice, team, message["id"])] == [attachment["id"]]
    assert download(bobs["url"]).status_code == 200


def test_uploads_never_posted_are_swept_after_a_day(
    api: APIClient, team: Chat, file_store: Path, django_capture_on_commit_callbacks: Any
) -> None:
    old = uploaded(api, team, "forgotten.png", png())
    posted_long_ago = uploaded(api, team, "posted.png", png())
    posted(api, team, posted_long_ago["id"])
    fresh = uploaded(api, team, "fresh.bin", b"just now")
    a_day_ago = timezone.now() - timedelta(days=1, minutes=1)
    Attachment.objects.filter(pk__in=[old["id"], posted_long_ago["id"]]).update(created=a_day_ago)

    with django_capture_on_commit_callbacks(execute=True):
        swept = attachments_sweep()

    assert swept == 1
    assert set(Attachment.objects.values_list("pk", flat=True)) == {
        posted_long_ago["id"],
        fresh["id"],
    }
    assert len(stored(file_store)) == 3  # the posted image and thumbnail, and the fresh file


def test_deleting_a_chat_erases_its_files(
    api: APIClient,
    user: User,
    other_user: User,
    file_store: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    chat = chat_factory(user, [other_user])
    posted(api, chat, uploaded(api, chat, "a.png", png())["id"])
    uploaded(api, chat, "b.bin", b"unposted")

    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/chats/{chat.pk}/").status_code == 204

    assert stored(file_store) == []


# --- Everywhere a message shows -------------------------------------------------------------------


def test_the_files_show_wherever_the_message_does(
    api_for: Api, team: Chat, user: User, other_user: User, shared: dict[str, Any]
) -> None:
    bob = api_for(other_user)
    (in_history,) = files_seen_by(bob, team, shared["id"])
    (listed,) = bob.get("/api/chats/").json()["results"]
    detail = bob.get(f"/api/chats/{team.pk}/").json()
    feed = bob.get(f"/api/chats/{team.pk}/changes/", {"since": 0}).json()
    (found,) = bob.get("/api/messages/search/", {"q": "view"}).json()["results"]

    shown = [
        listed["last_message"]["attachments"],
        detail["chat"]["last_message"]["attachments"],
        detail["messages"][-1]["attachments"],
        [m for m in feed["messages"] if m["id"] == shared["id"]][0]["attachments"],
        found["attachments"],
    ]
    for attachments in shown:
        (attachment,) = attachments
        assert {k: v for k, v in attachment.items() if not k.endswith("url")} == {
            k: v for k, v in in_history.items() if not k.endswith("url")
        }
        assert download(attachment["url"]).status_code == 200


@pytest.mark.parametrize("rows", [1, 50])
def test_a_history_page_with_files_costs_the_same_for_1_or_50_messages(
    api: APIClient,
    team: Chat,
    user: User,
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for n in range(rows):
        ids = [
            Attachment.objects.create(
                chat=team,
                uploader=user,
                name=f"{n}-{k}.bin",
                content_type="x/y",
                size=1,
                key=f"{team.pk}/{n}-{k}",
            ).pk
            for k in range(2)
        ]
        posted(api, team, *ids)

    with django_assert_max_num_queries(HISTORY_QUERIES):
        response = api.get(f"/api/chats/{team.pk}/messages/", {"limit": 50})

    results = response.json()["results"]
    assert len(results) == rows
    assert all(len(message["attachments"]) == 2 for message in results)


# Authentication, the chat with its membership check, the page of messages, and their files in
# one more (tests/chats/test_query_counts.py); the URLs are signed without a query.
HISTORY_QUERIES = 4


@override_settings(ATTACHMENT_ACCEL_REDIRECT="/protected-attachments/")
def test_behind_nginx_the_app_checks_access_and_hands_the_bytes_to_the_proxy(
    api_for: Api, team: Chat, other_user: User, shared: dict[str, Any]
) -> None:
    (bobs,) = files_seen_by(api_for(other_user), team, shared["id"])
    key = Attachment.objects.get(pk=bobs["id"]).key

    response = download(bobs["url"])

    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-attachments/{key}"
    assert response["Content-Type"] == "image/png"
    assert response.content == b""
    assert download(bobs["url"] + "x").status_code == 403  # no header for a refused one
