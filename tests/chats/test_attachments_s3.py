"""Attachments in an S3-compatible store (ATTACHMENT_STORAGE=s3), over real HTTP.

No S3 server is installable here as a kept package from Debian, PyPI or npm (MinIO and Garage are
neither), so the stand-in is moto's standalone server (`moto_server`, a dev dependency): a real
HTTP S3 API in a process of its own, which django-storages and boto3 talk to exactly as to
Amazon's or MinIO's. It starts for these tests and always runs. A store that goes down gives a
503 and leaves nothing half-done: no row, no message.
"""

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.files.storage import storages
from rest_framework.test import APIClient

from accounts.models import User
from chatproject.storage import s3_storage
from chats.models import Attachment, Chat, Message
from tests.chats.test_attachments import body, download, files_seen_by, png, post, upload
from tests.processes import free_port, wait_for_port

Api = Callable[[User], APIClient]

BUCKET = "chat-attachments"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test-secret"}


class S3Server:
    """moto_server on a free port, which a test may stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        moto = Path(sys.executable).with_name("moto_server")
        self.process = subprocess.Popen(  # noqa: S603 - the venv's own moto_server
            [str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def objects(self) -> list[str]:
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        listed = client.list_objects_v2(Bucket=BUCKET)
        return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture
def s3(settings: Any) -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    try:
        env = {
            **CREDENTIALS,
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_S3_ENDPOINT_URL": server.endpoint,
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_S3_CONNECT_TIMEOUT": "1",
            "AWS_S3_READ_TIMEOUT": "2",
        }
        settings.STORAGES = {**settings.STORAGES, "attachments": s3_storage(env)}
        storages["attachments"].connection.create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
        yield server
    finally:
        server.stop()


def test_a_file_goes_to_the_bucket_and_comes_back_to_a_member(
    api_for: Api, team: Chat, user: User, other_user: User, s3: S3Server
) -> None:
    alice = api_for(user)
    picture = png(64, 48)
    attachment = upload(alice, team, "view.png", picture).json()
    message = post(alice, team, attachment["id"]).json()

    (bobs,) = files_seen_by(api_for(other_user), team, message["id"])
    stored = Attachment.objects.get(pk=attachment["id"])

    assert s3.objects() == sorted([stored.key, stored.thumbnail_key])
    response = download(bobs["url"])
    assert response.status_code == 200
    assert body(response).startswith(b"\x89PNG")
    assert download(bobs["thumbnail_url"]).status_code == 200


def test_an_author_s_delete_erases_the_objects_from_the_bucket(
    api: APIClient, team: Chat, s3: S3Server, django_capture_on_commit_callbacks: Any
) -> None:
    message = post(api, team, upload(api, team, "a.png", png()).json()["id"]).json()

    with django_capture_on_commit_callbacks(execute=True):
        api.delete(f"/api/chats/{team.pk}/messages/{message['id']}/")

    assert s3.objects() == []


def test_a_store_that_is_down_gives_a_503_and_keeps_nothing(
    api: APIClient, team: Chat, s3: S3Server
) -> None:
    s3.stop()
    try:
        response = upload(api, team, "a.png", png())
    finally:
        s3.start()

    assert response.status_code == 503
    assert "file store" in response.json()["detail"]
    assert not Attachment.objects.exists()
    assert not Message.objects.filter(chat=team, attachment_count__gt=0).exists()


def test_a_download_while_the_store_is_down_is_a_503(
    api: APIClient, team: Chat, s3: S3Server
) -> None:
    attachment = upload(api, team, "a.bin", b"some bytes").json()

    s3.stop()
    try:
        response = download(attachment["url"])
    finally:
        s3.start()

    assert response.status_code == 503
