"""A moderator bans a user from the admin with a reason, and unbans them.

A ban deactivates the account: every refresh token stops working, every open socket closes with
4403 on every server process, and the audit trail records who, when and why.
"""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import AuditAction, AuditEntry
from tests.factories import PASSWORD
from tests.moderation.conftest import AdminFor, Event, run_action

REFRESH = "/api/auth/token/refresh/"


@pytest.fixture
def sign_in(anon: APIClient) -> Callable[[User], dict[str, str]]:
    def obtain(user: User) -> dict[str, str]:
        response = anon.post(
            "/api/auth/token/", {"login": user.login, "password": PASSWORD}, format="json"
        )
        assert response.status_code == 200
        tokens: dict[str, str] = response.json()
        return tokens

    return obtain


def test_a_moderator_bans_a_user_with_a_reason(
    admin_for: AdminFor,
    mo: User,
    mallory: User,
    anon: APIClient,
    sign_in: Callable[[User], dict[str, str]],
    sent_events: list[Event],
    django_capture_on_commit_callbacks: Any,
) -> None:
    phone, laptop = sign_in(mallory), sign_in(mallory)

    with django_capture_on_commit_callbacks(execute=True):
        shown = run_action(admin_for(mo), "accounts.user", "ban_users", [mallory], "spam bot")

    assert shown == ["Banned 1 user(s)."]
    mallory.refresh_from_db()
    assert mallory.is_active is False
    entry = AuditEntry.objects.get()
    assert (entry.moderator, entry.action, entry.target_user, entry.reason) == (
        mo,
        AuditAction.USER_BAN,
        mallory,
        "spam bot",
    )
    for tokens in (phone, laptop):
        assert anon.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401
    assert (f"user.{mallory.pk}", {"close": 4403}) in sent_events


def test_a_banned_users_access_token_stops_working_at_once(
    admin_for: AdminFor, mo: User, mallory: User, sign_in: Callable[[User], dict[str, str]]
) -> None:
    access = sign_in(mallory)["access"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    run_action(admin_for(mo), "accounts.user", "ban_users", [mallory], "spam bot")

    assert client.get("/api/users/me/").status_code == 401


def test_a_ban_without_a_reason_changes_nothing(
    admin_for: AdminFor, mo: User, mallory: User, sent_events: list[Event]
) -> None:
    shown = run_action(admin_for(mo), "accounts.user", "ban_users", [mallory], "   ")

    assert shown == ["Type the reason in the Reason box first. Nothing changed."]
    mallory.refresh_from_db()
    assert mallory.is_active is True
    assert not AuditEntry.objects.exists()


def test_a_moderator_bans_several_users_and_hears_about_each_refusal(
    admin_for: AdminFor, mo: User, mallory: User, dave: User, root: User
) -> None:
    shown = run_action(
        admin_for(mo), "accounts.user", "ban_users", [mallory, dave, root, mo], "raid"
    )

    assert sorted(shown) == sorted(
        [
            "Banned 2 user(s).",
            "root: Only a superuser may ban staff.",
            "mo: You cannot ban yourself.",
        ]
    )
    assert set(User.objects.filter(is_active=False)) == {mallory, dave}
    assert AuditEntry.objects.count() == 2


def test_a_superuser_may_ban_a_moderator(admin_for: AdminFor, root: User, mo: User) -> None:
    shown = run_action(admin_for(root), "accounts.user", "ban_users", [mo], "abused the tools")

    assert shown == ["Banned 1 user(s)."]
    mo.refresh_from_db()
    assert mo.is_active is False


def test_banning_a_banned_user_again_says_so(admin_for: AdminFor, mo: User, mallory: User) -> None:
    client = admin_for(mo)
    run_action(client, "accounts.user", "ban_users", [mallory], "spam")

    shown = run_action(client, "accounts.user", "ban_users", [mallory], "spam")

    assert shown == ["mallory: mallory is already deactivated."]
    assert AuditEntry.objects.count() == 1


def test_a_moderator_unbans_a_user_who_then_signs_in_again(
    admin_for: AdminFor,
    mo: User,
    mallory: User,
    anon: APIClient,
    sign_in: Callable[[User], dict[str, str]],
) -> None:
    old = sign_in(mallory)
    client = admin_for(mo)
    run_action(client, "accounts.user", "ban_users", [mallory], "spam")

    shown = run_action(client, "accounts.user", "unban_users", [mallory], "appealed")

    assert shown == ["Unbanned 1 user(s)."]
    mallory.refresh_from_db()
    assert mallory.is_active is True
    entry = AuditEntry.objects.latest("id")
    assert (entry.moderator, entry.action, entry.target_user, entry.reason) == (
        mo,
        AuditAction.USER_UNBAN,
        mallory,
        "appealed",
    )
    # The tokens from before the ban stay revoked; a fresh sign-in works.
    assert anon.post(REFRESH, {"refresh": old["refresh"]}, format="json").status_code == 401
    assert (
        anon.post(REFRESH, {"refresh": sign_in(mallory)["refresh"]}, format="json").status_code
        == 200
    )


def test_unbanning_an_active_user_says_so(admin_for: AdminFor, mo: User, mallory: User) -> None:
    shown = run_action(admin_for(mo), "accounts.user", "unban_users", [mallory])

    assert shown == ["mallory: mallory is not deactivated."]
    assert not AuditEntry.objects.exists()


def test_the_ban_actions_are_offered_with_a_reason_box(admin_for: AdminFor, mo: User) -> None:
    page = admin_for(mo).get("/admin/accounts/user/").content.decode()

    assert 'value="ban_users"' in page
    assert 'value="unban_users"' in page
    assert 'name="reason"' in page
    assert 'value="delete_selected"' not in page  # moderators delete nobody
