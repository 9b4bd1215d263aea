"""Whatever a client sends to the chat endpoints, the answer is a 4xx, never a 500, and nothing is
written."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, Membership, Message
from chats.services.messages import message_send

TOO_BIG_FOR_BIGINT = ["9223372036854775808", "99999999999999999999", "9" * 40]


@pytest.fixture
def message(group: Chat, user: User) -> Message:
    return message_send(chat=group, user=user, text="original")[0]


@pytest.fixture
def endpoints(group: Chat, message: Message, other_user: User) -> dict[str, tuple[str, str]]:
    """Every write of the chat API: (method, path)."""
    return {
        "chat create": ("post", "/api/chats/"),
        "chat update": ("patch", f"/api/chats/{group.pk}/"),
        "read": ("post", f"/api/chats/{group.pk}/read/"),
        "member add": ("post", f"/api/chats/{group.pk}/members/"),
        "member role": ("patch", f"/api/chats/{group.pk}/members/{other_user.pk}/"),
        "message post": ("post", f"/api/chats/{group.pk}/messages/"),
        "message edit": ("patch", f"/api/chats/{group.pk}/messages/{message.pk}/"),
    }


WRITES = pytest.mark.parametrize(
    "endpoint",
    [
        "chat create",
        "chat update",
        "read",
        "member add",
        "member role",
        "message post",
        "message edit",
    ],
)


def send_raw(client: APIClient, method: str, path: str, body: bytes | str) -> Any:
    return getattr(client, method)(path, body, content_type="application/json")


def assert_nothing_changed(group: Chat, message: Message) -> None:
    stored = Chat.objects.get(pk=group.pk)
    assert (stored.title, stored.description, stored.last_seq) == ("Team", "", 1)
    assert Chat.objects.count() == 1
    assert Membership.objects.filter(chat=group).count() == 2
    assert not Membership.objects.filter(chat=group, role="admin").exists()
    readers = Membership.objects.filter(chat=group, last_read_seq__gt=0)
    assert list(readers.values_list("user__login", flat=True)) == ["alice"]
    message.refresh_from_db()
    assert (message.text, message.edited) == ("original", False)
    assert Message.objects.count() == 1


# --- Malformed bodies ----------------------------------------------------------------------------


@WRITES
@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"text": "hi",}',
        b"{'text': 'hi'}",
        b'{"text": "\xff\xfe"}',
        b"NaN",
        b"[" * 5000 + b"]" * 5000,
        b'{"seq": ' + b"9" * 5000 + b"}",
    ],
    ids=["truncated", "trailing-comma", "single-quotes", "not-utf8", "nan", "deep", "huge-int"],
)
def test_malformed_json_is_refused(
    api: APIClient,
    endpoints: dict[str, tuple[str, str]],
    group: Chat,
    message: Message,
    endpoint: str,
    body: bytes,
) -> None:
    method, path = endpoints[endpoint]

    response = send_raw(api, method, path, body)

    assert response.status_code == 400
    assert "detail" in response.json()
    assert_nothing_changed(group, message)


@WRITES
@pytest.mark.parametrize("body", ["[]", '"text"', "null", "42", "true", '[{"text": "hi"}]'])
def test_a_body_that_is_not_an_object_is_refused(
    api: APIClient,
    endpoints: dict[str, tuple[str, str]],
    group: Chat,
    message: Message,
    endpoint: str,
    body: str,
) -> None:
    method, path = endpoints[endpoint]

    response = send_raw(api, method, path, body)

    assert response.status_code == 400
    assert_nothing_changed(group, message)


def test_a_body_over_256_kib_is_refused_with_413(
    api: APIClient, group: Chat, message: Message
) -> None:
    body = json.dumps({"text": "x" * (256 * 1024 + 1)})

    response = send_raw(api, "post", f"/api/chats/{group.pk}/messages/", body)

    assert response.status_code == 413
    assert_nothing_changed(group, message)


# --- Wrong types, missing and extra fields -------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "body", "field"),
    [
        ("message post", {"text": ["hi"]}, "text"),
        ("message post", {"text": 42}, "text"),
        ("message post", {"text": 4.2}, "text"),
        ("message post", {"text": True}, "text"),
        ("message post", {"text": {"en": "hi"}}, "text"),
        ("message post", {"text": None}, "text"),
        ("message post", {"text": "hi", "client_id": 7}, "client_id"),
        ("message post", {"text": "hi", "client_id": ["c-1"]}, "client_id"),
        ("message edit", {"text": ["hi"]}, "text"),
        ("message edit", {"text": 42}, "text"),
        ("message edit", {"text": None}, "text"),
        ("chat update", {"title": 42}, "title"),
        ("chat update", {"title": ["Team"]}, "title"),
        ("chat update", {"title": None}, "title"),
        ("chat update", {"description": 42}, "description"),
        ("chat update", {"description": None}, "description"),
        ("chat create", {"title": 42, "chat_type": "group"}, "title"),
        ("chat create", {"title": "T", "chat_type": ["group"]}, "chat_type"),
        ("chat create", {"title": "T", "chat_type": "forum"}, "chat_type"),
        ("chat create", {"title": "T", "chat_type": "group", "description": 7}, "description"),
        ("chat create", {"title": "T", "chat_type": "group", "member_ids": "2"}, "member_ids"),
        ("chat create", {"title": "T", "chat_type": "group", "member_ids": 2}, "member_ids"),
        ("chat create", {"title": "T", "chat_type": "group", "member_ids": {"a": 2}}, "member_ids"),
        ("chat create", {"title": "T", "chat_type": "group", "member_ids": [True]}, "member_ids"),
        ("chat create", {"title": "T", "chat_type": "group", "member_ids": [1.5]}, "member_ids"),
        ("chat create", {"title": "T", "chat_type": "group", "member_ids": [0]}, "member_ids"),
        ("chat create", {"title": "T", "chat_type": "group", "member_ids": [None]}, "member_ids"),
        ("chat create", {"title": "T", "chat_type": "group", "member_ids": [10**20]}, "member_ids"),
        ("member add", {"user_id": "abc"}, "user_id"),
        ("member add", {"user_id": [3]}, "user_id"),
        ("member add", {"user_id": True}, "user_id"),
        ("member add", {"user_id": None}, "user_id"),
        ("member add", {"user_id": -3}, "user_id"),
        ("member add", {"user_id": 10**20}, "user_id"),
        ("member add", {"user_id": 3, "role": "owner"}, "role"),
        ("member add", {"user_id": 3, "role": 1}, "role"),
        ("member role", {"role": ["admin"]}, "role"),
        ("member role", {"role": "Admin"}, "role"),
        ("read", {"seq": "one"}, "seq"),
        ("read", {"seq": [1]}, "seq"),
        ("read", {"seq": 10**20}, "seq"),
    ],
)
def test_wrong_types_are_refused(
    api: APIClient,
    endpoints: dict[str, tuple[str, str]],
    group: Chat,
    message: Message,
    endpoint: str,
    body: dict[str, object],
    field: str,
) -> None:
    method, path = endpoints[endpoint]

    response = getattr(api, method)(path, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert_nothing_changed(group, message)


@pytest.mark.parametrize(
    ("endpoint", "field"),
    [
        ("chat create", "chat_type"),
        ("member add", "user_id"),
        ("member role", "role"),
        ("message post", "text"),
        ("message edit", "text"),
        ("read", "seq"),
    ],
)
def test_missing_fields_are_named(
    api: APIClient,
    endpoints: dict[str, tuple[str, str]],
    group: Chat,
    message: Message,
    endpoint: str,
    field: str,
) -> None:
    method, path = endpoints[endpoint]

    response = getattr(api, method)(path, {}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert_nothing_changed(group, message)


@pytest.mark.parametrize(
    ("endpoint", "body", "extra"),
    [
        ("message post", {"text": "hi", "seq": 99}, "seq"),
        ("message post", {"text": "hi", "user_id": 2}, "user_id"),
        ("message post", {"text": "hi", "chat_id": 2}, "chat_id"),
        ("message post", {"text": "hi", "deleted": True}, "deleted"),
        ("message edit", {"text": "hi", "seq": 99}, "seq"),
        ("message edit", {"text": "hi", "user_id": 2}, "user_id"),
        ("message edit", {"text": "hi", "chat_id": 2}, "chat_id"),
        ("message edit", {"text": "hi", "edited": False}, "edited"),
        ("message edit", {"text": "hi", "client_id": "c-9"}, "client_id"),
        ("chat update", {"title": "X", "chat_type": "channel"}, "chat_type"),
        ("chat update", {"title": "X", "last_seq": 0}, "last_seq"),
        ("chat update", {"title": "X", "creator_user_id": 2}, "creator_user_id"),
        ("chat create", {"title": "X", "chat_type": "group", "id": 5}, "id"),
        ("chat create", {"title": "X", "chat_type": "group", "my_role": "member"}, "my_role"),
        ("member add", {"user_id": 3, "chat_id": 2}, "chat_id"),
        ("member role", {"role": "admin", "user_id": 3}, "user_id"),
        ("read", {"seq": 1, "user_id": 2}, "user_id"),
        ("message post", {"text": "hi", "te\u0000xt": "x"}, "te\u0000xt"),
    ],
)
def test_unknown_fields_are_refused_not_ignored(
    api: APIClient,
    endpoints: dict[str, tuple[str, str]],
    group: Chat,
    message: Message,
    endpoint: str,
    body: dict[str, object],
    extra: str,
) -> None:
    method, path = endpoints[endpoint]

    response = getattr(api, method)(path, body, format="json")

    assert response.status_code == 400
    assert extra in response.json()
    assert_nothing_changed(group, message)


# --- Text content --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "body", "field"),
    [
        ("message post", {"text": "nul\u0000byte"}, "text"),
        ("message post", {"text": "\u0000"}, "text"),
        ("message post", {"text": "hi", "client_id": "c\u00001"}, "client_id"),
        ("message edit", {"text": "nul\u0000byte"}, "text"),
        ("chat update", {"title": "nul\u0000"}, "title"),
        ("chat update", {"description": "nul\u0000"}, "description"),
        ("chat create", {"title": "nul\u0000", "chat_type": "group"}, "title"),
        ("message post", {"text": "lone \ud800 surrogate"}, "text"),
        ("message edit", {"text": "\udfff"}, "text"),
        ("chat update", {"title": "\ud83d"}, "title"),
    ],
    ids=[
        "post-nul",
        "post-only-nul",
        "client-id-nul",
        "edit-nul",
        "title-nul",
        "description-nul",
        "create-title-nul",
        "post-surrogate",
        "edit-surrogate",
        "title-surrogate",
    ],
)
def test_nul_bytes_and_lone_surrogates_are_refused(
    api: APIClient,
    endpoints: dict[str, tuple[str, str]],
    group: Chat,
    message: Message,
    endpoint: str,
    body: dict[str, object],
    field: str,
) -> None:
    method, path = endpoints[endpoint]

    response = send_raw(api, method, path, json.dumps(body))

    assert response.status_code == 400
    assert field in response.json()
    assert_nothing_changed(group, message)


def test_emoji_and_other_scripts_are_fine(api: APIClient, group: Chat) -> None:
    text = "Hi 👋🏽 — привет — 你好 — مرحبا"

    response = api.post(f"/api/chats/{group.pk}/messages/", {"text": text}, format="json")

    assert response.status_code == 201
    assert response.json()["text"] == text
    assert Message.objects.get(pk=response.json()["id"]).text == text


@pytest.mark.parametrize(
    ("field", "longest"), [("title", 200), ("description", 2000)], ids=["title", "description"]
)
def test_title_and_description_have_a_length_limit(
    api: APIClient, group: Chat, message: Message, field: str, longest: int
) -> None:
    too_long = api.patch(f"/api/chats/{group.pk}/", {field: "x" * (longest + 1)}, format="json")
    created = api.post(
        "/api/chats/",
        {"title": "T", "chat_type": "group", field: "x" * (longest + 1)},
        format="json",
    )

    assert too_long.status_code == 400
    assert field in too_long.json()
    assert created.status_code == 400
    assert field in created.json()
    assert_nothing_changed(group, message)

    just_fits = api.patch(f"/api/chats/{group.pk}/", {field: "x" * longest}, format="json")
    assert just_fits.status_code == 200
    assert just_fits.json()[field] == "x" * longest


# --- Unknown and impossible ids ------------------------------------------------------------------


@pytest.fixture
def paths_with_ids(group: Chat, message: Message, other_user: User) -> Callable[..., list[str]]:
    def paths(chat: str, message_id: str, user_id: str) -> list[str]:
        return [
            f"get /api/chats/{chat}/",
            f"patch /api/chats/{chat}/",
            f"delete /api/chats/{chat}/",
            f"post /api/chats/{chat}/read/",
            f"get /api/chats/{chat}/members/",
            f"post /api/chats/{chat}/members/",
            f"patch /api/chats/{chat}/members/{user_id}/",
            f"delete /api/chats/{chat}/members/{user_id}/",
            f"get /api/chats/{chat}/messages/",
            f"post /api/chats/{chat}/messages/",
            f"patch /api/chats/{chat}/messages/{message_id}/",
            f"delete /api/chats/{chat}/messages/{message_id}/",
        ]

    return paths


BODIES: dict[str, dict[str, object]] = {
    "read/": {"seq": 1},
    "members/": {"user_id": 1},
    "messages/": {"text": "hi"},
}


def call(client: APIClient, line: str) -> int:
    method, path = line.split(" ")
    body: dict[str, object] = {"title": "X", "role": "admin", "text": "hi"}
    for suffix, suffix_body in BODIES.items():
        if path.endswith(suffix):
            body = suffix_body
    if method in ("get", "delete"):
        return getattr(client, method)(path).status_code
    return getattr(client, method)(path, body, format="json").status_code


@pytest.mark.parametrize("chat_id", ["123456", "999999999999999999", *TOO_BIG_FOR_BIGINT, "0"])
def test_an_unknown_or_impossible_chat_id_is_404(
    api: APIClient,
    paths_with_ids: Callable[..., list[str]],
    group: Chat,
    message: Message,
    other_user: User,
    chat_id: str,
) -> None:
    for line in paths_with_ids(chat_id, str(message.pk), str(other_user.pk)):
        assert (line, call(api, line)) == (line, 404)
    assert_nothing_changed(group, message)


@pytest.mark.parametrize("message_id", ["123456", "999999999999999999", *TOO_BIG_FOR_BIGINT])
def test_an_unknown_or_impossible_message_id_is_404(
    api: APIClient, group: Chat, message: Message, message_id: str
) -> None:
    path = f"/api/chats/{group.pk}/messages/{message_id}/"

    assert api.patch(path, {"text": "x"}, format="json").status_code == 404
    assert api.delete(path).status_code == 404
    assert_nothing_changed(group, message)


@pytest.mark.parametrize("user_id", ["123456", "999999999999999999", *TOO_BIG_FOR_BIGINT])
def test_an_unknown_or_impossible_member_id_is_404(
    api: APIClient, group: Chat, message: Message, user_id: str
) -> None:
    path = f"/api/chats/{group.pk}/members/{user_id}/"

    assert api.patch(path, {"role": "admin"}, format="json").status_code == 404
    assert api.delete(path).status_code == 404
    assert_nothing_changed(group, message)


@pytest.mark.parametrize("bad", ["abc", "-1", "1.0", "%00", "1%20"])
def test_an_id_that_is_not_a_number_is_404(api: APIClient, group: Chat, bad: str) -> None:
    assert api.get(f"/api/chats/{bad}/").status_code == 404
    assert api.get(f"/api/chats/{bad}/messages/").status_code == 404
    assert (
        api.patch(
            f"/api/chats/{group.pk}/messages/{bad}/", {"text": "x"}, format="json"
        ).status_code
        == 404
    )


def test_a_search_for_an_impossible_chat_id_is_400(api: APIClient) -> None:
    for chat_id in TOO_BIG_FOR_BIGINT:
        response = api.get("/api/messages/search/", {"q": "hi", "chat_id": chat_id})
        assert response.status_code == 400


def test_a_search_with_a_nul_byte_is_refused(api: APIClient, group: Chat) -> None:
    response = api.get("/api/messages/search/", {"q": "hi\u0000there"})

    assert response.status_code == 400
    assert "q" in response.json()
