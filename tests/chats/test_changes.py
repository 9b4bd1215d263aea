"""Catching up on every change: versions, and the change feeds of a chat and of a user's chat list.

Bob keeps a copy of the team chat (tests/replica.py). While he is away, Alice and Carol change
everything there is to change; after one catch-up his copy equals a fresh load.
"""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from chats import selectors
from chats.models import Chat, Role
from chats.moderation.services import message_remove, message_restore
from chats.services.chats import chat_delete, chat_update
from chats.services.members import member_add, member_remove, member_role_set
from chats.services.messages import message_delete, message_edit, message_send, read_mark
from chats.services.reactions import reaction_add
from tests.chats.conftest import MakeUser
from tests.factories import chat_factory, messages_factory
from tests.replica import Replica, catch_up, fresh_load

Api = Callable[[User], APIClient]


def changes(api: APIClient, chat: Chat, **query: int) -> dict:
    response = api.get(f"/api/chats/{chat.pk}/changes/", query)
    assert response.status_code == 200, response.content
    return response.json()


def versions_of(chat: Chat) -> int:
    chat.refresh_from_db(fields=["version"])
    return chat.version


# --- Versions -------------------------------------------------------------------------------------


def test_every_change_to_a_chat_moves_its_version_by_one(
    team: Chat, user: User, other_user: User, carol: User, dave: User, make_user: MakeUser
) -> None:
    root = make_user(login="root", is_staff=True, is_superuser=True)
    before = versions_of(team)
    message, _ = message_send(chat=team, user=other_user, text="hi")
    writes = [
        lambda: message_edit(message=message, actor=other_user, text="hi!"),
        lambda: read_mark(chat=team, user=user, seq=1),
        lambda: message_remove(message=message, moderator=root, reason="spam"),
        lambda: message_restore(message=message, moderator=root),
        lambda: message_delete(message=message, actor=other_user),
        lambda: member_add(chat=team, actor=user, user_id=dave.pk),
        lambda: member_role_set(chat=team, actor=user, user_id=dave.pk, role=Role.ADMIN),
        lambda: member_remove(chat=team, actor=user, user_id=dave.pk),
        lambda: chat_update(chat=team, actor=user, title="Renamed"),
    ]

    for n, write in enumerate(writes, start=2):
        write()
        assert versions_of(team) == before + n


def test_one_write_that_changes_two_things_moves_the_version_once(
    team: Chat, user: User, carol: User
) -> None:
    """Handing ownership over changes two members, at one version."""
    before = versions_of(team)

    member_role_set(chat=team, actor=user, user_id=carol.pk, role=Role.OWNER)

    assert versions_of(team) == before + 1
    members = {m.user_id: m.version for m in team.memberships.all()}
    assert members[user.pk] == members[carol.pk] == before + 1


def test_a_post_carries_its_version_and_moves_its_authors_read_marker_with_it(
    api_for: Api, team: Chat, other_user: User
) -> None:
    api = api_for(other_user)

    posted = api.post(f"/api/chats/{team.pk}/messages/", {"text": "hi"}, format="json").json()

    assert posted["version"] == versions_of(team)
    bob = next(m for m in changes(api, team, since=posted["version"] - 1)["members"])
    assert (bob["user"]["id"], bob["read_seq"], bob["version"]) == (
        other_user.pk,
        posted["seq"],
        posted["version"],
    )


def test_a_read_marker_that_does_not_move_changes_nothing(team: Chat, other_user: User) -> None:
    message_send(chat=team, user=other_user, text="mine, so already read")
    before = versions_of(team)

    read_mark(chat=team, user=other_user, seq=1)

    assert versions_of(team) == before


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 7])
def test_pages_read_together_are_the_pages_asked_one_by_one(
    user: User, other_user: User, carol: User, limit: int
) -> None:
    """A socket's sync reads ten pages in one go; a REST client asks page after page. Each post
    is two things at one version (the message and the author's member row), so page ends fall
    inside versions too."""
    chat = chat_factory(user, [other_user])
    since = versions_of(chat)
    for n in range(9):
        message_send(chat=chat, user=other_user if n % 3 else user, text=f"m{n}")
    member_add(chat=chat, actor=user, user_id=carol.pk)
    chat_update(chat=chat, actor=user, title="Renamed")
    member_remove(chat=chat, actor=user, user_id=carol.pk)

    def shape(page: selectors.ChatChanges) -> tuple:
        return (
            page.version,
            page.has_more,
            [m.id for m in page.messages],
            [m.user_id for m in page.members],
            page.removed_user_ids,
        )

    together = selectors.chat_changes(
        user=user, chat_id=chat.pk, since=since, limit=limit, pages=10
    )
    one_by_one, at = [], since
    while True:
        [page] = selectors.chat_changes(user=user, chat_id=chat.pk, since=at, limit=limit)
        one_by_one.append(page)
        if not page.has_more or len(one_by_one) == 10:
            break
        at = page.version

    assert [shape(page) for page in together] == [shape(page) for page in one_by_one]


@pytest.mark.parametrize("pages", [1, 10])
def test_reading_ten_pages_costs_the_queries_of_one(
    user: User, other_user: User, pages: int
) -> None:
    chat = chat_factory(user, [other_user])
    since = versions_of(chat)
    for n in range(40):
        message_send(chat=chat, user=other_user, text=f"m{n}")

    with CaptureQueriesContext(connection) as queries:
        read = selectors.chat_changes(user=user, chat_id=chat.pk, since=since, limit=3, pages=pages)

    assert len(read) == pages
    # The chat and its last message, the changed versions, then messages, members, departures
    # (and the messages' reactions, when any has some).
    assert len(queries) == 6


# --- The chat's feed ------------------------------------------------------------------------------


def test_a_member_who_was_away_catches_up_on_every_kind_of_change(
    api_for: Api,
    team: Chat,
    user: User,
    other_user: User,
    carol: User,
    dave: User,
    make_user: MakeUser,
) -> None:
    bob = api_for(other_user)
    replica = Replica()
    messages = messages_factory(team, user, 5)
    catch_up(bob, team.pk, replica)
    assert replica.state() == fresh_load(bob, team.pk)

    root = make_user(login="root", is_staff=True, is_superuser=True)
    message_send(chat=team, user=carol, text="new while bob was away")
    message_edit(message=messages[0], actor=user, text="edited once")
    message_edit(message=messages[0], actor=user, text="edited twice")
    message_delete(message=messages[1], actor=user)
    message_remove(message=messages[2], moderator=root, reason="spam")
    message_remove(message=messages[3], moderator=root, reason="mistake")
    message_restore(message=messages[3], moderator=root)
    member_add(chat=team, actor=user, user_id=dave.pk)
    member_role_set(chat=team, actor=user, user_id=carol.pk, role=Role.MEMBER)
    member_remove(chat=team, actor=user, user_id=dave.pk)
    chat_update(chat=team, actor=user, title="Renamed", description="New topic")
    read_mark(chat=team, user=carol, seq=6)

    answer = changes(bob, team, since=replica.version)
    catch_up(bob, team.pk, replica)

    assert replica.state() == fresh_load(bob, team.pk)
    assert answer["removed_user_ids"] == [dave.pk]
    texts = {m["seq"]: m["text"] for m in answer["messages"]}
    assert texts == {1: "edited twice", 2: "", 3: "", 4: "message 4", 6: "new while bob was away"}
    assert answer["chat"]["title"] == "Renamed"


def test_a_member_who_is_up_to_date_gets_nothing(api_for: Api, team: Chat, user: User) -> None:
    messages_factory(team, user, 2)
    now = versions_of(team)

    answer = changes(api_for(user), team, since=now)

    assert answer == {
        "version": now,
        "chat": None,
        "messages": [],
        "members": [],
        "removed_user_ids": [],
        "has_more": False,
    }


def test_a_thing_changed_many_times_comes_once_as_it_is_now(
    api_for: Api, team: Chat, user: User
) -> None:
    (message,) = messages_factory(team, user, 1)
    since = versions_of(team)
    for n in range(5):
        message_edit(message=message, actor=user, text=f"take {n}")

    answer = changes(api_for(user), team, since=since)

    assert [(m["id"], m["text"]) for m in answer["messages"]] == [(message.pk, "take 4")]
    assert answer["version"] == since + 5


def test_the_feed_pages_by_items_and_never_splits_a_version(
    api_for: Api, user: User, make_user: MakeUser
) -> None:
    """Eleven members join at the chat's first version: a page of 5 runs past 5 to hold them
    all. Alice's posts after it (each with her read marker, at one version) come 5 items to a
    page, with has_more until the last."""
    crowd = [make_user() for _ in range(11)]
    chat = chat_factory(user, crowd)
    messages_factory(chat, user, 9)
    api = api_for(user)

    first = changes(api, chat, since=0, limit=5)
    # Alice's own member row moved on with her posts: it comes with the last of them.
    assert (len(first["members"]), first["messages"], first["version"]) == (11, [], 1)
    assert first["has_more"]

    replica = Replica()
    pages = catch_up(api, chat.pk, replica, limit=5)

    # Version 1; posts 1-5; posts 6-9 with Alice's row.
    assert pages == 3
    assert replica.state() == fresh_load(api, chat.pk)


def test_has_more_is_false_on_the_last_page_even_when_it_ends_exactly_at_the_limit(
    api_for: Api, team: Chat, user: User
) -> None:
    since = versions_of(team)
    messages = messages_factory(team, user, 1)
    message_edit(message=messages[0], actor=user, text="edited")

    answer = changes(api_for(user), team, since=since, limit=2)

    # The message and Alice's member row (her read marker moved with the post).
    assert len(answer["messages"]) + len(answer["members"]) == 2
    assert not answer["has_more"]


def test_someone_who_is_not_a_member_learns_nothing(api_for: Api, team: Chat, dave: User) -> None:
    response = api_for(dave).get(f"/api/chats/{team.pk}/changes/", {"since": 0})

    assert response.status_code == 404


@pytest.mark.parametrize(
    "query",
    [{}, {"since": -1}, {"since": "x"}, {"since": 0, "limit": 0}, {"since": 0, "limit": 501}],
)
def test_a_bad_feed_question_is_a_400(api_for: Api, team: Chat, user: User, query: dict) -> None:
    response = api_for(user).get(f"/api/chats/{team.pk}/changes/", query)

    assert response.status_code == 400


@pytest.mark.parametrize("items", [1, 200])
def test_the_feed_costs_the_same_queries_for_1_or_200_changed_items(
    api_for: Api, user: User, other_user: User, items: int
) -> None:
    chat = chat_factory(user, [other_user])
    since = versions_of(chat)
    for n in range(items):
        message, _ = message_send(chat=chat, user=user if n % 2 else other_user, text=f"m{n}")
        reaction_add(message=message, user=other_user, emoji="👍")
    api = api_for(user)

    with CaptureQueriesContext(connection) as queries:
        answer = changes(api, chat, since=since, limit=500)

    assert len(answer["messages"]) == items
    assert all(message["reactions"] for message in answer["messages"])
    assert len(queries) == FEED_QUERIES


# Authentication, the chat with the caller's fields, its last message and that message's reactions,
# where the page ends, then its messages, their reactions, members and departures.
FEED_QUERIES = 9


def test_pages_read_together_read_the_chat_once_and_end_at_its_version(
    user: User, other_user: User
) -> None:
    """What one socket `sync` answers: several pages, which all show the chat as it was read, and
    the last of which ends at that chat's version."""
    chat = chat_factory(user, [other_user])
    since = versions_of(chat)
    for n in range(12):
        message_send(chat=chat, user=other_user, text=f"m{n}")

    with CaptureQueriesContext(connection) as queries:
        pages = selectors.chat_changes(user=user, chat_id=chat.pk, since=since, limit=5, pages=10)

    chat_reads = [q for q in queries if q["sql"].startswith('SELECT "chats_chat"."id"')]
    assert len(chat_reads) == 1
    assert len(pages) > 2
    assert [page.has_more for page in pages] == [True] * (len(pages) - 1) + [False]
    assert pages[-1].version == versions_of(chat)
    assert sum(len(page.messages) for page in pages) == 12


# --- The user's feed ------------------------------------------------------------------------------


def test_a_user_catches_up_on_chats_joined_left_and_deleted(
    api_for: Api, user: User, other_user: User, dave: User
) -> None:
    api = api_for(other_user)
    stays = chat_factory(user, [other_user], title="Stays")
    leaves = chat_factory(user, [other_user], title="Leaves")
    deleted = chat_factory(user, [other_user], title="Deleted")
    first = api.get("/api/users/me/changes/", {"since": 0}).json()
    assert [c["title"] for c in first["chats"]] == ["Stays", "Leaves", "Deleted"]

    joined = chat_factory(user, [other_user, dave], title="Joined")
    member_remove(chat=leaves, actor=other_user, user_id=other_user.pk)
    deleted_id = deleted.pk
    chat_delete(chat=deleted, actor=user)
    chat_update(chat=stays, actor=user, title="Renamed")  # a change of the chat, not of my list

    answer = api.get("/api/users/me/changes/", {"since": first["user_version"]}).json()

    assert [c["id"] for c in answer["chats"]] == [joined.pk]
    assert answer["chats"][0]["my_role"] == "member"
    assert sorted(answer["removed_chat_ids"]) == sorted([leaves.pk, deleted_id])
    assert answer["user_version"] == first["user_version"] + 3


def test_joining_again_takes_a_chat_off_the_removed_list(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    api = api_for(other_user)
    member_remove(chat=team, actor=user, user_id=other_user.pk)
    member_add(chat=team, actor=user, user_id=other_user.pk)

    answer = api.get("/api/users/me/changes/", {"since": 0}).json()

    assert [c["id"] for c in answer["chats"]] == [team.pk]
    assert answer["removed_chat_ids"] == []
    assert changes(api_for(user), team, since=0)["removed_user_ids"] == []


def test_a_removed_member_gets_404_from_the_chat_and_finds_it_in_their_own_feed(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    api = api_for(other_user)
    member_remove(chat=team, actor=user, user_id=other_user.pk)

    assert api.get(f"/api/chats/{team.pk}/changes/", {"since": 0}).status_code == 404
    assert api.get("/api/users/me/changes/", {"since": 0}).json()["removed_chat_ids"] == [team.pk]
