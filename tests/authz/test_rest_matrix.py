"""The REST authorization matrix: every endpoint under /api/, each method, for every kind of caller.

The expectations come from API.md: 401 without a valid token, 404 for a chat the caller is not in
(never a hint that it exists), 403 for a member whose role does not allow the action. Each request
aims at someone else's object (see world.py for the cast), so the object-level checks run, not
only the chat-level ones. A request that is refused must leave the database exactly as it was; one
that succeeds must do what it says and touch only what it should.

Columns: anonymous, deactivated, non-member, member, admin, owner, staff. `-` marks a cell that
cannot exist (an anonymous caller has no password to sign in with; a direct chat has no admin).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.models import User
from chats.models import (
    Attachment,
    ChatType,
    Membership,
    Message,
    Reaction,
    Report,
    Role,
    ScheduledMessage,
)
from tests.authz.world import (
    FILE_BYTES,
    REACTION,
    Cell,
    World,
    params,
    snapshot,
    table,
    world_build,
)
from tests.factories import PASSWORD

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as Response

NEW_PASSWORD = "a-brand-new-horse-battery"  # noqa: S105

# --- Accounts, users and everything not inside one chat (in the world of a group) -------------
# Register, token and refresh take credentials in the body and no Authorization header, so a
# stale token in the header changes nothing there. The schema and the docs need no token, but a
# bad one is still a 401, as everywhere else.
ACCOUNT = table(
    "account",
    """
    # request                                    anon deact non-member member admin owner staff
    POST   auth/register/                      | 201  201   201        201    201   201   201
    POST   auth/token/                         | -    401   200        200    200   200   200
    POST   auth/token/refresh/                 | -    401   200        200    200   200   200
    POST   auth/logout/                        | 401  401   204        204    204   204   204
    POST   auth/logout/ (another user's token) | 401  401   400        400    400   400   400
    GET    users/me/                           | 401  401   200        200    200   200   200
    PATCH  users/me/                           | 401  401   200        200    200   200   200
    POST   users/me/password/                  | 401  401   200        200    200   200   200
    GET    users/?search=tom                   | 401  401   200        200    200   200   200
    GET    users/{target}/                     | 401  401   200        200    200   200   200
    GET    chats/                              | 401  401   200        200    200   200   200
    POST   chats/                              | 401  401   201        201    201   201   201
    POST   chats/ (direct)                     | 401  401   201        201    201   201   201
    GET    messages/search/?q=sun              | 401  401   200        200    200   200   200
    GET    schema/                             | 200  401   200        200    200   200   200
    GET    docs/                               | 200  401   200        200    200   200   200
    """,
)

# --- One chat's endpoints, per chat type -------------------------------------------------------
# Tom's scheduled message is his alone: nobody else, not even the owner, learns it exists (404).
# Tom's file (`{download}`) is fetched by the URL the caller's client was given, signed for them:
# without one (anonymous), or for a deactivated account, 403; for anyone not in the chat, 404.
# Every member reacts (`{reaction}` is Tom's message's 👍) and sets their own notifications; the
# group has fewer than 10 members, so everyone in it pins, as in a direct chat, but in a channel
# only the owner and admins do.
GROUP = table(
    "group",
    """
    # request                                      anon deact non-member member admin owner staff
    GET    chats/{chat}/                         | 401  401   404        200    200   200   404
    PATCH  chats/{chat}/                         | 401  401   404        403    200   200   404
    DELETE chats/{chat}/                         | 401  401   404        403    403   204   404
    POST   chats/{chat}/read/                    | 401  401   404        204    204   204   404
    GET    chats/{chat}/members/                 | 401  401   404        200    200   200   404
    POST   chats/{chat}/members/                 | 401  401   404        403    201   201   404
    POST   chats/{chat}/members/ (as admin)      | 401  401   404        403    403   201   404
    PATCH  chats/{chat}/members/{target}/        | 401  401   404        403    403   200   404
    DELETE chats/{chat}/members/{target}/        | 401  401   404        403    204   204   404
    DELETE chats/{chat}/members/{me}/            | 401  401   404        204    204   204   404
    DELETE chats/{chat}/members/{owner}/         | 401  401   404        403    403   204   404
    GET    chats/{chat}/messages/                | 401  401   404        200    200   200   404
    POST   chats/{chat}/messages/                | 401  401   404        201    201   201   404
    PATCH  chats/{chat}/messages/{msg}/          | 401  401   404        403    403   403   404
    DELETE chats/{chat}/messages/{msg}/          | 401  401   404        403    204   204   404
    POST   chats/{chat}/messages/{msg}/report/   | 401  401   404        201    201   201   404
    GET    chats/{chat}/scheduled/               | 401  401   404        200    200   200   404
    POST   chats/{chat}/scheduled/               | 401  401   404        201    201   201   404
    GET    chats/{chat}/scheduled/{sched}/       | 401  401   404        404    404   404   404
    PATCH  chats/{chat}/scheduled/{sched}/       | 401  401   404        404    404   404   404
    DELETE chats/{chat}/scheduled/{sched}/       | 401  401   404        404    404   404   404
    GET    messages/search/?q=sun&chat_id={chat} | 401  401   404        200    200   200   404
    PATCH  chats/{chat}/settings/                | 401  401   404        200    200   200   404
    GET    chats/{chat}/pins/                    | 401  401   404        200    200   200   404
    PUT    chats/{chat}/pins/{msg}/              | 401  401   404        204    204   204   404
    DELETE chats/{chat}/pins/{msg}/              | 401  401   404        204    204   204   404
    GET    chats/{chat}/messages/{msg}/seen/     | 401  401   404        200    200   200   404
    PUT    chats/{chat}/{reaction}/              | 401  401   404        204    204   204   404
    DELETE chats/{chat}/{reaction}/              | 401  401   404        204    204   204   404
    POST   chats/{chat}/attachments/             | 401  401   404        201    201   201   404
    GET    {download}                            | 403  403   404        200    200   200   404
    """,
    ChatType.GROUP,
)

# A channel differs in one thing: only the owner and admins post, now or scheduled for later.
CHANNEL = table(
    "channel",
    """
    # request                                      anon deact non-member member admin owner staff
    GET    chats/{chat}/                         | 401  401   404        200    200   200   404
    PATCH  chats/{chat}/                         | 401  401   404        403    200   200   404
    DELETE chats/{chat}/                         | 401  401   404        403    403   204   404
    POST   chats/{chat}/read/                    | 401  401   404        204    204   204   404
    GET    chats/{chat}/members/                 | 401  401   404        200    200   200   404
    POST   chats/{chat}/members/                 | 401  401   404        403    201   201   404
    POST   chats/{chat}/members/ (as admin)      | 401  401   404        403    403   201   404
    PATCH  chats/{chat}/members/{target}/        | 401  401   404        403    403   200   404
    DELETE chats/{chat}/members/{target}/        | 401  401   404        403    204   204   404
    DELETE chats/{chat}/members/{me}/            | 401  401   404        204    204   204   404
    DELETE chats/{chat}/members/{owner}/         | 401  401   404        403    403   204   404
    GET    chats/{chat}/messages/                | 401  401   404        200    200   200   404
    POST   chats/{chat}/messages/                | 401  401   404        403    201   201   404
    PATCH  chats/{chat}/messages/{msg}/          | 401  401   404        403    403   403   404
    DELETE chats/{chat}/messages/{msg}/          | 401  401   404        403    204   204   404
    POST   chats/{chat}/messages/{msg}/report/   | 401  401   404        201    201   201   404
    GET    chats/{chat}/scheduled/               | 401  401   404        200    200   200   404
    POST   chats/{chat}/scheduled/               | 401  401   404        403    201   201   404
    GET    chats/{chat}/scheduled/{sched}/       | 401  401   404        404    404   404   404
    PATCH  chats/{chat}/scheduled/{sched}/       | 401  401   404        404    404   404   404
    DELETE chats/{chat}/scheduled/{sched}/       | 401  401   404        404    404   404   404
    GET    messages/search/?q=sun&chat_id={chat} | 401  401   404        200    200   200   404
    PATCH  chats/{chat}/settings/                | 401  401   404        200    200   200   404
    GET    chats/{chat}/pins/                    | 401  401   404        200    200   200   404
    PUT    chats/{chat}/pins/{msg}/              | 401  401   404        403    204   204   404
    DELETE chats/{chat}/pins/{msg}/              | 401  401   404        403    204   204   404
    GET    chats/{chat}/messages/{msg}/seen/     | 401  401   404        200    200   200   404
    PUT    chats/{chat}/{reaction}/              | 401  401   404        204    204   204   404
    DELETE chats/{chat}/{reaction}/              | 401  401   404        204    204   204   404
    POST   chats/{chat}/attachments/             | 401  401   404        403    201   201   404
    GET    {download}                            | 403  403   404        200    200   200   404
    """,
    ChatType.CHANNEL,
)

# Only the owner changes roles (API.md), so an admin may not remove the owner either: that would
# hand the chat to someone else. The owner removing themselves is leaving (204, an admin inherits).
# A direct chat always has exactly its two members: nobody joins or leaves (400), and neither of
# the two has power over the other: no roles, no deleting the other's messages or the chat (403,
# before the chat's kind even matters). Olivia opened it, yet she is a plain member like Mia; the
# "other user" is whichever of the two is not calling. Plain staff is no moderator (SECURITY.md).
DIRECT = table(
    "direct",
    """
    # request                                      anon deact non-member member admin owner staff
    GET    chats/{chat}/                         | 401  401   404        200    -     200   404
    PATCH  chats/{chat}/                         | 401  401   404        403    -     403   404
    DELETE chats/{chat}/                         | 401  401   404        403    -     403   404
    POST   chats/{chat}/read/                    | 401  401   404        204    -     204   404
    GET    chats/{chat}/members/                 | 401  401   404        200    -     200   404
    POST   chats/{chat}/members/                 | 401  401   404        403    -     403   404
    POST   chats/{chat}/members/ (as admin)      | 401  401   404        403    -     403   404
    PATCH  chats/{chat}/members/{target}/        | 401  401   404        403    -     403   404
    DELETE chats/{chat}/members/{target}/        | 401  401   404        403    -     403   404
    DELETE chats/{chat}/members/{me}/            | 401  401   404        400    -     400   404
    GET    chats/{chat}/messages/                | 401  401   404        200    -     200   404
    POST   chats/{chat}/messages/                | 401  401   404        201    -     201   404
    PATCH  chats/{chat}/messages/{msg}/          | 401  401   404        403    -     403   404
    DELETE chats/{chat}/messages/{msg}/          | 401  401   404        403    -     403   404
    POST   chats/{chat}/messages/{msg}/report/   | 401  401   404        201    -     201   404
    GET    chats/{chat}/scheduled/               | 401  401   404        200    -     200   404
    POST   chats/{chat}/scheduled/               | 401  401   404        201    -     201   404
    GET    chats/{chat}/scheduled/{sched}/       | 401  401   404        404    -     404   404
    PATCH  chats/{chat}/scheduled/{sched}/       | 401  401   404        404    -     404   404
    DELETE chats/{chat}/scheduled/{sched}/       | 401  401   404        404    -     404   404
    GET    messages/search/?q=sun&chat_id={chat} | 401  401   404        200    -     200   404
    PATCH  chats/{chat}/settings/                | 401  401   404        200    -     200   404
    GET    chats/{chat}/pins/                    | 401  401   404        200    -     200   404
    PUT    chats/{chat}/pins/{msg}/              | 401  401   404        204    -     204   404
    DELETE chats/{chat}/pins/{msg}/              | 401  401   404        204    -     204   404
    GET    chats/{chat}/messages/{msg}/seen/     | 401  401   404        200    -     200   404
    PUT    chats/{chat}/{reaction}/              | 401  401   404        204    -     204   404
    DELETE chats/{chat}/{reaction}/              | 401  401   404        204    -     204   404
    POST   chats/{chat}/attachments/             | 401  401   404        201    -     201   404
    GET    {download}                            | 403  403   404        200    -     200   404
    """,
    ChatType.DIRECT,
)


# --- Ids from another chat ---------------------------------------------------------------------
# The caller's own group with Tom's message, scheduled message or membership from the Harbour
# chat: the object is not in that chat, so it does not exist there, whoever asks (staff too).
CROSSED = table(
    "crossed ids",
    """
    # request                                    anon deact non-member member admin owner staff
    GET    chats/{mine}/scheduled/{sched}/     | 401  401   404        404    404   404   404
    PATCH  chats/{mine}/scheduled/{sched}/     | 401  401   404        404    404   404   404
    DELETE chats/{mine}/scheduled/{sched}/     | 401  401   404        404    404   404   404
    PATCH  chats/{mine}/messages/{msg}/        | 401  401   404        404    404   404   404
    DELETE chats/{mine}/messages/{msg}/        | 401  401   404        404    404   404   404
    POST   chats/{mine}/messages/{msg}/report/ | 401  401   404        404    404   404   404
    PATCH  chats/{mine}/members/{target}/      | 401  401   404        404    404   404   404
    DELETE chats/{mine}/members/{target}/      | 401  401   404        404    404   404   404
    """,
)


# --- What each request sends ---------------------------------------------------------------------


def _tomorrow() -> str:
    return (timezone.now() + timedelta(days=1)).isoformat()


BODIES: dict[str, Callable[[World], dict[str, Any]]] = {
    "POST auth/register/": lambda w: {"login": "newbie", "password": NEW_PASSWORD, "name": "New"},
    "POST auth/token/": lambda w: {
        "login": w.caller.login if w.caller else "",
        "password": PASSWORD,
    },
    "POST auth/token/refresh/": lambda w: {"refresh": w.refresh},
    "POST auth/logout/": lambda w: {"refresh": w.refresh or w.target_refresh},
    "POST auth/logout/ (another user's token)": lambda w: {"refresh": w.target_refresh},
    "PATCH users/me/": lambda w: {"name": "Renamed"},
    "POST users/me/password/": lambda w: {"old_password": PASSWORD, "new_password": NEW_PASSWORD},
    "POST chats/": lambda w: {
        "chat_type": "group",
        "title": "Mine",
        "member_ids": [w.users["tom"].pk],
    },
    "POST chats/ (direct)": lambda w: {"chat_type": "direct", "member_ids": [w.users["tom"].pk]},
    "PATCH chats/{chat}/": lambda w: {"title": "Renamed"},
    "PATCH chats/{chat}/settings/": lambda w: {"notify": "mentions"},
    "POST chats/{chat}/read/": lambda w: {"seq": w.message.seq},
    "POST chats/{chat}/members/": lambda w: {"user_id": w.users["nick"].pk},
    "POST chats/{chat}/members/ (as admin)": lambda w: {
        "user_id": w.users["nick"].pk,
        "role": "admin",
    },
    "PATCH chats/{chat}/members/{target}/": lambda w: {"role": "admin"},
    "PATCH chats/{mine}/members/{target}/": lambda w: {"role": "admin"},
    "POST chats/{chat}/messages/": lambda w: {"text": "hello"},
    "PATCH chats/{chat}/messages/{msg}/": lambda w: {"text": "hijacked"},
    "PATCH chats/{mine}/messages/{msg}/": lambda w: {"text": "hijacked"},
    "POST chats/{mine}/messages/{msg}/report/": lambda w: {"reason": "rude"},
    "POST chats/{chat}/messages/{msg}/report/": lambda w: {"reason": "rude"},
    "POST chats/{chat}/scheduled/": lambda w: {"text": "later", "send_at": _tomorrow()},
    "PATCH chats/{chat}/scheduled/{sched}/": lambda w: {"text": "hijacked"},
    "PATCH chats/{mine}/scheduled/{sched}/": lambda w: {"text": "hijacked"},
    "POST chats/{chat}/attachments/": lambda w: {"file": SimpleUploadedFile("a.txt", b"mine")},
}
# Bodies sent as a multipart form, not JSON.
MULTIPART = {"POST chats/{chat}/attachments/"}


# --- What a success must have done (and reads must show only what the caller may see) ----------


def _caller(w: World) -> User:
    assert w.caller is not None
    return w.caller


def _results(response: Response) -> list[dict[str, Any]]:
    return list(response.json()["results"])


def _check_chat_list(w: World, response: Response) -> None:
    listed = {chat["id"] for chat in _results(response)}
    assert (w.chat.pk in listed) == w.caller_is_member


def _check_search(w: World, response: Response) -> None:
    found = {message["id"] for message in _results(response)}
    assert (w.message.pk in found) == w.caller_is_member


def _check_scheduled_list(w: World, response: Response) -> None:
    # Members see their own scheduled messages only: never Tom's.
    assert [row["id"] for row in _results(response)] == []


def _check_history(w: World, response: Response) -> None:
    assert w.message.pk in {message["id"] for message in response.json()["results"]}


def _check_me(w: World, response: Response) -> None:
    assert w.caller is not None
    assert response.json()["id"] == w.caller.pk


def _check_renamed_me(w: World, response: Response) -> None:
    assert w.caller is not None
    w.caller.refresh_from_db()
    assert w.caller.name == "Renamed"
    assert User.objects.get(pk=w.target.pk).name == w.target.name


def _check_password(w: World, response: Response) -> None:
    assert w.caller is not None
    w.caller.refresh_from_db()
    assert w.caller.check_password(NEW_PASSWORD)


def _check_logout_own(w: World, response: Response) -> None:
    blacklisted = BlacklistedToken.objects.filter(token__token=w.refresh)
    others = BlacklistedToken.objects.filter(token__token=w.target_refresh)
    assert blacklisted.exists()
    assert not others.exists()


def _check_chat_renamed(w: World, response: Response) -> None:
    w.chat.refresh_from_db()
    assert w.chat.title == "Renamed"


def _check_chat_gone(w: World, response: Response) -> None:
    assert not type(w.chat).objects.filter(pk=w.chat.pk).exists()


def _check_read(w: World, response: Response) -> None:
    assert Membership.objects.get(chat=w.chat, user=w.caller).last_read_seq == w.message.seq


def _role_of(w: World, name: str) -> str | None:
    return (
        Membership.objects.filter(chat=w.chat, user=w.users[name])
        .values_list("role", flat=True)
        .first()
    )


def _check_newcomer(role: str) -> Callable[[World, Response], None]:
    def check(w: World, response: Response) -> None:
        assert _role_of(w, "nick") == role

    return check


def _check_target_promoted(w: World, response: Response) -> None:
    assert Membership.objects.get(chat=w.chat, user=w.target).role == Role.ADMIN


def _check_target_removed(w: World, response: Response) -> None:
    assert not Membership.objects.filter(chat=w.chat, user=w.target).exists()
    assert Membership.objects.filter(chat=w.chat, user=w.caller).exists()


def _check_owner_left(w: World, response: Response) -> None:
    # The owner left: Adam, the admin, owns the chat now.
    assert _role_of(w, "olivia") is None
    assert _role_of(w, "adam") == Role.OWNER


def _check_left(w: World, response: Response) -> None:
    assert not Membership.objects.filter(chat=w.chat, user=w.caller).exists()
    assert Membership.objects.filter(chat=w.chat, user=w.target).exists()


def _check_posted(w: World, response: Response) -> None:
    posted = Message.objects.get(pk=response.json()["id"])
    assert (posted.chat_id, posted.user_id, posted.text) == (w.chat.pk, _caller(w).pk, "hello")


def _check_tombstone(w: World, response: Response) -> None:
    w.message.refresh_from_db()
    assert w.message.deleted


def _check_reported(w: World, response: Response) -> None:
    report = Report.objects.get(pk=response.json()["id"])
    assert (report.message_id, report.reporter_id) == (w.message.pk, _caller(w).pk)
    if w.report is not None:  # Wendy's own report is hers, untouched
        assert report.pk != w.report.pk
        assert Report.objects.filter(
            pk=w.report.pk, reporter=w.users["wendy"], reason="spam"
        ).exists()


def _check_scheduled(w: World, response: Response) -> None:
    row = ScheduledMessage.objects.get(pk=response.json()["id"])
    assert (row.chat_id, row.user_id) == (w.chat.pk, _caller(w).pk)


def _members_of_new_chat(response: Response) -> set[tuple[int, str]]:
    chat_id = response.json()["id"]
    return set(Membership.objects.filter(chat_id=chat_id).values_list("user_id", "role"))


def _check_new_chat(w: World, response: Response) -> None:
    members = _members_of_new_chat(response)
    assert members == {(_caller(w).pk, Role.OWNER), (w.users["tom"].pk, Role.MEMBER)}


def _check_new_direct_chat(w: World, response: Response) -> None:
    members = _members_of_new_chat(response)
    assert members == {(_caller(w).pk, Role.MEMBER), (w.users["tom"].pk, Role.MEMBER)}


def _check_notify(w: World, response: Response) -> None:
    assert response.json()["notify"] == "mentions"
    assert Membership.objects.get(chat=w.chat, user=w.caller).notify == "mentions"
    assert Membership.objects.get(chat=w.chat, user=w.target).notify == "all"


def _check_pinned(pinned: bool) -> Callable[[World, Response], None]:
    def check(w: World, response: Response) -> None:
        w.message.refresh_from_db()
        assert (w.message.pinned_at is not None) is pinned

    return check


def _check_reacted(present: bool) -> Callable[[World, Response], None]:
    def check(w: World, response: Response) -> None:
        mine = Reaction.objects.filter(message=w.message, user=w.caller, emoji=REACTION)
        assert mine.exists() is present

    return check


def _check_uploaded(w: World, response: Response) -> None:
    upload = Attachment.objects.get(pk=response.json()["id"])
    assert (upload.chat_id, upload.uploader_id, upload.message_id) == (
        w.chat.pk,
        _caller(w).pk,
        None,
    )


def _check_downloaded(w: World, response: Response) -> None:
    assert b"".join(response.streaming_content) == FILE_BYTES  # type: ignore[attr-defined]


def _check_seen(w: World, response: Response) -> None:
    readers = {user["id"] for user in response.json()["users"]}
    assert w.message.user_id not in readers


EFFECTS: dict[str, Callable[[World, Response], None]] = {
    "POST chats/{chat}/attachments/": _check_uploaded,
    "GET {download}": _check_downloaded,
    "PATCH chats/{chat}/settings/": _check_notify,
    "PUT chats/{chat}/pins/{msg}/": _check_pinned(True),
    "DELETE chats/{chat}/pins/{msg}/": _check_pinned(False),
    "GET chats/{chat}/messages/{msg}/seen/": _check_seen,
    "PUT chats/{chat}/{reaction}/": _check_reacted(True),
    "DELETE chats/{chat}/{reaction}/": _check_reacted(False),
    "GET users/me/": _check_me,
    "PATCH users/me/": _check_renamed_me,
    "POST users/me/password/": _check_password,
    "POST auth/logout/": _check_logout_own,
    "GET chats/": _check_chat_list,
    "POST chats/": _check_new_chat,
    "POST chats/ (direct)": _check_new_direct_chat,
    "GET messages/search/?q=sun": _check_search,
    "GET messages/search/?q=sun&chat_id={chat}": _check_search,
    "PATCH chats/{chat}/": _check_chat_renamed,
    "DELETE chats/{chat}/": _check_chat_gone,
    "POST chats/{chat}/read/": _check_read,
    "POST chats/{chat}/members/": _check_newcomer(Role.MEMBER),
    "POST chats/{chat}/members/ (as admin)": _check_newcomer(Role.ADMIN),
    "PATCH chats/{chat}/members/{target}/": _check_target_promoted,
    "DELETE chats/{chat}/members/{target}/": _check_target_removed,
    "DELETE chats/{chat}/members/{me}/": _check_left,
    "DELETE chats/{chat}/members/{owner}/": _check_owner_left,
    "GET chats/{chat}/messages/": _check_history,
    "POST chats/{chat}/messages/": _check_posted,
    "DELETE chats/{chat}/messages/{msg}/": _check_tombstone,
    "POST chats/{chat}/messages/{msg}/report/": _check_reported,
    "GET chats/{chat}/scheduled/": _check_scheduled_list,
    "POST chats/{chat}/scheduled/": _check_scheduled,
}


@pytest.mark.parametrize("cell", params(ACCOUNT + GROUP + CHANNEL + DIRECT + CROSSED))
def test_each_caller_gets_what_api_md_promises(cell: Cell, db: None) -> None:
    """The caller of the column sends the request of the row and gets the status in the cell; a
    refused request changes nothing, an allowed one does exactly its job."""
    world = world_build(cell.chat_type, cell.column)
    method, path, *_ = cell.request.split(" ", 2)
    client = APIClient()
    if world.access:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.access}")
    body = BODIES.get(cell.request)
    assert body is not None or method in ("GET", "PUT", "DELETE"), f"no body for {cell.request}"
    before = snapshot()

    url = "/api/" + world.fill(path)
    send = getattr(client, method.lower())
    body_format = "multipart" if cell.request in MULTIPART else "json"
    response = send(url) if body is None else send(url, body(world), format=body_format)

    assert response.status_code == int(cell.expected), response.content[:300]
    if response.status_code >= 400 or method == "GET":
        assert snapshot() == before
    effect = EFFECTS.get(cell.request)
    if effect is not None and response.status_code < 400:
        effect(world, response)


def test_every_body_and_check_belongs_to_a_row() -> None:
    """A typo in a key would silently send no body or check nothing."""
    rows = {cell.request for cell in ACCOUNT + GROUP + CHANNEL + DIRECT + CROSSED}
    assert set(BODIES) <= rows
    assert set(EFFECTS) <= rows
