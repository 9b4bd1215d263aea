"""Reports form a queue in the admin, open ones first. A moderator dismisses a report, removes the
reported message or bans its author; each closes the report and writes an audit entry."""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import AuditAction, AuditEntry, Chat, Message, Report, ReportStatus
from chats.moderation.services import report_create, report_dismiss
from chats.services.members import member_add
from chats.services.messages import message_delete, message_send
from tests.moderation.conftest import AdminFor, Event, MakeUser, changelist, run_action


@pytest.fixture
def report(spam: Message, other_user: User) -> Report:
    """Bob reports Mallory's spam."""
    report, _ = report_create(message=spam, reporter=other_user, reason="selling pills")
    return report


def closed(report: Report) -> tuple[str, User | None]:
    report.refresh_from_db()
    return report.status, report.resolved_by


def test_the_queue_shows_open_reports_first_newest_first(
    admin_for: AdminFor, mo: User, root: User, team: Chat, user: User, make_user: MakeUser
) -> None:
    reports = []
    for n in range(4):
        author = make_user()
        member_add(chat=team, actor=user, user_id=author.pk)
        message, _ = message_send(chat=team, user=author, text=f"message {n}")
        reports.append(report_create(message=message, reporter=user, reason="bad")[0])
    report_dismiss(report=reports[1], moderator=root)
    report_dismiss(report=reports[3], moderator=root)

    response = admin_for(mo).get(changelist("chats.report"))

    queue = [row.pk for row in response.context["cl"].result_list]
    assert queue == [reports[2].pk, reports[0].pk, reports[3].pk, reports[1].pk]
    page = response.content.decode()
    assert "message 2" in page  # the reported text
    assert "selling" not in page


def test_the_queue_filters_by_status(
    admin_for: AdminFor, mo: User, report: Report, root: User
) -> None:
    client = admin_for(mo)

    open_ = client.get(changelist("chats.report"), {"status__exact": "open"})
    dismissed = client.get(changelist("chats.report"), {"status__exact": "dismissed"})

    assert list(open_.context["cl"].result_list) == [report]
    assert list(dismissed.context["cl"].result_list) == []


def test_a_moderator_dismisses_a_report(
    admin_for: AdminFor, mo: User, report: Report, spam: Message, sent_events: list[Event]
) -> None:
    shown = run_action(admin_for(mo), "chats.report", "dismiss_reports", [report], "just a joke")

    assert shown == ["Dismissed 1 report(s)."]
    assert closed(report) == (ReportStatus.DISMISSED, mo)
    spam.refresh_from_db()
    assert spam.deleted is False
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.moderator, entry.report, entry.target_message) == (
        AuditAction.REPORT_DISMISS,
        mo,
        report,
        spam,
    )
    assert (entry.target_user, entry.reason) == (spam.user, "just a joke")
    assert sent_events == []


def test_a_moderator_removes_a_reported_message_with_the_reports_reason(
    admin_for: AdminFor,
    mo: User,
    report: Report,
    spam: Message,
    user: User,
    api_for: Callable[[User], APIClient],
    sent_events: list[Event],
    django_capture_on_commit_callbacks: Any,
) -> None:
    alices, _ = report_create(message=spam, reporter=user, reason="spam")

    with django_capture_on_commit_callbacks(execute=True):
        shown = run_action(admin_for(mo), "chats.report", "remove_reported_messages", [report])

    assert shown == ["Removed the messages of 1 report(s)."]
    assert closed(report) == (ReportStatus.REMOVED, mo)
    assert closed(alices) == (ReportStatus.REMOVED, mo)  # nothing left to do about it
    spam.refresh_from_db()
    assert (spam.deleted, spam.removal_reason) == (True, "selling pills")
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.report, entry.target_message, entry.reason) == (
        AuditAction.MESSAGE_REMOVE,
        report,
        spam,
        "selling pills",
    )
    (frame,) = [frame for _, frame in sent_events if frame["type"] == "message.updated"]
    assert (frame["message"]["id"], frame["message"]["text"]) == (spam.pk, "")
    history = api_for(user).get(f"/api/chats/{spam.chat_id}/messages/").json()["results"]
    assert history[-1]["deleted"] is True


def test_a_typed_reason_overrides_the_reports(
    admin_for: AdminFor, mo: User, report: Report, spam: Message
) -> None:
    run_action(admin_for(mo), "chats.report", "remove_reported_messages", [report], "scam link")

    spam.refresh_from_db()
    assert spam.removal_reason == "scam link"


def test_a_moderator_bans_a_reported_author(
    admin_for: AdminFor,
    mo: User,
    report: Report,
    mallory: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        shown = run_action(admin_for(mo), "chats.report", "ban_reported_authors", [report], "bot")

    assert shown == ["Banned the authors of 1 report(s)."]
    assert closed(report) == (ReportStatus.BANNED, mo)
    mallory.refresh_from_db()
    assert mallory.is_active is False
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.report, entry.target_user, entry.reason) == (
        AuditAction.USER_BAN,
        report,
        mallory,
        "bot",
    )
    assert (f"user.{mallory.pk}", {"close": 4403}) in sent_events


def test_a_closed_report_is_not_handled_twice(
    admin_for: AdminFor, mo: User, report: Report, mallory: User
) -> None:
    client = admin_for(mo)
    run_action(client, "chats.report", "dismiss_reports", [report])

    for action in ("dismiss_reports", "remove_reported_messages", "ban_reported_authors"):
        shown = run_action(client, "chats.report", action, [report], "second thoughts")
        assert shown == [f"{report}: This report is already dismissed."]

    mallory.refresh_from_db()
    assert mallory.is_active is True
    assert AuditEntry.objects.count() == 1


def test_removing_a_message_its_author_already_deleted_leaves_the_report_open(
    admin_for: AdminFor, mo: User, report: Report, spam: Message, mallory: User
) -> None:
    message_delete(message=spam, actor=mallory)

    shown = run_action(admin_for(mo), "chats.report", "remove_reported_messages", [report])

    assert shown == [f"{report}: This message is already deleted."]
    assert closed(report) == (ReportStatus.OPEN, None)


def test_reports_have_no_forms(admin_for: AdminFor, root: User, report: Report) -> None:
    client = admin_for(root)

    assert client.get("/admin/chats/report/add/").status_code == 403
    assert client.get(f"/admin/chats/report/{report.pk}/change/").status_code == 200
    posted = client.post(f"/admin/chats/report/{report.pk}/change/", {"status": "dismissed"})
    assert posted.status_code == 403
    deleted = client.post(f"/admin/chats/report/{report.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert closed(report) == (ReportStatus.OPEN, None)


def test_an_author_whose_account_is_gone_cannot_be_banned(
    admin_for: AdminFor, mo: User, report: Report, mallory: User
) -> None:
    mallory.delete()

    shown = run_action(admin_for(mo), "chats.report", "ban_reported_authors", [report], "bot")

    assert shown == [f"{report}: The author's account no longer exists."]
    assert closed(report) == (ReportStatus.OPEN, None)


def test_a_report_keeps_the_text_its_author_deleted_until_it_closes(
    admin_for: AdminFor, mo: User, report: Report, spam: Message, mallory: User
) -> None:
    """Mallory deletes her spam to hide it from the moderators: the message's text is erased,
    but the open report holds its copy as evidence, shown in the queue; closing the report
    erases that copy too."""
    message_delete(message=spam, actor=mallory)
    spam.refresh_from_db()
    report.refresh_from_db()
    assert (spam.text, report.message_text) == ("", "buy cheap pills")
    client = admin_for(mo)
    assert "buy cheap pills" in client.get(changelist("chats.report")).content.decode()

    run_action(client, "chats.report", "dismiss_reports", [report])

    report.refresh_from_db()
    assert report.message_text == ""
    assert not Report.objects.filter(message_text__contains="pills").exists()


def test_the_queue_shows_what_a_reported_reply_answered(
    admin_for: AdminFor, mo: User, team: Chat, user: User, other_user: User, mallory: User
) -> None:
    """Mallory's insult is a quoted reply to Bob: the moderator sees whom it answered and what it
    quoted, as the members saw it."""
    question, _ = message_send(chat=team, user=other_user, text="who broke the build?")
    insult, _ = message_send(
        chat=team, user=mallory, text="you did, idiot", reply_to_id=question.pk
    )
    report_create(message=insult, reporter=other_user, reason="rude")

    page = admin_for(mo).get(changelist("chats.report")).content.decode()

    assert f"#{question.seq} {other_user.name}: who broke the build?" in page
