"""Who may moderate. The "Moderators" group has just what moderation needs; only superusers
manage groups and permissions; and the services check the permission as well as the admin."""

import importlib

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group
from rest_framework import exceptions

from accounts.models import User
from chats.models import Message, Report
from chats.moderation.services import message_remove, report_create, report_dismiss, user_ban
from tests.moderation.conftest import AdminFor, MakeUser, changelist

MODERATOR_PERMISSIONS = {
    "accounts.view_user",
    "accounts.ban_user",
    "chats.view_chat",
    "chats.view_membership",
    "chats.view_message",
    "chats.remove_message",
    "chats.view_report",
    "chats.change_report",
    "chats.view_auditentry",
}
MODERATION_LISTS = [
    "accounts.user",
    "chats.chat",
    "chats.message",
    "chats.report",
    "chats.auditentry",
]


def test_the_moderators_group_has_exactly_the_permissions_moderation_needs(
    moderators: Group,
) -> None:
    granted = {
        f"{app_label}.{codename}"
        for app_label, codename in moderators.permissions.values_list(
            "content_type__app_label", "codename"
        )
    }

    assert granted == MODERATOR_PERMISSIONS


def test_the_group_migration_runs_again_without_changing_anything(moderators: Group) -> None:
    migration = importlib.import_module("chats.migrations.0007_moderators_group")
    before = set(moderators.permissions.values_list("pk", flat=True))

    migration.moderators_group_create(global_apps, None)

    assert Group.objects.filter(name="Moderators").count() == 1
    assert set(moderators.permissions.values_list("pk", flat=True)) == before


def test_a_moderator_has_no_auth_permissions(mo: User) -> None:
    assert mo.is_staff
    assert not mo.is_superuser
    assert mo.get_all_permissions() == MODERATOR_PERMISSIONS
    assert not any(permission.startswith("auth.") for permission in mo.get_all_permissions())


@pytest.mark.parametrize("model", MODERATION_LISTS)
def test_a_moderator_opens_the_moderation_lists(admin_for: AdminFor, mo: User, model: str) -> None:
    assert admin_for(mo).get(changelist(model)).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/admin/auth/group/",
        "/admin/auth/group/add/",
        "/admin/chats/scheduledmessage/",
        "/admin/chats/connection/",
        "/admin/accounts/user/add/",
        "/admin/chats/chat/add/",
    ],
)
def test_a_moderator_gets_403_outside_moderation(admin_for: AdminFor, mo: User, path: str) -> None:
    assert admin_for(mo).get(path).status_code == 403


def test_a_moderator_cannot_manage_groups(admin_for: AdminFor, mo: User, moderators: Group) -> None:
    client = admin_for(mo)

    assert client.get("/admin/auth/group/").status_code == 403
    assert client.post("/admin/auth/group/add/", {"name": "Admins"}).status_code == 403
    assert client.get(f"/admin/auth/group/{moderators.pk}/change/").status_code == 403
    assert (
        client.post(f"/admin/auth/group/{moderators.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Group.objects.filter(name="Admins").exists() is False
    assert "/admin/auth/group/" not in client.get("/admin/").content.decode()


def test_a_superuser_manages_groups(admin_for: AdminFor, root: User) -> None:
    assert admin_for(root).get("/admin/auth/group/").status_code == 200


def test_a_moderator_cannot_promote_anyone_through_the_user_form(
    admin_for: AdminFor, mo: User
) -> None:
    """ban_user, not change_user: the user form would set is_staff, is_superuser and groups."""
    client = admin_for(mo)
    url = f"/admin/accounts/user/{mo.pk}/change/"

    page = client.get(url)
    posted = client.post(
        url,
        {"login": "mo", "name": "Mo", "is_active": "on", "is_staff": "on", "is_superuser": "on"},
    )

    assert page.status_code == 200  # to read
    assert 'name="is_superuser"' not in page.content.decode()
    assert posted.status_code == 403
    assert client.get(f"/admin/accounts/user/{mo.pk}/password/").status_code == 403
    mo.refresh_from_db()
    assert mo.is_superuser is False


def test_a_plain_user_cannot_reach_the_admin(admin_for: AdminFor, other_user: User) -> None:
    client = admin_for(other_user)

    for path in ("/admin/", changelist("chats.report"), "/admin/auth/group/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_staff_outside_the_group_may_not_moderate(
    admin_for: AdminFor, make_user: MakeUser, mallory: User
) -> None:
    clerk = make_user(login="clerk", is_staff=True)
    client = admin_for(clerk)

    assert client.get(changelist("chats.message")).status_code == 403
    response = client.post(
        changelist("accounts.user"),
        {"action": "ban_users", "_selected_action": [mallory.pk], "reason": "x", "index": 0},
    )
    assert response.status_code == 403
    mallory.refresh_from_db()
    assert mallory.is_active is True


def test_the_services_check_the_permission_too(
    make_user: MakeUser, mallory: User, spam: Message, other_user: User
) -> None:
    """Whoever calls them: a staff member without the group is refused by each service."""
    clerk = make_user(login="clerk", is_staff=True)
    report, _ = report_create(message=spam, reporter=other_user, reason="spam")

    with pytest.raises(exceptions.PermissionDenied):
        user_ban(user=mallory, moderator=clerk, reason="x")
    with pytest.raises(exceptions.PermissionDenied):
        message_remove(message=spam, moderator=clerk, reason="x")
    with pytest.raises(exceptions.PermissionDenied):
        report_dismiss(report=report, moderator=clerk)

    assert Report.objects.get().status == "open"
