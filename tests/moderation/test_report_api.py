"""POST /api/chats/{id}/messages/{message_id}/report/ {reason}: a member reports a message.

One report per member per message: reporting again returns the first report with 200, unchanged.
"""

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import ChatType, Message, Report, ReportStatus
from chats.services.messages import message_delete, message_send
from tests.factories import chat_factory

Api = Callable[[User], APIClient]


def url(message: Message, chat_id: int | None = None) -> str:
    return f"/api/chats/{chat_id or message.chat_id}/messages/{message.pk}/report/"


def test_a_member_reports_a_message(api_for: Api, other_user: User, spam: Message) -> None:
    response = api_for(other_user).post(url(spam), {"reason": "  selling pills  "}, format="json")

    assert response.status_code == 201
    body = response.json()
    report = Report.objects.get()
    assert body == {
        "id": report.pk,
        "chat_id": spam.chat_id,
        "message_id": spam.pk,
        "reason": "selling pills",
        "status": "open",
        "created": body["created"],
    }
    assert (report.reporter, report.message, report.status) == (
        other_user,
        spam,
        ReportStatus.OPEN,
    )


def test_reporting_the_same_message_again_returns_the_first_report(
    api_for: Api, other_user: User, spam: Message
) -> None:
    client = api_for(other_user)
    first = client.post(url(spam), {"reason": "spam"}, format="json").json()

    again = client.post(url(spam), {"reason": "really, spam"}, format="json")

    assert again.status_code == 200
    assert again.json() == first
    assert Report.objects.count() == 1


def test_each_member_reports_once(
    api_for: Api, user: User, other_user: User, spam: Message
) -> None:
    for reporter in (user, other_user):
        assert (
            api_for(reporter).post(url(spam), {"reason": "spam"}, format="json").status_code == 201
        )

    assert Report.objects.count() == 2


def test_the_database_refuses_a_second_report_by_the_same_member(
    other_user: User, spam: Message
) -> None:
    Report.objects.create(message=spam, reporter=other_user, reason="one")

    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.create(message=spam, reporter=other_user, reason="two")


def test_a_channel_reader_may_report_too(api_for: Api, user: User, other_user: User) -> None:
    channel = chat_factory(user, [other_user], chat_type=ChatType.CHANNEL, title="News")
    news, _ = message_send(chat=channel, user=user, text="fake news")

    response = api_for(other_user).post(url(news), {"reason": "misleading"}, format="json")

    assert response.status_code == 201


def test_a_non_member_gets_404_whatever_the_body(api_for: Api, dave: User, spam: Message) -> None:
    client = api_for(dave)

    for body in ({"reason": "spam"}, {"reason": ""}, {"nonsense": 1}):
        response = client.post(url(spam), body, format="json")
        assert response.status_code == 404
        assert response.json() == {"detail": "No such chat."}
    assert not Report.objects.exists()


def test_an_unknown_message_gets_404(api_for: Api, other_user: User, spam: Message) -> None:
    response = api_for(other_user).post(
        f"/api/chats/{spam.chat_id}/messages/{spam.pk + 1000}/report/",
        {"reason": "spam"},
        format="json",
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "No such message."}


def test_a_message_of_another_chat_gets_404(
    api_for: Api, user: User, other_user: User, spam: Message
) -> None:
    elsewhere = chat_factory(user, [other_user], title="Elsewhere")

    response = api_for(other_user).post(
        url(spam, chat_id=elsewhere.pk), {"reason": "x"}, format="json"
    )

    assert response.status_code == 404


def test_one_cannot_report_ones_own_message(api_for: Api, mallory: User, spam: Message) -> None:
    response = api_for(mallory).post(url(spam), {"reason": "oops"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": "You cannot report your own message."}


def test_a_deleted_message_cannot_be_reported(
    api_for: Api, other_user: User, mallory: User, spam: Message
) -> None:
    message_delete(message=spam, actor=mallory)

    response = api_for(other_user).post(url(spam), {"reason": "spam"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": "This message is deleted."}


def test_the_reason_may_be_1000_characters(api_for: Api, other_user: User, spam: Message) -> None:
    response = api_for(other_user).post(url(spam), {"reason": "x" * 1000}, format="json")

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "x" * 1001}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": None}, "reason"),
        ({"reason": 42}, "reason"),
        ({"reason": ["spam"]}, "reason"),
        ({}, "reason"),
        ({"reason": "spam", "severity": "high"}, "severity"),
        ({"reason": "spam", "status": "dismissed"}, "status"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    api_for: Api, other_user: User, spam: Message, body: dict[str, Any], field: str
) -> None:
    response = api_for(other_user).post(url(spam), body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Report.objects.exists()


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"spam"', "{"])
def test_a_body_that_is_no_json_object_is_400(
    api_for: Api, other_user: User, spam: Message, raw: str
) -> None:
    response = api_for(other_user).post(url(spam), raw, content_type="application/json")

    assert response.status_code == 400


def test_reporting_needs_a_token(anon: APIClient, spam: Message) -> None:
    response = anon.post(url(spam), {"reason": "spam"}, format="json")

    assert response.status_code == 401


def test_other_methods_are_not_allowed(api_for: Api, other_user: User, spam: Message) -> None:
    assert api_for(other_user).get(url(spam)).status_code == 405


def test_the_schema_documents_the_report_endpoint(anon: APIClient, db: None) -> None:
    schema = json.loads(anon.get("/api/schema/", {"format": "json"}).content)

    operation = schema["paths"]["/api/chats/{chat_id}/messages/{message_id}/report/"]["post"]
    assert {"200", "201", "400", "401", "404"} <= set(operation["responses"])
    assert operation["tags"] == ["moderation"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    reason = schema["components"]["schemas"][request.rsplit("/", 1)[1]]["properties"]["reason"]
    assert reason["maxLength"] == 1000
    created = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert set(schema["components"]["schemas"][created.rsplit("/", 1)[1]]["properties"]) == {
        "id",
        "chat_id",
        "message_id",
        "reason",
        "status",
        "created",
    }
