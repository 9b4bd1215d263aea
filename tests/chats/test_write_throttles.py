"""Every kind of write has a per-user budget (security review finding 11: 150 edits of 10 KB went
through in 1.8 s). Over it the answer is 429 with Retry-After and nothing changes; other users
keep their own budgets, and a socket's write spends the same budget as the REST one."""

from collections.abc import Callable
from typing import Any

from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, Message, Report
from tests.conftest import Rates
from tests.factories import messages_factory

Api = Callable[[User], APIClient]


def assert_throttled(response: Any) -> None:
    assert response.status_code == 429, response.content
    assert int(response["Retry-After"]) > 0


def test_edits_are_limited_per_user(
    api_for: Api, group: Chat, user: User, throttle_rates: Rates
) -> None:
    [message] = messages_factory(group, user, 1)
    url = f"/api/chats/{group.pk}/messages/{message.pk}/"
    api = api_for(user)
    with throttle_rates(message_edit="2/min"):
        assert [api.patch(url, {"text": f"v{n}"}, format="json").status_code for n in (1, 2)] == [
            200,
            200,
        ]
        refused = api.patch(url, {"text": "v3"}, format="json")

    assert_throttled(refused)
    message.refresh_from_db()
    assert message.text == "v2"


def test_deletes_are_limited_per_user_and_each_user_has_their_own_budget(
    api_for: Api, group: Chat, user: User, other_user: User, throttle_rates: Rates
) -> None:
    mine = messages_factory(group, user, 3)
    [bobs] = messages_factory(group, other_user, 1)
    api = api_for(user)
    with throttle_rates(message_delete="2/min"):
        for message in mine[:2]:
            assert api.delete(f"/api/chats/{group.pk}/messages/{message.pk}/").status_code == 204
        refused = api.delete(f"/api/chats/{group.pk}/messages/{mine[2].pk}/")
        bobs_own = api_for(other_user).delete(f"/api/chats/{group.pk}/messages/{bobs.pk}/")

    assert_throttled(refused)
    assert not Message.objects.get(pk=mine[2].pk).deleted
    assert bobs_own.status_code == 204


def test_reports_are_limited_per_user(
    api_for: Api, group: Chat, user: User, other_user: User, throttle_rates: Rates
) -> None:
    bobs = messages_factory(group, other_user, 3)
    api = api_for(user)
    with throttle_rates(report="2/hour"):
        for message in bobs[:2]:
            url = f"/api/chats/{group.pk}/messages/{message.pk}/report/"
            assert api.post(url, {"reason": "spam"}, format="json").status_code == 201
        url = f"/api/chats/{group.pk}/messages/{bobs[2].pk}/report/"
        refused = api.post(url, {"reason": "spam"}, format="json")

    assert_throttled(refused)
    assert Report.objects.count() == 2


def test_profile_changes_are_limited_but_reading_oneself_is_not(
    api_for: Api, user: User, throttle_rates: Rates
) -> None:
    api = api_for(user)
    with throttle_rates(profile="2/min"):
        for status in ("away", "online"):
            assert api.patch("/api/users/me/", {"status": status}, format="json").status_code == 200
        refused = api.patch("/api/users/me/", {"name": "Spam"}, format="json")
        reading = api.get("/api/users/me/")

    assert_throttled(refused)
    assert reading.status_code == 200
    assert reading.json()["name"] == user.name


def test_read_markers_are_limited_per_user(
    api_for: Api, group: Chat, user: User, other_user: User, throttle_rates: Rates
) -> None:
    messages_factory(group, other_user, 3)
    api = api_for(user)
    with throttle_rates(read="2/min"):
        for seq in (1, 2):
            response = api.post(f"/api/chats/{group.pk}/read/", {"seq": seq}, format="json")
            assert response.status_code == 204
        refused = api.post(f"/api/chats/{group.pk}/read/", {"seq": 3}, format="json")

    assert_throttled(refused)
    assert group.memberships.get(user=user).last_read_seq == 2


def test_creating_chats_is_limited_per_user(
    api_for: Api, user: User, other_user: User, throttle_rates: Rates
) -> None:
    api = api_for(user)
    body = {"title": "Spam", "chat_type": "group", "member_ids": [other_user.pk]}
    with throttle_rates(chat_create="2/hour"):
        assert [api.post("/api/chats/", body, format="json").status_code for _ in (1, 2)] == [
            201,
            201,
        ]
        refused = api.post("/api/chats/", body, format="json")

    assert_throttled(refused)
    assert Chat.objects.filter(title="Spam").count() == 2
