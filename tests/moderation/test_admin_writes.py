"""Every write in the admin goes through a service: the lists of chats, members, scheduled
messages and sockets have no forms that would write past one (a membership deleted there would
leave the member's sockets subscribed, a role edited there would tell nobody)."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from accounts.models import User
from chats.models import (
    AuditAction,
    AuditEntry,
    Chat,
    Connection,
    Membership,
    ScheduledMessage,
    ScheduledStatus,
)
from chats.moderation.services import member_remove_by_moderator
from chats.services.scheduling import message_schedule
from tests.moderation.conftest import AdminFor, Event, run_action

pytestmark = pytest.mark.django_db


def test_even_a_superuser_gets_no_form_that_writes_chats_or_members(
    admin_for: AdminFor, root: User, team: Chat, mallory: User
) -> None:
    client = admin_for(root)
    membership = Membership.objects.get(chat=team, user=mallory)

    assert client.get(f"/admin/chats/chat/{team.pk}/change/").status_code == 200  # to look up
    for path in [
        "/admin/chats/chat/add/",
        "/admin/chats/membership/add/",
        f"/admin/chats/chat/{team.pk}/delete/",
        f"/admin/chats/membership/{membership.pk}/delete/",
    ]:
        assert client.post(path, {"post": "yes"}).status_code == 403, path
    client.post(f"/admin/chats/chat/{team.pk}/change/", {"title": "Renamed", "chat_type": "group"})
    client.post(f"/admin/chats/membership/{membership.pk}/change/", {"role": "owner"})

    team.refresh_from_db()
    membership.refresh_from_db()
    assert (team.title, membership.role) == ("Team", "member")


def test_a_superuser_cancels_a_scheduled_message_through_the_service(
    admin_for: AdminFor, root: User, team: Chat, user: User
) -> None:
    later = message_schedule(
        chat=team, user=user, text="later", send_at=timezone.now() + timedelta(hours=1)
    )

    shown = run_action(admin_for(root), "chats.scheduledmessage", "cancel_scheduled", [later])

    later.refresh_from_db()
    assert later.status == ScheduledStatus.CANCELED
    assert "Canceled 1 scheduled message(s)." in shown
    again = run_action(admin_for(root), "chats.scheduledmessage", "cancel_scheduled", [later])
    assert any("only pending ones change" in line for line in again)
    assert ScheduledMessage.objects.get(pk=later.pk).status == ScheduledStatus.CANCELED


def test_open_sockets_are_listed_and_never_deleted_from_the_admin(
    admin_for: AdminFor, root: User, user: User
) -> None:
    row = Connection.objects.create(channel_name="socket.test", user=user)
    client = admin_for(root)

    assert client.get("/admin/chats/connection/").status_code == 200
    assert (
        client.post(f"/admin/chats/connection/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert Connection.objects.filter(pk=row.pk).exists()


def test_a_superuser_removes_a_member_through_the_service_with_an_audit_entry(
    admin_for: AdminFor,
    root: User,
    team: Chat,
    mallory: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Security review finding 9: a removal in the admin must reach the member's live sockets,
    so it goes through the same removal as the API's (tests/realtime/test_ws_membership.py)."""
    membership = Membership.objects.get(chat=team, user=mallory)

    with django_capture_on_commit_callbacks(execute=True):
        shown = run_action(
            admin_for(root), "chats.membership", "remove_members", [membership], "spammer"
        )

    assert shown == ["Removed 1 member(s)."]
    assert not Membership.objects.filter(chat=team, user=mallory).exists()
    assert any(
        frame["type"] == "member.removed" and frame["user_id"] == mallory.pk
        for _, frame in sent_events
    )
    entry = AuditEntry.objects.get()
    assert (entry.moderator, entry.action, entry.target_user) == (
        root,
        AuditAction.MEMBER_REMOVE,
        mallory,
    )


def test_removing_members_needs_a_reason_and_the_permission(
    admin_for: AdminFor, mo: User, root: User, team: Chat, mallory: User
) -> None:
    """Moderators remove messages and ban; taking people out of chats is for a superuser, or
    whoever they give chats.delete_membership."""
    membership = Membership.objects.get(chat=team, user=mallory)

    shown = run_action(admin_for(root), "chats.membership", "remove_members", [membership])
    with pytest.raises(PermissionDenied):
        member_remove_by_moderator(membership=membership, moderator=mo, reason="spam")

    assert any("reason" in line for line in shown)
    assert Membership.objects.filter(chat=team, user=mallory).exists()
