"""An upload runs off the process's database thread: while a photo is read, re-encoded and
stored, every other request (and socket) of the process goes on being served."""

import asyncio
import threading

import pytest
from channels.testing import HttpCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from accounts.services import tokens_issue
from chatproject.asgi import django_asgi_app
from chats import files
from tests.chats.test_attachments import png
from tests.factories import UserFactory, chat_factory
from tests.realtime.conftest import sync

pytestmark = pytest.mark.django_db(transaction=True)


async def test_other_requests_are_served_while_an_upload_is_processed(monkeypatch):
    user = await sync(UserFactory)()
    chat = await sync(chat_factory)(user, [])
    token = (await sync(tokens_issue)(user=user))["access"]
    auth = (b"authorization", f"Bearer {token}".encode())
    host = (b"host", b"localhost")
    processing, release = threading.Event(), threading.Event()
    prepare = files.prepare

    def slow_prepare(upload):
        processing.set()
        assert release.wait(10)
        return prepare(upload)

    monkeypatch.setattr(files, "prepare", slow_prepare)
    body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("a.png", png())})
    upload = HttpCommunicator(
        django_asgi_app,
        "POST",
        f"/api/chats/{chat.pk}/attachments/",
        body=body,
        headers=[
            host,
            auth,
            (b"content-type", MULTIPART_CONTENT.encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    )
    uploading = asyncio.ensure_future(upload.get_response(timeout=20))
    while not processing.is_set() and not uploading.done():
        await asyncio.sleep(0.01)

    assert not uploading.done(), uploading.result()
    me = await HttpCommunicator(
        django_asgi_app, "GET", "/api/users/me/", headers=[host, auth]
    ).get_response(timeout=5)
    release.set()
    uploaded = await uploading

    assert me["status"] == 200  # answered while the upload was still being processed
    assert uploaded["status"] == 201, uploaded["body"]
