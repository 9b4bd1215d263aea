"""The audit trail: one entry per moderation action, read-only in the admin for everyone."""

import pytest
from django.test import Client
from rest_framework import exceptions

from accounts.models import User
from chats.models import AuditAction, AuditEntry, Message
from chats.moderation.services import message_remove, user_ban
from tests.moderation.conftest import AdminFor, changelist


@pytest.fixture
def trail(mo: User, root: User, spam: Message, mallory: User, dave: User) -> list[AuditEntry]:
    """Mo removes the spam and bans Mallory; Root bans Dave."""
    message_remove(message=spam, moderator=mo, reason="spam")
    user_ban(user=mallory, moderator=mo, reason="spammer")
    user_ban(user=dave, moderator=root, reason="troll")
    return list(AuditEntry.objects.order_by("id"))


def listed(client: Client, **filters: str) -> list[tuple[str, str]]:
    response = client.get(changelist("chats.auditentry"), filters)
    assert response.status_code == 200
    return [(entry.action, entry.reason) for entry in response.context["cl"].result_list]


def test_a_moderator_reads_the_trail_newest_first(
    admin_for: AdminFor, mo: User, trail: list[AuditEntry]
) -> None:
    client = admin_for(mo)

    assert listed(client) == [
        (AuditAction.USER_BAN, "troll"),
        (AuditAction.USER_BAN, "spammer"),
        (AuditAction.MESSAGE_REMOVE, "spam"),
    ]
    page = client.get(changelist("chats.auditentry")).content.decode()
    assert "mallory" in page
    assert f"/admin/chats/message/{trail[0].target_message_id}/change/" in page


def test_the_trail_filters_by_action_moderator_target_and_date(
    admin_for: AdminFor, mo: User, root: User, mallory: User, trail: list[AuditEntry]
) -> None:
    client = admin_for(mo)

    assert listed(client, action__exact="message.remove") == [(AuditAction.MESSAGE_REMOVE, "spam")]
    assert listed(client, moderator=str(root.pk)) == [(AuditAction.USER_BAN, "troll")]
    # Everything done about Mallory: her ban and the removal of her message.
    assert listed(client, target_user=str(mallory.pk)) == [
        (AuditAction.USER_BAN, "spammer"),
        (AuditAction.MESSAGE_REMOVE, "spam"),
    ]
    cl = client.get(changelist("chats.auditentry")).context["cl"]
    (dates,) = [spec for spec in cl.filter_specs if getattr(spec, "field_path", "") == "created"]
    today = next(choice for choice in dates.choices(cl) if choice["display"] == "Today")
    by_date = client.get(changelist("chats.auditentry") + today["query_string"])
    assert len(by_date.context["cl"].result_list) == 3
    assert listed(client, q="troll") == [(AuditAction.USER_BAN, "troll")]


@pytest.mark.parametrize("who", ["mo", "root"])
def test_nobody_adds_changes_or_deletes_an_entry_in_the_admin(
    admin_for: AdminFor, mo: User, root: User, trail: list[AuditEntry], who: str
) -> None:
    client = admin_for(mo if who == "mo" else root)
    entry = trail[0]
    base = "/admin/chats/auditentry"

    assert client.get(f"{base}/add/").status_code == 403
    assert (
        client.post(f"{base}/add/", {"action": "user.ban", "reason": "forged"}).status_code == 403
    )
    assert client.get(f"{base}/{entry.pk}/change/").status_code == 403
    assert client.post(f"{base}/{entry.pk}/change/", {"reason": "rewritten"}).status_code == 403
    assert client.post(f"{base}/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk_delete = client.post(
        changelist("chats.auditentry"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert bulk_delete.status_code == 200  # the list again, with "no action selected"
    assert list(AuditEntry.objects.order_by("id")) == trail
    entry.refresh_from_db()
    assert entry.reason == "spam"


def test_the_trail_list_offers_no_links_actions_or_add_button(
    admin_for: AdminFor, root: User, trail: list[AuditEntry]
) -> None:
    page = admin_for(root).get(changelist("chats.auditentry")).content.decode()

    assert "/admin/chats/auditentry/add/" not in page
    assert f"/admin/chats/auditentry/{trail[0].pk}/change/" not in page
    assert 'name="action"' not in page


def test_a_refused_action_writes_no_entry(mo: User, root: User) -> None:
    with pytest.raises(exceptions.PermissionDenied, match="superuser"):
        user_ban(user=root, moderator=mo, reason="coup")

    assert not AuditEntry.objects.exists()
    root.refresh_from_db()
    assert root.is_active is True
