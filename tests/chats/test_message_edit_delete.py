"""PATCH and DELETE /api/chats/{id}/messages/{message_id}/: editing and tombstoning."""

import importlib
from collections.abc import Callable

import pytest
from django.apps import apps
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, Message, Report, Role
from chats.services.members import member_remove, member_role_set
from chats.services.messages import message_delete, message_send
from tests.factories import chat_factory, messages_factory


@pytest.fixture
def bobs_message(team: Chat, user: User, other_user: User) -> Message:
    """Bob's message in the team: seq 2, after one of Alice's."""
    message_send(chat=team, user=user, text="before")
    message, _ = message_send(chat=team, user=other_user, text="hello from bob")
    return message


def url(message: Message) -> str:
    return f"/api/chats/{message.chat_id}/messages/{message.pk}/"


# --- Editing -------------------------------------------------------------------------------------


def test_the_author_edits_their_message(
    api_for: Callable[[User], APIClient], bobs_message: Message, other_user: User
) -> None:
    response = api_for(other_user).patch(url(bobs_message), {"text": " corrected "}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["seq"], body["text"]) == (bobs_message.pk, 2, "corrected")
    assert (body["edited"], body["deleted"]) == (True, False)
    assert body["author"] == {"id": other_user.pk, "name": "Bob"}
    bobs_message.refresh_from_db()
    assert (bobs_message.text, bobs_message.edited) == ("corrected", True)


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_nobody_else_edits_a_message_not_even_the_owner(
    api_for: Callable[[User], APIClient], bobs_message: Message, user: User, carol: User, who: str
) -> None:
    response = api_for(user if who == "owner" else carol).patch(
        url(bobs_message), {"text": "put words in his mouth"}, format="json"
    )

    assert response.status_code == 403
    bobs_message.refresh_from_db()
    assert (bobs_message.text, bobs_message.edited) == ("hello from bob", False)


def test_a_non_member_editing_gets_404(
    api_for: Callable[[User], APIClient], bobs_message: Message, dave: User
) -> None:
    response = api_for(dave).patch(url(bobs_message), {"text": "x"}, format="json")

    assert response.status_code == 404
    bobs_message.refresh_from_db()
    assert bobs_message.text == "hello from bob"


def test_an_author_who_left_the_chat_can_no_longer_edit(
    api_for: Callable[[User], APIClient], bobs_message: Message, other_user: User
) -> None:
    member_remove(chat=bobs_message.chat, actor=other_user, user_id=other_user.pk)

    response = api_for(other_user).patch(url(bobs_message), {"text": "x"}, format="json")

    assert response.status_code == 404


def test_a_deleted_message_cannot_be_edited(
    api_for: Callable[[User], APIClient], bobs_message: Message, other_user: User
) -> None:
    message_delete(message=bobs_message, actor=other_user)

    response = api_for(other_user).patch(url(bobs_message), {"text": "back"}, format="json")

    assert response.status_code == 400
    bobs_message.refresh_from_db()
    assert (bobs_message.deleted, bobs_message.edited) == (True, False)


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_001])
def test_an_edit_obeys_the_text_limits(
    api_for: Callable[[User], APIClient], bobs_message: Message, other_user: User, text: str
) -> None:
    response = api_for(other_user).patch(url(bobs_message), {"text": text}, format="json")

    assert response.status_code == 400
    assert "text" in response.json()
    bobs_message.refresh_from_db()
    assert bobs_message.text == "hello from bob"


def test_a_message_is_edited_only_through_its_own_chat(
    api_for: Callable[[User], APIClient], bobs_message: Message, user: User, other_user: User
) -> None:
    elsewhere = chat_factory(user, [other_user], title="Elsewhere")

    response = api_for(other_user).patch(
        f"/api/chats/{elsewhere.pk}/messages/{bobs_message.pk}/", {"text": "x"}, format="json"
    )

    assert response.status_code == 404


# --- Deleting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["author", "owner", "admin"])
def test_the_author_the_owner_or_an_admin_deletes_a_message(
    api_for: Callable[[User], APIClient],
    bobs_message: Message,
    user: User,
    other_user: User,
    carol: User,
    who: str,
) -> None:
    deleter = {"author": other_user, "owner": user, "admin": carol}[who]

    response = api_for(deleter).delete(url(bobs_message))

    assert response.status_code == 204
    bobs_message.refresh_from_db()
    assert (bobs_message.seq, bobs_message.deleted) == (2, True)


def test_a_tombstone_keeps_its_seq_with_empty_text(
    api_for: Callable[[User], APIClient], bobs_message: Message, user: User, other_user: User
) -> None:
    api_for(other_user).delete(url(bobs_message))

    page = api_for(user).get(f"/api/chats/{bobs_message.chat_id}/messages/").json()

    assert [m["seq"] for m in page["results"]] == [1, 2]
    tombstone = page["results"][1]
    assert tombstone["id"] == bobs_message.pk
    assert (tombstone["text"], tombstone["deleted"]) == ("", True)
    assert tombstone["user_id"] == other_user.pk


def test_the_next_message_after_a_tombstone_gets_the_next_seq(
    api_for: Callable[[User], APIClient], bobs_message: Message, other_user: User
) -> None:
    bob = api_for(other_user)
    bob.delete(url(bobs_message))

    response = bob.post(
        f"/api/chats/{bobs_message.chat_id}/messages/", {"text": "again"}, format="json"
    )

    assert response.json()["seq"] == 3


def test_deleting_twice_is_harmless(
    api_for: Callable[[User], APIClient], bobs_message: Message, other_user: User
) -> None:
    bob = api_for(other_user)

    assert bob.delete(url(bobs_message)).status_code == 204
    assert bob.delete(url(bobs_message)).status_code == 204
    assert Message.objects.filter(chat=bobs_message.chat).count() == 2


def test_a_plain_member_may_not_delete_someone_elses_message(
    api_for: Callable[[User], APIClient], team: Chat, user: User, other_user: User
) -> None:
    (alices,) = messages_factory(team, user, 1)

    response = api_for(other_user).delete(url(alices))

    assert response.status_code == 403
    alices.refresh_from_db()
    assert alices.deleted is False


def test_an_admin_deletes_the_owners_message_too(
    api_for: Callable[[User], APIClient], team: Chat, user: User, carol: User
) -> None:
    (alices,) = messages_factory(team, user, 1)

    assert api_for(carol).delete(url(alices)).status_code == 204


def test_a_non_member_deleting_gets_404(
    api_for: Callable[[User], APIClient], bobs_message: Message, dave: User
) -> None:
    response = api_for(dave).delete(url(bobs_message))

    assert response.status_code == 404
    bobs_message.refresh_from_db()
    assert bobs_message.deleted is False


def test_a_message_is_deleted_only_through_its_own_chat(
    api_for: Callable[[User], APIClient], bobs_message: Message, user: User, other_user: User
) -> None:
    elsewhere = chat_factory(user, [other_user], title="Elsewhere")

    response = api_for(user).delete(f"/api/chats/{elsewhere.pk}/messages/{bobs_message.pk}/")

    assert response.status_code == 404
    bobs_message.refresh_from_db()
    assert bobs_message.deleted is False


def test_a_channel_reader_deletes_nothing(
    api_for: Callable[[User], APIClient], channel: Chat, user: User, other_user: User
) -> None:
    (news,) = messages_factory(channel, user, 1)

    assert api_for(other_user).delete(url(news)).status_code == 403
    assert api_for(other_user).patch(url(news), {"text": "x"}, format="json").status_code == 403


def test_a_deleted_message_s_text_is_gone_from_the_database(
    api_for: Callable[[User], APIClient], bobs_message: Message, other_user: User
) -> None:
    """A delete erases, it does not only hide: not even a moderator can read it back."""
    assert api_for(other_user).delete(url(bobs_message)).status_code == 204

    row = Message.objects.filter(pk=bobs_message.pk).values("text", "deleted", "seq").get()
    assert row == {"text": "", "deleted": True, "seq": 2}


def test_upgrading_erases_what_authors_deleted_before_and_keeps_open_reports_evidence(
    team: Chat, user: User, other_user: User
) -> None:
    """Messages deleted before deletes erased (migration 0008) lose their text on upgrade; an
    open report first takes its copy, and a moderator's removal keeps its text."""
    upgrade = importlib.import_module("chats.migrations.0008_report_evidence_and_erased_deletes")
    hidden, _ = message_send(chat=team, user=other_user, text="deleted, only hidden")
    reported, _ = message_send(chat=team, user=other_user, text="reported, then deleted")
    removed, _ = message_send(chat=team, user=other_user, text="removed by a moderator")
    report = Report.objects.create(message=reported, reporter=user, reason="rude")
    Message.objects.filter(pk__in=[hidden.pk, reported.pk]).update(deleted=True)
    Message.objects.filter(pk=removed.pk).update(deleted=True, removed_at=timezone.now())

    upgrade.erase_deleted_texts(apps, None)

    texts = dict(Message.objects.values_list("pk", "text"))
    assert (texts[hidden.pk], texts[reported.pk]) == ("", "")
    assert texts[removed.pk] == "removed by a moderator"
    report.refresh_from_db()
    assert report.message_text == "reported, then deleted"


def test_a_channel_admin_demoted_to_member_can_no_longer_edit_their_posts(
    api_for: Callable[[User], APIClient], channel: Chat, user: User, carol: User
) -> None:
    """Finding 17 of the security review: an edit is checked against the right to post now."""
    announcement, _ = message_send(chat=channel, user=carol, text="posted while admin")
    member_role_set(chat=channel, actor=user, user_id=carol.pk, role=Role.MEMBER)

    response = api_for(carol).patch(url(announcement), {"text": "rewritten"}, format="json")

    assert response.status_code == 403
    announcement.refresh_from_db()
    assert announcement.text == "posted while admin"


def test_a_member_who_left_can_no_longer_edit_their_posts(
    api_for: Callable[[User], APIClient], bobs_message: Message, team: Chat, other_user: User
) -> None:
    member_remove(chat=team, actor=other_user, user_id=other_user.pk)

    response = api_for(other_user).patch(url(bobs_message), {"text": "ghost"}, format="json")

    assert response.status_code == 404
