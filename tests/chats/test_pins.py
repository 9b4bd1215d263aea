"""PUT and DELETE /api/chats/{id}/pins/{message_id}/, and GET /api/chats/{id}/pins/: pins.

In a chat of ten or more, the owner and admins keep the pins; in a direct chat and in a group of
fewer than ten, anyone does. The list shows the pinned messages, most recently pinned first.
"""

from collections.abc import Callable
from typing import Any

import pytest
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, ChatType, Message
from chats.moderation.services import message_remove, message_restore
from chats.services.members import member_add
from chats.services.messages import message_delete, message_send
from chats.services.pins import pin_set
from chats.services.reactions import reaction_add
from tests.chats.conftest import Event, MakeUser
from tests.conftest import Rates
from tests.factories import chat_factory, messages_factory

Api = Callable[[User], APIClient]

# Authentication, the chat with its membership check, the page of messages, their reactions.
PINS_LIST_QUERIES = 4


def pin_url(message: Message) -> str:
    return f"/api/chats/{message.chat_id}/pins/{message.pk}/"


def pins(api: APIClient, chat: Chat, **query: Any) -> dict[str, Any]:
    response = api.get(f"/api/chats/{chat.pk}/pins/", query)
    assert response.status_code == 200, response.content
    return dict(response.json())


def pinned_ids(api: APIClient, chat: Chat) -> list[int]:
    return [message["id"] for message in pins(api, chat)["results"]]


def as_seen_by(api: APIClient, message: Message) -> dict[str, Any]:
    """The message as the caller's client shows it in the chat's history."""
    response = api.get(f"/api/chats/{message.chat_id}/messages/")
    assert response.status_code == 200, response.content
    (found,) = [item for item in response.json()["results"] if item["id"] == message.pk]
    return dict(found)


def chat_version(chat: Chat) -> int:
    chat.refresh_from_db(fields=["version"])
    return chat.version


@pytest.fixture
def crowd(team: Chat, user: User, make_user: MakeUser) -> Callable[[int], Chat]:
    """The team (Alice owner, Carol admin, Bob member) grown to `size` members."""

    def grow(size: int) -> Chat:
        for _ in range(size - 3):
            member_add(chat=team, actor=user, user_id=make_user().pk)
        return team

    return grow


@pytest.fixture
def big_team(crowd: Callable[[int], Chat]) -> Chat:
    return crowd(10)


# --- Who pins -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_the_owner_and_admins_pin_in_a_chat_of_ten(
    api_for: Api, big_team: Chat, user: User, other_user: User, carol: User, who: str
) -> None:
    message, _ = message_send(chat=big_team, user=other_user, text="the plan")
    pinner = api_for(user if who == "owner" else carol)

    assert pinner.put(pin_url(message)).status_code == 204
    assert as_seen_by(api_for(other_user), message)["pinned"] is True
    assert pinner.delete(pin_url(message)).status_code == 204
    assert as_seen_by(api_for(other_user), message)["pinned"] is False


def test_a_plain_member_of_a_chat_of_ten_may_not_pin_or_unpin(
    api_for: Api, big_team: Chat, user: User, other_user: User
) -> None:
    message, _ = message_send(chat=big_team, user=other_user, text="my own plan")
    before = chat_version(big_team)
    bob = api_for(other_user)

    assert bob.put(pin_url(message)).status_code == 403
    assert chat_version(big_team) == before
    pin_set(message=message, actor=user, pinned=True)
    assert bob.delete(pin_url(message)).status_code == 403
    assert pinned_ids(bob, big_team) == [message.pk]


@pytest.mark.parametrize("size", [3, 9])
def test_in_a_group_under_ten_a_plain_member_pins(
    api_for: Api, crowd: Callable[[int], Chat], user: User, other_user: User, size: int
) -> None:
    chat = crowd(size)
    (alices,) = messages_factory(chat, user, 1)
    bob = api_for(other_user)

    assert bob.put(pin_url(alices)).status_code == 204
    assert pinned_ids(bob, chat) == [alices.pk]
    assert bob.delete(pin_url(alices)).status_code == 204
    assert pinned_ids(bob, chat) == []


def test_a_group_that_grows_to_ten_takes_the_pins_back_from_plain_members(
    api_for: Api, crowd: Callable[[int], Chat], user: User, other_user: User, make_user: MakeUser
) -> None:
    chat = crowd(9)
    first, second = messages_factory(chat, user, 2)
    bob = api_for(other_user)
    assert bob.put(pin_url(first)).status_code == 204

    member_add(chat=chat, actor=user, user_id=make_user().pk)

    assert bob.put(pin_url(second)).status_code == 403
    assert pinned_ids(bob, chat) == [first.pk]


def test_a_channel_reader_may_not_pin(
    api_for: Api, channel: Chat, user: User, other_user: User, carol: User
) -> None:
    (news,) = messages_factory(channel, user, 1)

    assert api_for(other_user).put(pin_url(news)).status_code == 403
    assert api_for(carol).put(pin_url(news)).status_code == 204
    assert api_for(other_user).delete(pin_url(news)).status_code == 403
    assert pinned_ids(api_for(other_user), channel) == [news.pk]


def test_anyone_in_a_direct_chat_pins_and_unpins(
    api_for: Api, user: User, other_user: User
) -> None:
    direct = chat_factory(user, [other_user], chat_type=ChatType.DIRECT)
    (alices,) = messages_factory(direct, user, 1)

    assert api_for(other_user).put(pin_url(alices)).status_code == 204
    assert pinned_ids(api_for(user), direct) == [alices.pk]
    assert api_for(user).delete(pin_url(alices)).status_code == 204
    assert pinned_ids(api_for(other_user), direct) == []


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_a_non_member_cannot_pin_nor_see_the_pins(
    api_for: Api, team: Chat, user: User, dave: User, method: str
) -> None:
    (alices,) = messages_factory(team, user, 1)
    pin_set(message=alices, actor=user, pinned=True)
    path = f"/api/chats/{team.pk}/pins/" if method == "get" else pin_url(alices)

    response = getattr(api_for(dave), method)(path)

    assert response.status_code == 404
    alices.refresh_from_db()
    assert alices.pinned_at is not None


def test_a_message_is_pinned_only_through_its_own_chat(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    (alices,) = messages_factory(team, user, 1)
    elsewhere = chat_factory(user, [other_user], title="Elsewhere")

    assert api_for(user).put(f"/api/chats/{elsewhere.pk}/pins/{alices.pk}/").status_code == 404
    assert pinned_ids(api_for(user), elsewhere) == []
    assert pinned_ids(api_for(user), team) == []


def test_pinning_a_message_that_does_not_exist_is_404(api_for: Api, team: Chat, user: User) -> None:
    assert api_for(user).put(f"/api/chats/{team.pk}/pins/999999/").status_code == 404


# --- Pinning and the list -------------------------------------------------------------------------


def test_a_pin_moves_the_version_once_and_pinning_again_changes_nothing(
    api_for: Api, team: Chat, user: User
) -> None:
    (alices,) = messages_factory(team, user, 1)
    before = chat_version(team)
    alice = api_for(user)

    assert alice.put(pin_url(alices)).status_code == 204
    alices.refresh_from_db()
    pinned_at, version = alices.pinned_at, alices.version
    assert alice.put(pin_url(alices)).status_code == 204

    assert chat_version(team) == version == before + 1
    alices.refresh_from_db()
    assert (alices.pinned_at, alices.version) == (pinned_at, version)


def test_unpinning_what_is_not_pinned_changes_nothing(api_for: Api, team: Chat, user: User) -> None:
    (alices,) = messages_factory(team, user, 1)
    before = chat_version(team)

    assert api_for(user).delete(pin_url(alices)).status_code == 204

    assert chat_version(team) == before


def test_the_list_shows_full_messages_most_recently_pinned_first(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    first, second, third = messages_factory(team, other_user, 3)
    reaction_add(message=second, user=carol, emoji="👍")
    for message in (second, third, first):
        assert api_for(user).put(pin_url(message)).status_code == 204
    bob, carols = api_for(other_user), api_for(carol)

    listed = pins(bob, team)

    assert set(listed) == {"results", "next", "previous"}
    assert [m["id"] for m in listed["results"]] == [first.pk, third.pk, second.pk]
    assert all(m["pinned"] is True for m in listed["results"])
    assert listed["results"] == [as_seen_by(bob, m) for m in (first, third, second)]
    assert pins(carols, team)["results"][2]["reactions"] == [
        {"emoji": "👍", "count": 1, "me": True}
    ]


def test_pinning_again_keeps_a_pin_in_its_place_but_a_new_pin_goes_on_top(
    api_for: Api, team: Chat, user: User
) -> None:
    first, second = messages_factory(team, user, 2)
    alice = api_for(user)
    alice.put(pin_url(first))
    alice.put(pin_url(second))

    alice.put(pin_url(first))
    assert pinned_ids(alice, team) == [second.pk, first.pk]

    alice.delete(pin_url(first))
    alice.put(pin_url(first))
    assert pinned_ids(alice, team) == [first.pk, second.pk]


def test_the_list_comes_in_pages(api_for: Api, team: Chat, user: User) -> None:
    messages = messages_factory(team, user, 5)
    for message in messages:
        pin_set(message=message, actor=user, pinned=True)
    alice = api_for(user)

    page = pins(alice, team, limit=2)
    seen = [m["id"] for m in page["results"]]
    while page["next"]:
        response = alice.get(page["next"])
        assert response.status_code == 200
        page = response.json()
        seen += [m["id"] for m in page["results"]]

    assert seen == [m.pk for m in reversed(messages)]
    assert page["previous"] is not None


def test_an_unpinned_message_leaves_the_list(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    first, second = messages_factory(team, user, 2)
    alice = api_for(user)
    alice.put(pin_url(first))
    alice.put(pin_url(second))

    assert alice.delete(pin_url(first)).status_code == 204

    assert pinned_ids(api_for(other_user), team) == [second.pk]
    assert as_seen_by(api_for(other_user), first)["pinned"] is False


def test_a_chat_without_pins_lists_none(api_for: Api, team: Chat, other_user: User) -> None:
    messages_factory(team, other_user, 2)

    assert pins(api_for(other_user), team) == {"results": [], "next": None, "previous": None}


# --- Deletes and moderation -----------------------------------------------------------------------


def test_a_deleted_message_cannot_be_pinned(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    (bobs,) = messages_factory(team, other_user, 1)
    message_delete(message=bobs, actor=other_user)
    before = chat_version(team)

    response = api_for(user).put(pin_url(bobs))

    assert response.status_code == 400
    assert chat_version(team) == before
    assert pinned_ids(api_for(user), team) == []


def test_a_moderator_s_removal_hides_the_pin_and_a_restore_brings_it_back(
    api_for: Api, team: Chat, user: User, other_user: User, make_user: MakeUser
) -> None:
    root = make_user(login="root", is_staff=True, is_superuser=True)
    kept, removed = messages_factory(team, other_user, 2)
    pin_set(message=kept, actor=user, pinned=True)
    pin_set(message=removed, actor=user, pinned=True)
    bob = api_for(other_user)

    message_remove(message=removed, moderator=root, reason="leaked a password")

    assert pinned_ids(bob, team) == [kept.pk]
    assert as_seen_by(bob, removed)["pinned"] is False

    message_restore(message=removed, moderator=root)

    assert pinned_ids(bob, team) == [removed.pk, kept.pk]
    assert as_seen_by(bob, removed)["pinned"] is True


def test_an_author_s_delete_drops_the_pin_for_good(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    (bobs,) = messages_factory(team, other_user, 1)
    pin_set(message=bobs, actor=user, pinned=True)

    deleted = api_for(other_user).delete(f"/api/chats/{team.pk}/messages/{bobs.pk}/")

    assert deleted.status_code == 204
    assert pinned_ids(api_for(user), team) == []
    assert as_seen_by(api_for(user), bobs)["pinned"] is False
    bobs.refresh_from_db()
    assert bobs.pinned_at is None


# --- Catching up and events -----------------------------------------------------------------------


def test_the_change_feed_brings_a_pin_and_an_unpin(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    (alices,) = messages_factory(team, user, 1)
    bob = api_for(other_user)
    since = chat_version(team)

    api_for(user).put(pin_url(alices))
    pinned = bob.get(f"/api/chats/{team.pk}/changes/", {"since": since}).json()
    api_for(user).delete(pin_url(alices))
    unpinned = bob.get(f"/api/chats/{team.pk}/changes/", {"since": since + 1}).json()

    assert pinned["version"] == since + 1
    assert [(m["id"], m["version"], m["pinned"]) for m in pinned["messages"]] == [
        (alices.pk, since + 1, True)
    ]
    assert [(m["id"], m["version"], m["pinned"]) for m in unpinned["messages"]] == [
        (alices.pk, since + 2, False)
    ]


def test_a_pin_is_announced_once_and_a_repeat_announces_nothing(
    api_for: Api,
    team: Chat,
    user: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: Any,
) -> None:
    (alices,) = messages_factory(team, user, 1)
    alice = api_for(user)
    since = chat_version(team)

    with django_capture_on_commit_callbacks(execute=True):
        alice.put(pin_url(alices))
        alice.put(pin_url(alices))
        alice.delete(pin_url(alices))
        alice.delete(pin_url(alices))

    assert sent_events == [
        (
            f"chat.{team.pk}",
            {
                "type": "pins",
                "chat_id": team.pk,
                "message_id": alices.pk,
                "pinned": pinned,
                "version": version,
            },
        )
        for pinned, version in ((True, since + 1), (False, since + 2))
    ]


def test_pins_are_limited_per_user(
    api_for: Api, team: Chat, user: User, throttle_rates: Rates
) -> None:
    first, second = messages_factory(team, user, 2)
    alice = api_for(user)
    with throttle_rates(pin="2/min"):
        assert alice.put(pin_url(first)).status_code == 204
        assert alice.delete(pin_url(first)).status_code == 204
        refused = alice.put(pin_url(second))
        reading = alice.get(f"/api/chats/{team.pk}/pins/")

    assert refused.status_code == 429, refused.content
    assert int(refused["Retry-After"]) > 0
    assert reading.status_code == 200
    assert reading.json()["results"] == []


# --- Cost -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 30])
def test_the_pins_list_costs_the_same_for_1_or_30_pins(
    api: APIClient,
    user: User,
    make_user: MakeUser,
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    authors = [make_user() for _ in range(rows)]
    chat = chat_factory(user, authors)
    for author in authors:
        message, _ = message_send(chat=chat, user=author, text=f"from {author.login}")
        reaction_add(message=message, user=user, emoji="👍")
        pin_set(message=message, actor=user, pinned=True)

    with django_assert_max_num_queries(PINS_LIST_QUERIES):
        response = api.get(f"/api/chats/{chat.pk}/pins/", {"limit": 100})

    results = response.json()["results"]
    assert len(results) == rows
    assert all(m["reactions"] == [{"emoji": "👍", "count": 1, "me": True}] for m in results)
