"""A moderator removes a message from the admin with a reason, and restores it.

Members see a removal exactly as a deletion: a tombstone with empty text, pushed live as
`message.updated`. The text stays in the database, so a restore brings it back, live too.
"""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import AuditAction, AuditEntry, Chat, Message, Report, ReportStatus
from chats.moderation.services import message_restore, report_create
from chats.services.messages import message_delete
from tests.moderation.conftest import AdminFor, Event, MakeUser, run_action


def history(api: APIClient, message: Message) -> dict[str, Any]:
    """The message as a member's client sees it in the chat's history."""
    response = api.get(f"/api/chats/{message.chat_id}/messages/")
    assert response.status_code == 200
    (found,) = [item for item in response.json()["results"] if item["id"] == message.pk]
    return {key: found[key] for key in ("seq", "text", "deleted")}


def updates(sent: list[Event], message: Message) -> list[dict[str, Any]]:
    return [
        {key: frame["message"][key] for key in ("id", "seq", "text", "deleted")}
        for group, frame in sent
        if group == f"chat.{message.chat_id}" and frame["type"] == "message.updated"
    ]


def test_a_moderator_removes_a_message_and_members_see_a_tombstone(
    admin_for: AdminFor,
    mo: User,
    spam: Message,
    other_user: User,
    api_for: Callable[[User], APIClient],
    sent_events: list[Event],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        shown = run_action(admin_for(mo), "chats.message", "remove_messages", [spam], "spam")

    assert shown == ["Removed 1 message(s)."]
    assert history(api_for(other_user), spam) == {"seq": 2, "text": "", "deleted": True}
    assert updates(sent_events, spam) == [{"id": spam.pk, "seq": 2, "text": "", "deleted": True}]
    spam.refresh_from_db()
    assert (spam.text, spam.removed_by, spam.removal_reason) == ("buy cheap pills", mo, "spam")
    entry = AuditEntry.objects.get()
    assert (entry.moderator, entry.action, entry.target_message, entry.target_user) == (
        mo,
        AuditAction.MESSAGE_REMOVE,
        spam,
        spam.user,
    )
    assert entry.reason == "spam"


def test_a_moderator_restores_a_removed_message_and_members_see_its_text_again(
    admin_for: AdminFor,
    mo: User,
    spam: Message,
    other_user: User,
    api_for: Callable[[User], APIClient],
    sent_events: list[Event],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = admin_for(mo)
    run_action(client, "chats.message", "remove_messages", [spam], "looked like spam")

    with django_capture_on_commit_callbacks(execute=True):
        shown = run_action(client, "chats.message", "restore_messages", [spam], "it was a joke")

    assert shown == ["Restored 1 message(s)."]
    assert history(api_for(other_user), spam) == {
        "seq": 2,
        "text": "buy cheap pills",
        "deleted": False,
    }
    assert updates(sent_events, spam) == [
        {"id": spam.pk, "seq": 2, "text": "buy cheap pills", "deleted": False}
    ]
    spam.refresh_from_db()
    assert (spam.deleted, spam.removed_by, spam.removed_at, spam.removal_reason) == (
        False,
        None,
        None,
        "",
    )
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "reason"))
    assert actions == [
        (AuditAction.MESSAGE_REMOVE, "looked like spam"),
        (AuditAction.MESSAGE_RESTORE, "it was a joke"),
    ]


def test_a_removal_needs_a_reason(admin_for: AdminFor, mo: User, spam: Message) -> None:
    shown = run_action(admin_for(mo), "chats.message", "remove_messages", [spam], "")

    assert shown == ["Type the reason in the Reason box first. Nothing changed."]
    spam.refresh_from_db()
    assert spam.deleted is False


def test_a_message_its_author_deleted_is_not_restored(
    admin_for: AdminFor, mo: User, spam: Message, mallory: User, sent_events: list[Event]
) -> None:
    message_delete(message=spam, actor=mallory)

    shown = run_action(admin_for(mo), "chats.message", "restore_messages", [spam])

    assert shown == [f"{spam}: Only a message removed by a moderator can be restored."]
    spam.refresh_from_db()
    assert spam.deleted is True
    assert not AuditEntry.objects.exists()


def test_removing_a_deleted_message_is_refused(
    admin_for: AdminFor, mo: User, spam: Message, mallory: User
) -> None:
    message_delete(message=spam, actor=mallory)

    shown = run_action(admin_for(mo), "chats.message", "remove_messages", [spam], "spam")

    assert shown == [f"{spam}: This message is already deleted."]
    assert not AuditEntry.objects.exists()


def test_a_removal_closes_every_open_report_about_the_message(
    admin_for: AdminFor, mo: User, spam: Message, user: User, other_user: User
) -> None:
    for reporter in (user, other_user):
        report_create(message=spam, reporter=reporter, reason="spam")

    run_action(admin_for(mo), "chats.message", "remove_messages", [spam], "spam")

    assert list(Report.objects.values_list("status", "resolved_by", "message_text")) == [
        (ReportStatus.REMOVED, mo.pk, ""),
        (ReportStatus.REMOVED, mo.pk, ""),
    ]
    spam.refresh_from_db()
    assert spam.text == "buy cheap pills"  # a removal is undone by a restore: the text stays


def test_the_author_cannot_edit_a_removed_message_back(
    admin_for: AdminFor, mo: User, spam: Message, mallory: User, api_for: Callable[..., APIClient]
) -> None:
    run_action(admin_for(mo), "chats.message", "remove_messages", [spam], "spam")

    response = api_for(mallory).patch(
        f"/api/chats/{spam.chat_id}/messages/{spam.pk}/", {"text": "back!"}, format="json"
    )

    assert response.status_code == 400
    spam.refresh_from_db()
    assert spam.text == "buy cheap pills"


def test_a_message_has_no_edit_form_in_the_admin(
    admin_for: AdminFor, root: User, spam: Message
) -> None:
    """Even for a superuser: text changes through services, which tell the members."""
    client = admin_for(root)
    url = f"/admin/chats/message/{spam.pk}/change/"

    page = client.get(url)
    posted = client.post(url, {"text": "rewritten", "chat": spam.chat_id, "seq": 2})

    assert page.status_code == 200
    assert 'name="text"' not in page.content.decode()
    assert posted.status_code == 403
    assert client.get("/admin/chats/message/add/").status_code == 403
    assert (
        client.post(f"/admin/chats/message/{spam.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    spam.refresh_from_db()
    assert spam.text == "buy cheap pills"


@pytest.mark.parametrize("action", ["remove_messages", "restore_messages"])
def test_an_action_on_too_many_messages_at_once_changes_nothing(
    admin_for: AdminFor,
    mo: User,
    spam: Message,
    action: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("chats.moderation.admin_actions.ACTION_LIMIT", 1)
    rows = list(Message.objects.filter(chat=spam.chat))

    shown = run_action(admin_for(mo), "chats.message", action, rows, "spam")

    assert shown == ["Select at most 1 rows at a time. Nothing changed."]
    assert not Message.objects.filter(deleted=True).exists()


# --- Through REST -------------------------------------------------------------------------------


def test_a_moderator_deleting_through_rest_removes_the_message_audited_and_restorable(
    api_for: Callable[[User], APIClient], mo: User, spam: Message, other_user: User
) -> None:
    """Mo is in no chat. A DELETE from him is a moderator's removal: the text stays in the row,
    an audit entry says who, and a restore brings it back."""
    response = api_for(mo).delete(f"/api/chats/{spam.chat_id}/messages/{spam.pk}/")

    assert response.status_code == 204
    assert history(api_for(other_user), spam) == {"seq": 2, "text": "", "deleted": True}
    spam.refresh_from_db()
    assert (spam.text, spam.removed_by) == ("buy cheap pills", mo)
    entry = AuditEntry.objects.get()
    assert (entry.moderator, entry.action, entry.target_message) == (
        mo,
        AuditAction.MESSAGE_REMOVE,
        spam,
    )
    message_restore(message=spam, moderator=mo)
    assert history(api_for(other_user), spam) == {
        "seq": 2,
        "text": "buy cheap pills",
        "deleted": False,
    }


def test_a_moderator_deleting_an_already_deleted_message_is_a_no_op(
    api_for: Callable[[User], APIClient], mo: User, spam: Message, mallory: User
) -> None:
    message_delete(message=spam, actor=mallory)

    response = api_for(mo).delete(f"/api/chats/{spam.chat_id}/messages/{spam.pk}/")

    assert response.status_code == 204
    assert not AuditEntry.objects.exists()


def test_staff_without_the_moderation_permission_cannot_delete_anything(
    api_for: Callable[[User], APIClient], make_user: MakeUser, spam: Message
) -> None:
    """Finding 6 of the security review: any is_staff user could delete any message."""
    sam = make_user(login="sam", is_staff=True)

    response = api_for(sam).delete(f"/api/chats/{spam.chat_id}/messages/{spam.pk}/")

    assert response.status_code == 404  # not in the chat, and no moderator
    spam.refresh_from_db()
    assert (spam.deleted, spam.text) == (False, "buy cheap pills")


def test_a_moderator_still_gets_404_for_a_message_that_does_not_exist(
    api_for: Callable[[User], APIClient], mo: User, team: Chat
) -> None:
    assert api_for(mo).delete(f"/api/chats/{team.pk}/messages/123456/").status_code == 404
    assert api_for(mo).delete("/api/chats/123456/messages/1/").status_code == 404
