"""Scheduling a message over REST: `/api/chats/{id}/scheduled/`.

Alice schedules in her chats. Nobody else ever sees, edits or cancels her scheduled messages, not
even another member of the chat; Dave, who belongs to no chat here, does not learn they exist.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import TEXT_MAX, Chat, Message, ScheduledMessage, ScheduledStatus
from chats.services.members import member_remove
from chats.services.scheduling import scheduled_deliver
from tests.factories import chat_factory

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as Response

ApiFor = Callable[[User], APIClient]

FIELDS = {"id", "chat_id", "text", "send_at", "status", "message_id", "failure", "created"}
# Authentication, the chat with its membership check and its last message (the member list's
# lookup too), then one page of rows.
SCHEDULED_LIST_QUERIES = 4


def hours_ahead(hours: float = 1) -> datetime:
    return (timezone.now() + timedelta(hours=hours)).replace(microsecond=0)


def schedule(api: APIClient, chat: Chat, text: str = "later", **body: Any) -> "Response":
    body = {"text": text, "send_at": hours_ahead().isoformat(), **body}
    return api.post(f"/api/chats/{chat.pk}/scheduled/", body, format="json")


def scheduled_url(chat: Chat, scheduled_id: int) -> str:
    return f"/api/chats/{chat.pk}/scheduled/{scheduled_id}/"


def deliver_now(scheduled_id: int) -> None:
    """Move the row's send_at into the past and let the delivery run, as a worker would."""
    ScheduledMessage.objects.filter(pk=scheduled_id).update(
        send_at=timezone.now() - timedelta(seconds=1)
    )
    scheduled_deliver(scheduled_id=scheduled_id)


# --- Scheduling ----------------------------------------------------------------------------------


def test_alice_schedules_a_message_and_it_waits_pending(
    api: APIClient, user: User, group: Chat
) -> None:
    send_at = hours_ahead(3)

    response = schedule(api, group, "Happy birthday!", send_at=send_at.isoformat())

    assert response.status_code == 201
    body = response.json()
    assert set(body) == FIELDS
    assert body["chat_id"] == group.pk
    assert body["text"] == "Happy birthday!"
    assert datetime.fromisoformat(body["send_at"]) == send_at
    assert body["status"] == "pending"
    assert body["message_id"] is None
    assert body["failure"] == ""
    assert datetime.fromisoformat(body["created"]).tzinfo is not None
    stored = ScheduledMessage.objects.get(pk=body["id"])
    assert (stored.chat_id, stored.user_id, stored.send_at) == (group.pk, user.pk, send_at)
    assert not Message.objects.filter(chat=group).exists()


def test_alice_reads_her_scheduled_message_back(api: APIClient, group: Chat) -> None:
    created = schedule(api, group, "reminder").json()

    response = api.get(scheduled_url(group, created["id"]))

    assert response.status_code == 200
    assert response.json() == created


def test_text_of_exactly_the_limit_is_accepted(api: APIClient, group: Chat) -> None:
    response = schedule(api, group, "x" * TEXT_MAX)

    assert response.status_code == 201
    assert len(response.json()["text"]) == TEXT_MAX


def test_anything_up_to_a_year_ahead_is_accepted(api: APIClient, group: Chat) -> None:
    response = schedule(api, group, send_at=hours_ahead(24 * 364).isoformat())

    assert response.status_code == 201


def test_an_admin_schedules_in_a_channel(api_for: ApiFor, carol: User, channel: Chat) -> None:
    response = schedule(api_for(carol), channel, "news at noon")

    assert response.status_code == 201


def test_a_reader_of_a_channel_may_not_schedule_there(
    api_for: ApiFor, other_user: User, channel: Chat
) -> None:
    response = schedule(api_for(other_user), channel, "let me in")

    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
    assert not ScheduledMessage.objects.exists()


# --- The list ------------------------------------------------------------------------------------


def test_the_list_holds_only_my_scheduled_messages_in_that_chat_soonest_first(
    api: APIClient, api_for: ApiFor, user: User, other_user: User, group: Chat
) -> None:
    for hours, text in [(3, "third"), (1, "first"), (2, "second")]:
        schedule(api, group, text, send_at=hours_ahead(hours).isoformat())
    schedule(api_for(other_user), group, "Bob's secret", send_at=hours_ahead(0.5).isoformat())
    elsewhere = chat_factory(user, [other_user], title="Elsewhere")
    schedule(api, elsewhere, "in another chat")

    response = api.get(f"/api/chats/{group.pk}/scheduled/")

    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"results", "next", "previous"}
    assert [row["text"] for row in page["results"]] == ["first", "second", "third"]
    assert page["next"] is None
    assert page["previous"] is None
    bobs = api_for(other_user).get(f"/api/chats/{group.pk}/scheduled/").json()["results"]
    assert [row["text"] for row in bobs] == ["Bob's secret"]


def test_the_list_pages_with_a_cursor(api: APIClient, group: Chat) -> None:
    for hours in (1, 2, 3):
        schedule(api, group, f"in {hours}h", send_at=hours_ahead(hours).isoformat())

    first = api.get(f"/api/chats/{group.pk}/scheduled/", {"limit": 2}).json()
    second = api.get(first["next"]).json()

    assert [row["text"] for row in first["results"]] == ["in 1h", "in 2h"]
    assert [row["text"] for row in second["results"]] == ["in 3h"]
    assert second["next"] is None
    assert second["previous"] is not None


@pytest.mark.parametrize("rows", [1, 20])
def test_the_list_costs_the_same_queries_for_1_row_as_for_20(
    api: APIClient,
    group: Chat,
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for n in range(rows):
        schedule(api, group, f"row {n}", send_at=hours_ahead(1 + n).isoformat())

    with django_assert_max_num_queries(SCHEDULED_LIST_QUERIES):
        response = api.get(f"/api/chats/{group.pk}/scheduled/", {"limit": 100})

    assert len(response.json()["results"]) == rows


# --- Nobody else's business ---------------------------------------------------------------------


def test_another_member_cannot_see_change_or_cancel_my_scheduled_message(
    api: APIClient, api_for: ApiFor, other_user: User, group: Chat
) -> None:
    mine = schedule(api, group, "mine").json()
    bob = api_for(other_user)
    url = scheduled_url(group, mine["id"])

    assert bob.get(url).status_code == 404
    assert bob.patch(url, {"text": "hijacked"}, format="json").status_code == 404
    assert bob.delete(url).status_code == 404

    assert api.get(url).json() == mine


def test_a_non_member_learns_nothing_about_the_chat(
    api: APIClient, api_for: ApiFor, dave: User, group: Chat
) -> None:
    mine = schedule(api, group, "mine").json()
    stranger = api_for(dave)
    url = scheduled_url(group, mine["id"])

    responses = [
        stranger.get(f"/api/chats/{group.pk}/scheduled/"),
        schedule(stranger, group, "let me in"),
        stranger.get(url),
        stranger.patch(url, {"text": "hijacked"}, format="json"),
        stranger.delete(url),
    ]

    assert [response.status_code for response in responses] == [404] * 5
    assert list(ScheduledMessage.objects.values_list("text", "status")) == [("mine", "pending")]


def test_an_unknown_scheduled_message_is_404(api: APIClient, group: Chat) -> None:
    assert api.get(scheduled_url(group, 999_999)).status_code == 404


# --- Changing and canceling ----------------------------------------------------------------------


def test_alice_edits_the_text_while_it_is_pending(api: APIClient, group: Chat) -> None:
    created = schedule(api, group, "draft").json()

    response = api.patch(scheduled_url(group, created["id"]), {"text": "final"}, format="json")

    assert response.status_code == 200
    assert response.json() == {**created, "text": "final"}
    assert ScheduledMessage.objects.get(pk=created["id"]).text == "final"


def test_alice_moves_the_time_while_it_is_pending(api: APIClient, group: Chat) -> None:
    created = schedule(api, group, "soon").json()
    later = hours_ahead(5)

    response = api.patch(
        scheduled_url(group, created["id"]), {"send_at": later.isoformat()}, format="json"
    )

    assert response.status_code == 200
    assert datetime.fromisoformat(response.json()["send_at"]) == later
    assert response.json()["text"] == "soon"
    assert ScheduledMessage.objects.get(pk=created["id"]).send_at == later


def test_an_empty_change_changes_nothing(api: APIClient, group: Chat) -> None:
    created = schedule(api, group).json()

    response = api.patch(scheduled_url(group, created["id"]), {}, format="json")

    assert response.status_code == 200
    assert response.json() == created


def test_moving_the_time_into_the_past_is_refused(api: APIClient, group: Chat) -> None:
    created = schedule(api, group).json()
    past = timezone.now() - timedelta(minutes=1)

    response = api.patch(
        scheduled_url(group, created["id"]), {"send_at": past.isoformat()}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"send_at"}
    assert api.get(scheduled_url(group, created["id"])).json() == created


def test_canceling_leaves_it_canceled_and_it_is_never_sent(api: APIClient, group: Chat) -> None:
    created = schedule(api, group).json()

    response = api.delete(scheduled_url(group, created["id"]))

    assert response.status_code == 204
    assert api.get(scheduled_url(group, created["id"])).json()["status"] == "canceled"
    deliver_now(created["id"])
    assert ScheduledMessage.objects.get(pk=created["id"]).status == ScheduledStatus.CANCELED
    assert not Message.objects.filter(chat=group).exists()


@pytest.mark.parametrize("settled", ["sent", "canceled"])
def test_once_settled_it_can_no_longer_be_changed_or_canceled(
    api: APIClient, group: Chat, settled: str
) -> None:
    created = schedule(api, group, "original").json()
    url = scheduled_url(group, created["id"])
    if settled == "sent":
        deliver_now(created["id"])
    else:
        api.delete(url)
    before = api.get(url).json()
    assert before["status"] == settled

    edit = api.patch(url, {"text": "too late"}, format="json")
    move = api.patch(url, {"send_at": hours_ahead().isoformat()}, format="json")
    cancel = api.delete(url)

    assert [edit.status_code, move.status_code, cancel.status_code] == [400, 400, 400]
    assert set(edit.json()) == {"detail"}
    assert api.get(url).json() == before


# --- Bad input ----------------------------------------------------------------------------------


def _relative(**delta: float) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"text": "x", "send_at": "past"}, "send_at", id="send_at-in-the-past"),
        pytest.param({"text": "x", "send_at": "year+"}, "send_at", id="more-than-a-year-ahead"),
        pytest.param({"text": "x", "send_at": "tomorrow"}, "send_at", id="unparseable"),
        pytest.param({"text": "x", "send_at": "2030-02-30T10:00:00Z"}, "send_at", id="no-such-day"),
        pytest.param(
            {"text": "x", "send_at": "9999-12-31T23:59:59-14:00"}, "send_at", id="overflow"
        ),
        pytest.param({"text": "x", "send_at": 1893456000}, "send_at", id="a-number"),
        pytest.param({"text": "x", "send_at": None}, "send_at", id="null"),
        pytest.param({"text": "x"}, "send_at", id="send_at-missing"),
        pytest.param({"send_at": "soon"}, "text", id="text-missing"),
        pytest.param({"text": "", "send_at": "soon"}, "text", id="text-empty"),
        pytest.param({"text": "  \n ", "send_at": "soon"}, "text", id="text-blank"),
        pytest.param({"text": "x" * (TEXT_MAX + 1), "send_at": "soon"}, "text", id="too-long"),
        pytest.param({"text": 42, "send_at": "soon"}, "text", id="text-a-number"),
        pytest.param({"text": ["x"], "send_at": "soon"}, "text", id="text-a-list"),
        pytest.param({"text": "x", "send_at": "soon", "status": "sent"}, "status", id="extra"),
    ],
)
def test_bad_input_is_refused_with_400_naming_the_field(
    api: APIClient, group: Chat, body: dict[str, Any], field: str
) -> None:
    send_at = {
        "past": _relative(minutes=-1),
        "year+": _relative(days=366),
        "soon": _relative(hours=1),
    }
    if body.get("send_at") in send_at:
        body = {**body, "send_at": send_at[body["send_at"]]}

    response = api.post(f"/api/chats/{group.pk}/scheduled/", body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert not ScheduledMessage.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"text": ""}, id="text-empty"),
        pytest.param({"text": 42}, id="text-a-number"),
        pytest.param({"send_at": "tomorrow"}, id="send_at-unparseable"),
        pytest.param({"status": "sent"}, id="extra"),
    ],
)
def test_bad_changes_are_refused_with_400(
    api: APIClient, group: Chat, body: dict[str, Any]
) -> None:
    created = schedule(api, group, "unchanged").json()

    response = api.patch(scheduled_url(group, created["id"]), body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == set(body)
    assert api.get(scheduled_url(group, created["id"])).json() == created


def test_a_body_that_is_not_an_object_is_refused(api: APIClient, group: Chat) -> None:
    response = api.post(f"/api/chats/{group.pk}/scheduled/", ["x"], format="json")

    assert response.status_code == 400


# --- Time zones ----------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York"])
def test_a_time_without_an_offset_is_read_in_the_servers_time_zone(
    api: APIClient, group: Chat, zone: str
) -> None:
    # Tokyo is ahead of UTC and New York behind it: read as UTC, the first would land hours
    # late and the second in the past.
    expected = hours_ahead(2).astimezone(ZoneInfo(zone))
    naive = expected.replace(tzinfo=None).isoformat()

    with override_settings(TIME_ZONE=zone):
        response = schedule(api, group, send_at=naive)

    assert response.status_code == 201
    assert ScheduledMessage.objects.get(pk=response.json()["id"]).send_at == expected
    assert datetime.fromisoformat(response.json()["send_at"]) == expected


def test_a_time_with_an_offset_keeps_its_offset_whatever_the_server_zone(
    api: APIClient, group: Chat
) -> None:
    expected = hours_ahead(2)
    in_kolkata = expected.astimezone(ZoneInfo("Asia/Kolkata")).isoformat()

    with override_settings(TIME_ZONE="America/Los_Angeles"):
        response = schedule(api, group, send_at=in_kolkata)

    assert response.status_code == 201
    assert ScheduledMessage.objects.get(pk=response.json()["id"]).send_at == expected


def test_a_member_who_left_can_no_longer_see_their_scheduled_messages(
    api_for: ApiFor, other_user: User, group: Chat
) -> None:
    bob = api_for(other_user)
    created = schedule(bob, group, "bye").json()
    member_remove(chat=group, actor=other_user, user_id=other_user.pk)

    assert bob.get(scheduled_url(group, created["id"])).status_code == 404
    assert bob.get(f"/api/chats/{group.pk}/scheduled/").status_code == 404


def test_bad_input_from_someone_who_may_not_see_the_row_is_still_404(
    api: APIClient, api_for: ApiFor, other_user: User, dave: User, group: Chat
) -> None:
    mine = schedule(api, group, "mine").json()
    url = scheduled_url(group, mine["id"])

    for outsider in (api_for(other_user), api_for(dave)):
        assert outsider.patch(url, {"text": ""}, format="json").status_code == 404
        assert outsider.patch(url, {"colour": "red"}, format="json").status_code == 404
    assert schedule(api_for(dave), group, "").status_code == 404


# --- Limits -------------------------------------------------------------------------------------


@override_settings(SCHEDULED_PENDING_PER_USER=2)
def test_pending_scheduled_messages_are_capped_per_user(
    api: APIClient, group: Chat, user: User
) -> None:
    """Security review finding 3: 150 scheduled posts were all accepted and all posted at once."""
    first, second = schedule(api, group, "one"), schedule(api, group, "two")
    refused = schedule(api, group, "three")
    api.delete(scheduled_url(group, first.json()["id"]))
    after_cancel = schedule(api, group, "three again")

    assert (first.status_code, second.status_code) == (201, 201)
    assert refused.status_code == 400
    assert "pending scheduled" in refused.json()["detail"]
    assert after_cancel.status_code == 201
    assert ScheduledMessage.objects.filter(user=user, status=ScheduledStatus.PENDING).count() == 2


@override_settings(SCHEDULED_PENDING_PER_CHAT=2)
def test_pending_scheduled_messages_are_capped_per_chat(
    api_for: ApiFor, group: Chat, user: User, other_user: User
) -> None:
    assert schedule(api_for(user), group, "alice").status_code == 201
    assert schedule(api_for(other_user), group, "bob").status_code == 201

    refused = schedule(api_for(user), group, "alice again")

    assert refused.status_code == 400


def test_scheduling_spends_the_posting_budget(
    api: APIClient, group: Chat, throttle_rates: Callable[..., Any]
) -> None:
    with throttle_rates(message_send="2/min"):
        assert schedule(api, group, "one").status_code == 201
        posted = api.post(f"/api/chats/{group.pk}/messages/", {"text": "now"}, format="json")
        refused = schedule(api, group, "two")

    assert posted.status_code == 201
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
