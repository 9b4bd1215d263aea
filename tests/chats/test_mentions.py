"""Mentions and notification levels.

`@login` of a member mentions them, `@all` every member but the author (in chats of more than 10
members only from owners and admins). Each member's `mention_count` per chat counts the messages
past their read marker that mention them. `PATCH /api/chats/{id}/settings/` sets a member's own
`notify` level for a chat: a change of their list of chats, not of the chat.

Alice (`user`) owns the team, Carol is its admin and Bob (`other_user`) a plain member; Dave is
in no chat. Mo is a moderator: staff with the remove_message permission.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, ChatType, Membership, Role
from chats.moderation.services import message_remove, message_restore
from chats.services.members import member_add
from chats.services.messages import mentions_parse, message_edit, message_send
from tests.chats.conftest import Event, MakeUser
from tests.chats.test_chat_create import CHAT_FIELDS
from tests.factories import chat_factory

Api = Callable[[User], APIClient]


@pytest.fixture
def mo(make_user: MakeUser) -> User:
    moderator = make_user(login="mo", name="Mo", is_staff=True)
    moderator.user_permissions.add(
        Permission.objects.get(content_type__app_label="chats", codename="remove_message")
    )
    return moderator


@pytest.fixture
def crowd(user: User, other_user: User, carol: User, make_user: MakeUser) -> Callable[[int], Chat]:
    """A group of `size` members in all: Alice owns it, Carol is its admin, Bob and the rest are
    plain members."""

    def make(size: int) -> Chat:
        others = [make_user() for _ in range(size - 3)]
        chat = chat_factory(user, [other_user, *others], title=f"{size} people")
        member_add(chat=chat, actor=user, user_id=carol.pk, role=Role.ADMIN)
        assert Membership.objects.filter(chat=chat).count() == size
        return chat

    return make


def post(client: APIClient, chat: Chat, **body: object) -> dict[str, Any]:
    response = client.post(f"/api/chats/{chat.pk}/messages/", body, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def mentions(client: APIClient, chat: Chat, text: str) -> list[int]:
    return list(post(client, chat, text=text)["mentions"])


def everyone_but(chat: Chat, author: User) -> list[int]:
    return sorted(
        Membership.objects.filter(chat=chat).exclude(user=author).values_list("user_id", flat=True)
    )


def mention_count(client: APIClient, chat: Chat) -> int:
    """The caller's mention_count for the chat, which the chat's detail and the chat list agree
    on."""
    detail = client.get(f"/api/chats/{chat.pk}/").json()["chat"]
    (listed,) = [c for c in client.get("/api/chats/").json()["results"] if c["id"] == chat.pk]
    assert detail["mention_count"] == listed["mention_count"]
    return int(detail["mention_count"])


def read(client: APIClient, chat: Chat, seq: int) -> None:
    assert (
        client.post(f"/api/chats/{chat.pk}/read/", {"seq": seq}, format="json").status_code == 204
    )


# --- Who a text mentions --------------------------------------------------------------------------


def test_mentioning_a_member_by_login_lists_them(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    message = post(api_for(user), team, text="@bob can you review this?")

    assert message["mentions"] == [other_user.pk]
    (listed,) = api_for(other_user).get(f"/api/chats/{team.pk}/messages/").json()["results"]
    assert listed["mentions"] == [other_user.pk]


def test_several_mentions_are_listed_once_each_by_id(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    found = mentions(api_for(user), team, "@carol and @bob, then @bob again")

    assert found == sorted([other_user.pk, carol.pk])


def test_a_login_that_is_not_a_member_mentions_nobody(
    api_for: Api, team: Chat, user: User, dave: User
) -> None:
    assert mentions(api_for(user), team, "@dave would know, or @nobody") == []


@pytest.mark.parametrize("text", ["@BOB", "@Bob", "hey @bOb"])
def test_mentions_ignore_case(
    api_for: Api, team: Chat, user: User, other_user: User, text: str
) -> None:
    assert mentions(api_for(user), team, text) == [other_user.pk]


def test_a_login_registered_with_capitals_is_mentioned_in_any_case(
    api_for: Api, team: Chat, user: User, make_user: MakeUser
) -> None:
    eve = make_user(login="EveK", name="Eve")
    member_add(chat=team, actor=user, user_id=eve.pk)

    assert mentions(api_for(user), team, "@evek and @EVEK") == [eve.pk]


@pytest.mark.parametrize(
    "text",
    ["thanks @bob.", "thanks @bob!", "@bob, look", "(@bob)", "ask @bob?", "@bob\nnext line"],
)
def test_a_mention_among_punctuation_is_a_mention(
    api_for: Api, team: Chat, user: User, other_user: User, text: str
) -> None:
    assert mentions(api_for(user), team, text) == [other_user.pk]


def test_a_login_with_dots_and_dashes_is_mentioned_whole(
    api_for: Api, team: Chat, user: User, make_user: MakeUser
) -> None:
    jd = make_user(login="j.doe-2", name="J")
    member_add(chat=team, actor=user, user_id=jd.pk)

    assert mentions(api_for(user), team, "over to @j.doe-2.") == [jd.pk]


@pytest.mark.parametrize("text", ["mail x@bob", "bob@bob.example", "@@bob", "no mention here"])
def test_an_address_is_not_a_mention(api_for: Api, team: Chat, user: User, text: str) -> None:
    assert mentions(api_for(user), team, text) == []


def test_the_author_mentioning_themself_is_not_listed(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    assert mentions(api_for(user), team, "note to self @alice, and @bob") == [other_user.pk]


def test_a_mention_in_a_direct_chat(api_for: Api, user: User, other_user: User) -> None:
    direct = chat_factory(user, [other_user], chat_type=ChatType.DIRECT)

    assert mentions(api_for(user), direct, "@bob ping") == [other_user.pk]


# --- @all -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("poster", ["owner", "admin", "member"])
def test_all_in_a_chat_of_ten_mentions_everyone_but_the_author_whoever_writes_it(
    api_for: Api,
    crowd: Callable[[int], Chat],
    user: User,
    other_user: User,
    carol: User,
    poster: str,
) -> None:
    chat = crowd(10)
    author = {"owner": user, "admin": carol, "member": other_user}[poster]

    found = mentions(api_for(author), chat, "@all standup in 5")

    assert found == everyone_but(chat, author)
    assert len(found) == 9


def test_a_plain_member_s_all_in_a_chat_of_eleven_mentions_nobody(
    api_for: Api, crowd: Callable[[int], Chat], user: User, other_user: User
) -> None:
    chat = crowd(11)

    assert mentions(api_for(other_user), chat, "@all free pizza") == []
    assert mention_count(api_for(user), chat) == 0


def test_a_plain_member_s_all_in_a_big_chat_leaves_their_other_mentions(
    api_for: Api, crowd: Callable[[int], Chat], other_user: User, carol: User
) -> None:
    chat = crowd(11)

    assert mentions(api_for(other_user), chat, "@all, well @carol at least") == [carol.pk]


@pytest.mark.parametrize("poster", ["owner", "admin"])
def test_the_owner_s_or_an_admin_s_all_in_a_chat_of_eleven_mentions_everyone(
    api_for: Api,
    crowd: Callable[[int], Chat],
    user: User,
    other_user: User,
    carol: User,
    poster: str,
) -> None:
    chat = crowd(11)
    author = user if poster == "owner" else carol

    found = mentions(api_for(author), chat, "@all release at 5")

    assert found == everyone_but(chat, author)
    assert len(found) == 10
    assert mention_count(api_for(other_user), chat) == 1


# --- mention_count --------------------------------------------------------------------------------


def test_a_mention_counts_until_the_read_marker_passes_it(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    alice, bob = api_for(user), api_for(other_user)
    assert mention_count(bob, team) == 0
    post(alice, team, text="@bob look at this")  # seq 1
    post(alice, team, text="nothing for bob")  # seq 2
    post(api_for(carol), team, text="@bob and this")  # seq 3

    assert mention_count(bob, team) == 2
    assert mention_count(api_for(carol), team) == 0
    read(bob, team, 1)
    assert mention_count(bob, team) == 1
    read(bob, team, 2)
    assert mention_count(bob, team) == 1
    read(bob, team, 3)
    assert mention_count(bob, team) == 0
    assert bob.get(f"/api/chats/{team.pk}/").json()["chat"]["unread_count"] == 0


def test_posting_reads_the_chat_and_so_clears_the_mentions(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    bob = api_for(other_user)
    post(api_for(user), team, text="@bob are you there?")
    assert mention_count(bob, team) == 1

    post(bob, team, text="yes")

    assert mention_count(bob, team) == 0


def test_a_mention_in_a_thread_reply_counts(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    (root, _) = message_send(chat=team, user=user, text="Friday plans?")

    reply = post(api_for(carol), team, text="@bob pizza?", thread_root_id=root.pk)

    assert reply["mentions"] == [other_user.pk]
    assert mention_count(api_for(other_user), team) == 1


def test_a_deleted_mentioning_message_no_longer_counts(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    bob = api_for(other_user)
    message = post(api_for(user), team, text="@bob wrong chat, sorry")
    assert mention_count(bob, team) == 1

    deleted = api_for(user).delete(f"/api/chats/{team.pk}/messages/{message['id']}/")

    assert deleted.status_code == 204
    assert mention_count(bob, team) == 0
    (tombstone,) = bob.get(f"/api/chats/{team.pk}/messages/").json()["results"]
    assert tombstone["mentions"] == []


def test_a_moderator_s_removal_drops_the_mention_and_a_restore_brings_it_back(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User, mo: User
) -> None:
    bob = api_for(other_user)
    (message, _) = message_send(chat=team, user=carol, text="@bob you again")

    message_remove(message=message, moderator=mo, reason="harassment")
    assert mention_count(bob, team) == 0

    message_restore(message=message, moderator=mo)
    assert mention_count(bob, team) == 1
    (restored,) = bob.get(f"/api/chats/{team.pk}/messages/").json()["results"]
    assert restored["mentions"] == [other_user.pk]


def test_an_edit_that_removes_a_mention_removes_it_from_the_message_and_the_count(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    alice, bob = api_for(user), api_for(other_user)
    message = post(alice, team, text="@bob can you take this?")
    path = f"/api/chats/{team.pk}/messages/{message['id']}/"

    edited = alice.patch(path, {"text": "never mind, done"}, format="json")

    assert edited.status_code == 200
    assert edited.json()["mentions"] == []
    assert mention_count(bob, team) == 0

    again = alice.patch(path, {"text": "@carol and @bob, after all"}, format="json").json()

    assert again["mentions"] == sorted([other_user.pk, carol.pk])
    assert mention_count(bob, team) == 1
    assert mention_count(api_for(carol), team) == 1


def test_an_edit_that_keeps_a_mention_counts_it_once(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    (message, _) = message_send(chat=team, user=user, text="@bob lunch?")

    message_edit(message=message, actor=user, text="@bob lunch at 12?")

    assert mention_count(api_for(other_user), team) == 1


def test_the_change_feed_brings_an_edit_that_changed_the_mentions(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    (message, _) = message_send(chat=team, user=user, text="@bob ping")
    team.refresh_from_db(fields=["version"])
    since = team.version

    message_edit(message=message, actor=user, text="ping, anyone")

    feed = api_for(other_user).get(f"/api/chats/{team.pk}/changes/", {"since": since}).json()
    assert [(m["id"], m["mentions"], m["version"]) for m in feed["messages"]] == [
        (message.pk, [], since + 1)
    ]
    assert feed["chat"]["mention_count"] == 0


# --- Parsing, as a property -----------------------------------------------------------------------

# Pieces of a text, each with whom it mentions when Alice writes it in the team. Alice is its
# author; Dave is no member; an address is no mention.
PIECES: dict[str, str | None] = {
    "@bob": "bob",
    "@BOB": "bob",
    "@bob.": "bob",
    "@carol": "carol",
    "@Carol!": "carol",
    "@alice": None,
    "@dave": None,
    "@nobody": None,
    "x@bob": None,
    "carol@example.com": None,
    "lunch": None,
    "?": None,
    "@": None,
    "email:": None,
}
SEPARATORS = [" ", "\n", ", ", " (", ") ", "! ", "\t"]


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    words=st.lists(
        st.tuples(st.sampled_from(sorted(PIECES)), st.sampled_from(SEPARATORS)), max_size=12
    )
)
def test_a_text_mentions_exactly_the_members_it_names(
    team: Chat, user: User, other_user: User, carol: User, words: list[tuple[str, str]]
) -> None:
    author = Membership.objects.get(chat=team, user=user)
    text = "".join(piece + separator for piece, separator in words)
    named = {login for piece, _ in words if (login := PIECES[piece]) is not None}
    ids = {"bob": other_user.pk, "carol": carol.pk}

    assert mentions_parse(chat=team, author=author, text=text) == sorted(ids[n] for n in named)


# --- Notification level ---------------------------------------------------------------------------


def settings_patch(client: APIClient, chat: Chat, body: object) -> Any:
    return client.patch(f"/api/chats/{chat.pk}/settings/", body, format="json")


def user_feed(client: APIClient, since: int) -> dict[str, Any]:
    response = client.get("/api/users/me/changes/", {"since": since})
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_a_new_member_is_notified_of_everything(api_for: Api, team: Chat, other_user: User) -> None:
    assert api_for(other_user).get(f"/api/chats/{team.pk}/").json()["chat"]["notify"] == "all"


@pytest.mark.parametrize("level", ["mentions", "none", "all"])
def test_a_member_sets_their_notification_level_for_a_chat(
    api_for: Api, team: Chat, other_user: User, level: str
) -> None:
    bob = api_for(other_user)
    settings_patch(bob, team, {"notify": "none" if level == "all" else "all"})

    response = settings_patch(bob, team, {"notify": level})

    assert response.status_code == 200, response.content
    chat = response.json()
    assert set(chat) == CHAT_FIELDS
    assert (chat["id"], chat["notify"], chat["my_role"]) == (team.pk, level, "member")
    assert bob.get(f"/api/chats/{team.pk}/").json()["chat"] == chat
    (listed,) = bob.get("/api/chats/").json()["results"]
    assert listed["notify"] == level


@pytest.mark.parametrize(
    "body",
    [
        {"notify": "sometimes"},
        {"notify": "ALL"},
        {"notify": ""},
        {"notify": None},
        {"notify": 1},
        {"notify": ["all"]},
        {},
        {"notify": "all", "mute": True},
    ],
)
def test_a_bad_notification_level_is_refused(
    api_for: Api, team: Chat, other_user: User, body: dict[str, Any]
) -> None:
    bob = api_for(other_user)
    since = user_feed(bob, 0)["user_version"]

    response = settings_patch(bob, team, body)

    assert response.status_code == 400
    assert set(response.json()) <= {"notify", "mute"}
    assert user_feed(bob, 0)["user_version"] == since


def test_a_non_member_cannot_set_a_level_nor_learn_that_the_chat_exists(
    api_for: Api, team: Chat, dave: User
) -> None:
    response = settings_patch(api_for(dave), team, {"notify": "none"})

    assert response.status_code == 404
    assert not Membership.objects.filter(chat=team, user=dave).exists()


def test_a_new_level_moves_my_user_version_and_my_feed_brings_the_chat(
    api_for: Api, team: Chat, other_user: User
) -> None:
    bob = api_for(other_user)
    since = user_feed(bob, 0)["user_version"]

    chat = settings_patch(bob, team, {"notify": "mentions"}).json()

    assert user_feed(bob, since) == {
        "user_version": since + 1,
        "chats": [chat],
        "removed_chat_ids": [],
    }


def test_setting_the_same_level_again_changes_nothing(
    api_for: Api, team: Chat, other_user: User
) -> None:
    bob = api_for(other_user)
    settings_patch(bob, team, {"notify": "mentions"})
    since = user_feed(bob, 0)["user_version"]

    again = settings_patch(bob, team, {"notify": "mentions"})

    assert again.status_code == 200
    assert again.json()["notify"] == "mentions"
    assert user_feed(bob, since)["chats"] == []


def test_my_level_changes_nothing_for_the_other_members(
    api_for: Api, team: Chat, user: User, other_user: User
) -> None:
    alice = api_for(user)
    alices_since = user_feed(alice, 0)["user_version"]
    team.refresh_from_db(fields=["version"])
    chat_version = team.version

    settings_patch(api_for(other_user), team, {"notify": "none"})

    assert user_feed(alice, alices_since) == {
        "user_version": alices_since,
        "chats": [],
        "removed_chat_ids": [],
    }
    assert alice.get(f"/api/chats/{team.pk}/").json()["chat"]["notify"] == "all"
    feed = alice.get(f"/api/chats/{team.pk}/changes/", {"since": chat_version}).json()
    assert (feed["version"], feed["chat"], feed["messages"], feed["members"]) == (
        chat_version,
        None,
        [],
        [],
    )


def test_a_new_level_is_announced_to_my_own_sockets_only(
    api_for: Api,
    team: Chat,
    other_user: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: Any,
) -> None:
    bob = api_for(other_user)
    since = user_feed(bob, 0)["user_version"]

    with django_capture_on_commit_callbacks(execute=True):
        chat = settings_patch(bob, team, {"notify": "mentions"}).json()
        settings_patch(bob, team, {"notify": "mentions"})

    assert sent_events == [
        (
            f"user.{other_user.pk}",
            {
                "type": "user.changes",
                "user_version": since + 1,
                "chats": [chat],
                "removed_chat_ids": [],
            },
        )
    ]
