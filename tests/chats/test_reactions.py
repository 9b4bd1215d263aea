"""PUT and DELETE /api/chats/{id}/messages/{message_id}/reactions/{emoji}/: reactions.

Bob writes in the team; Alice, Carol and he react to it with one emoji each time. Everyone sees
each emoji once with its count, and `me` says whether they are among those who put it there.
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from pytest_django import DjangoAssertNumQueries
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from accounts.models import User
from chats.models import Chat, Message, Reaction
from chats.moderation.services import message_remove, message_restore
from chats.services.members import member_remove
from chats.services.messages import message_delete, message_send
from chats.services.reactions import reaction_add
from tests.chats.conftest import Event, MakeUser
from tests.chats.test_query_counts import CHAT_LIST_QUERIES
from tests.chats.test_seq_concurrency import THREADS, race
from tests.conftest import Rates
from tests.factories import chat_factory, messages_factory

Api = Callable[[User], APIClient]

# Authentication, the chat with its membership check, the page of messages, and their reactions
# in one more (tests/chats/test_query_counts.py).
HISTORY_QUERIES = 4

# Twenty different emoji, more than any one person would put on a message.
TWENTY = [
    "👍", "👎", "😀", "😂", "😍", "😮", "😢", "😡", "🎉", "🔥",
    "👀", "🙏", "💯", "✅", "🚀", "🤔", "👏", "🙌", "💡", "🍕",
]  # fmt: skip

# A flag of tag characters: a black flag, "gbsct" and a cancel tag, seven code points.
SCOTLAND = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"


@pytest.fixture
def bobs_message(team: Chat, other_user: User) -> Message:
    message, _ = message_send(chat=team, user=other_user, text="lunch at noon?")
    return message


def url(message: Message, emoji: str) -> str:
    return f"/api/chats/{message.chat_id}/messages/{message.pk}/reactions/{quote(emoji)}/"


def as_seen_by(api: APIClient, message: Message) -> dict[str, Any]:
    """The message as the caller's client shows it in the chat's history."""
    response = api.get(f"/api/chats/{message.chat_id}/messages/")
    assert response.status_code == 200, response.content
    (found,) = [item for item in response.json()["results"] if item["id"] == message.pk]
    return dict(found)


def reactions(api: APIClient, message: Message) -> list[dict[str, Any]]:
    return list(as_seen_by(api, message)["reactions"])


def versions(message: Message) -> tuple[int, int]:
    """The chat's version and the message's."""
    message.refresh_from_db(fields=["version"])
    message.chat.refresh_from_db(fields=["version"])
    return message.chat.version, message.version


# --- Putting and taking away ----------------------------------------------------------------------


def test_a_member_reacts_and_everyone_sees_the_count_with_their_own_me(
    api_for: Api, bobs_message: Message, user: User, carol: User
) -> None:
    response = api_for(user).put(url(bobs_message, "👍"))

    assert response.status_code == 204
    assert response.content == b""
    assert reactions(api_for(user), bobs_message) == [{"emoji": "👍", "count": 1, "me": True}]
    assert reactions(api_for(carol), bobs_message) == [{"emoji": "👍", "count": 1, "me": False}]


def test_a_reaction_moves_the_chat_s_version_once_and_the_message_carries_it(
    api_for: Api, bobs_message: Message, user: User
) -> None:
    chat_before, _ = versions(bobs_message)

    api_for(user).put(url(bobs_message, "👍"))

    assert versions(bobs_message) == (chat_before + 1, chat_before + 1)
    assert as_seen_by(api_for(user), bobs_message)["version"] == chat_before + 1


def test_reacting_twice_is_one_reaction_and_changes_nothing(
    api_for: Api, bobs_message: Message, user: User
) -> None:
    alice = api_for(user)
    assert alice.put(url(bobs_message, "👍")).status_code == 204
    before = versions(bobs_message)

    assert alice.put(url(bobs_message, "👍")).status_code == 204

    assert versions(bobs_message) == before
    assert reactions(alice, bobs_message) == [{"emoji": "👍", "count": 1, "me": True}]
    assert Reaction.objects.filter(message=bobs_message).count() == 1


def test_taking_a_reaction_back_twice_is_harmless(
    api_for: Api, bobs_message: Message, user: User
) -> None:
    alice = api_for(user)
    alice.put(url(bobs_message, "👍"))
    chat_before, _ = versions(bobs_message)

    assert alice.delete(url(bobs_message, "👍")).status_code == 204
    assert versions(bobs_message) == (chat_before + 1, chat_before + 1)
    assert alice.delete(url(bobs_message, "👍")).status_code == 204

    assert versions(bobs_message) == (chat_before + 1, chat_before + 1)
    assert reactions(alice, bobs_message) == []
    assert not Reaction.objects.filter(message=bobs_message).exists()


def test_taking_back_a_reaction_never_put_is_harmless(
    api_for: Api, bobs_message: Message, user: User
) -> None:
    before = versions(bobs_message)

    assert api_for(user).delete(url(bobs_message, "👍")).status_code == 204

    assert versions(bobs_message) == before


def test_taking_mine_back_leaves_the_others(
    api_for: Api, bobs_message: Message, user: User, other_user: User
) -> None:
    alice, bob = api_for(user), api_for(other_user)
    alice.put(url(bobs_message, "👍"))
    bob.put(url(bobs_message, "👍"))

    assert bob.delete(url(bobs_message, "👍")).status_code == 204

    assert reactions(bob, bobs_message) == [{"emoji": "👍", "count": 1, "me": False}]
    assert reactions(alice, bobs_message) == [{"emoji": "👍", "count": 1, "me": True}]


def test_an_emoji_nobody_uses_any_more_is_not_listed(
    api_for: Api, bobs_message: Message, user: User, carol: User
) -> None:
    api_for(user).put(url(bobs_message, "👍"))
    api_for(carol).put(url(bobs_message, "❤️"))

    api_for(user).delete(url(bobs_message, "👍"))

    assert reactions(api_for(user), bobs_message) == [{"emoji": "❤️", "count": 1, "me": False}]


def test_emoji_are_listed_in_the_order_they_were_first_used(
    api_for: Api, bobs_message: Message, user: User, other_user: User, carol: User
) -> None:
    api_for(user).put(url(bobs_message, "🎉"))
    api_for(other_user).put(url(bobs_message, "👍"))
    api_for(carol).put(url(bobs_message, "🎉"))
    api_for(other_user).put(url(bobs_message, "❤️"))

    assert reactions(api_for(carol), bobs_message) == [
        {"emoji": "🎉", "count": 2, "me": True},
        {"emoji": "👍", "count": 1, "me": False},
        {"emoji": "❤️", "count": 1, "me": False},
    ]


def test_a_member_may_put_several_emoji_on_one_message(
    api_for: Api, bobs_message: Message, user: User
) -> None:
    alice = api_for(user)
    for emoji in ("👍", "😂", "🚀"):
        assert alice.put(url(bobs_message, emoji)).status_code == 204

    assert [(r["emoji"], r["count"], r["me"]) for r in reactions(alice, bobs_message)] == [
        ("👍", 1, True),
        ("😂", 1, True),
        ("🚀", 1, True),
    ]


def test_a_channel_reader_reacts_too(
    api_for: Api, channel: Chat, user: User, other_user: User
) -> None:
    (news,) = messages_factory(channel, user, 1)

    assert api_for(other_user).put(url(news, "👏")).status_code == 204

    assert reactions(api_for(user), news) == [{"emoji": "👏", "count": 1, "me": False}]


# --- Which emoji ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "emoji",
    [
        pytest.param("👍🏽", id="skin-tone"),
        pytest.param("👨\u200d👩\u200d👧", id="zwj-family"),
        pytest.param("🇺🇦", id="flag"),
        pytest.param(SCOTLAND, id="tag-flag"),
        pytest.param("1️⃣", id="keycap"),
    ],
)
def test_one_emoji_of_several_code_points_is_one_reaction(
    api_for: Api, bobs_message: Message, user: User, emoji: str
) -> None:
    response = api_for(user).put(url(bobs_message, emoji))

    assert response.status_code == 204, response.content
    assert reactions(api_for(user), bobs_message) == [{"emoji": emoji, "count": 1, "me": True}]


def test_a_heart_with_or_without_its_variation_selector_is_one_reaction(
    api_for: Api, bobs_message: Message, user: User, other_user: User
) -> None:
    """U+2764 alone is the text form of U+2764 U+FE0F: a keyboard may send either."""
    assert api_for(user).put(url(bobs_message, "\u2764")).status_code == 204
    assert api_for(other_user).put(url(bobs_message, "\u2764\ufe0f")).status_code == 204

    assert reactions(api_for(user), bobs_message) == [
        {"emoji": "\u2764\ufe0f", "count": 2, "me": True}
    ]
    assert api_for(user).delete(url(bobs_message, "\u2764\ufe0f")).status_code == 204
    assert api_for(other_user).delete(url(bobs_message, "\u2764")).status_code == 204
    assert reactions(api_for(user), bobs_message) == []


@pytest.mark.parametrize(
    "emoji",
    [
        pytest.param("a", id="a-letter"),
        pytest.param("ok", id="a-word"),
        pytest.param("#", id="a-keycap-base-alone"),
        pytest.param("👍👍", id="two-emoji"),
        pytest.param("👍❤️", id="two-different-emoji"),
        pytest.param("🏽", id="a-bare-skin-tone"),
        pytest.param("🇺", id="half-a-flag"),
        pytest.param("👍 ", id="emoji-and-space"),
        pytest.param("\u200d", id="a-lone-joiner"),
        pytest.param("\ufe0f", id="a-lone-variation-selector"),
        pytest.param("👍" * 40, id="very-long"),
    ],
)
def test_anything_but_one_emoji_is_refused(
    api_for: Api, bobs_message: Message, user: User, emoji: str
) -> None:
    before = versions(bobs_message)

    response = api_for(user).put(url(bobs_message, emoji))

    assert response.status_code == 400, response.content
    assert "emoji" in response.json()
    assert versions(bobs_message) == before
    assert not Reaction.objects.filter(message=bobs_message).exists()


@pytest.mark.parametrize("raw", ["%00", "%FF", "%ED%A0%80", "%F0%9F"])
def test_bytes_that_are_no_text_in_the_path_are_refused_without_a_500(
    api_for: Api, bobs_message: Message, user: User, raw: str
) -> None:
    path = f"/api/chats/{bobs_message.chat_id}/messages/{bobs_message.pk}/reactions/{raw}/"

    response = api_for(user).put(path)

    assert response.status_code == 400, response.content
    assert not Reaction.objects.filter(message=bobs_message).exists()


def test_taking_back_something_that_is_not_an_emoji_is_refused(
    api_for: Api, bobs_message: Message, user: User
) -> None:
    assert api_for(user).delete(url(bobs_message, "a")).status_code == 400


def test_a_message_takes_at_most_twenty_different_emoji(
    api_for: Api, bobs_message: Message, user: User, other_user: User, carol: User
) -> None:
    for n, emoji in enumerate(TWENTY):
        reaction_add(message=bobs_message, user=user if n % 2 else carol, emoji=emoji)
    bob = api_for(other_user)
    before = versions(bobs_message)

    refused = bob.put(url(bobs_message, "🦄"))
    assert versions(bobs_message) == before
    one_more_of_those_there = bob.put(url(bobs_message, TWENTY[0]))

    assert refused.status_code == 400
    assert "emoji" in refused.json()
    assert one_more_of_those_there.status_code == 204
    shown = reactions(bob, bobs_message)
    assert [r["emoji"] for r in shown] == TWENTY
    assert shown[0] == {"emoji": TWENTY[0], "count": 2, "me": True}


def test_a_freed_place_among_the_twenty_takes_a_new_emoji(
    api_for: Api, bobs_message: Message, user: User, other_user: User
) -> None:
    for emoji in TWENTY:
        reaction_add(message=bobs_message, user=user, emoji=emoji)
    api_for(user).delete(url(bobs_message, TWENTY[-1]))

    assert api_for(other_user).put(url(bobs_message, "🦄")).status_code == 204

    assert [r["emoji"] for r in reactions(api_for(user), bobs_message)][-1] == "🦄"


def test_wherever_a_member_meets_the_message_it_shows_their_own_reactions(
    api_for: Api, team: Chat, user: User, other_user: User, carol: User
) -> None:
    """History, the chat's detail, search, an edit's answer and a repeated post's answer."""
    bob = api_for(other_user)
    posted = bob.post(
        f"/api/chats/{team.pk}/messages/",
        {"text": "needle in the haystack", "client_id": "c-1"},
        format="json",
    ).json()
    message = Message.objects.get(pk=posted["id"])
    api_for(user).put(url(message, "👍"))
    api_for(other_user).put(url(message, "👍"))
    api_for(carol).put(url(message, "👀"))
    expected = [{"emoji": "👍", "count": 2, "me": True}, {"emoji": "👀", "count": 1, "me": False}]

    edited = bob.patch(
        f"/api/chats/{team.pk}/messages/{message.pk}/", {"text": "needle, edited"}, format="json"
    ).json()
    repeated = bob.post(
        f"/api/chats/{team.pk}/messages/",
        {"text": "needle in the haystack", "client_id": "c-1"},
        format="json",
    ).json()
    (in_detail,) = bob.get(f"/api/chats/{team.pk}/").json()["messages"]
    (found,) = bob.get("/api/messages/search/", {"q": "needle"}).json()["results"]

    assert edited["reactions"] == expected
    assert repeated["reactions"] == expected
    assert in_detail["reactions"] == expected
    assert found["reactions"] == expected
    assert reactions(bob, message) == expected


def test_a_chat_s_last_message_shows_each_member_their_own_reactions(
    api_for: Api, team: Chat, user: User, other_user: User, bobs_message: Message
) -> None:
    """In the chat list, the chat's detail, a settings answer and both change feeds."""
    api_for(user).put(url(bobs_message, "👍"))

    for who, me in ((user, True), (other_user, False)):
        api = api_for(who)
        (listed,) = api.get("/api/chats/").json()["results"]
        chat_url = f"/api/chats/{team.pk}/"
        shown = [
            listed,
            api.get(chat_url).json()["chat"],
            api.patch(f"{chat_url}settings/", {"notify": "all"}, format="json").json(),
            api.get(f"{chat_url}changes/", {"since": 0}).json()["chat"],
            api.get("/api/users/me/changes/", {"since": 0}).json()["chats"][0],
        ]
        for chat in shown:
            assert chat["last_message"]["id"] == bobs_message.pk
            assert chat["last_message"]["reactions"] == [{"emoji": "👍", "count": 1, "me": me}]


# --- Who may react, and to what -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "delete"])
def test_a_deleted_message_takes_no_reactions(
    api_for: Api, bobs_message: Message, user: User, other_user: User, method: str
) -> None:
    message_delete(message=bobs_message, actor=other_user)
    before = versions(bobs_message)

    response = getattr(api_for(user), method)(url(bobs_message, "👍"))

    assert response.status_code == 400
    assert versions(bobs_message) == before
    assert not Reaction.objects.filter(message=bobs_message).exists()


@pytest.mark.parametrize("method", ["put", "delete"])
def test_a_non_member_cannot_react_nor_learn_that_the_message_exists(
    api_for: Api, bobs_message: Message, user: User, dave: User, method: str
) -> None:
    api_for(user).put(url(bobs_message, "👍"))

    response = getattr(api_for(dave), method)(url(bobs_message, "👍"))

    assert response.status_code == 404
    assert Reaction.objects.filter(message=bobs_message).count() == 1


def test_a_member_who_left_can_no_longer_react(
    api_for: Api, bobs_message: Message, team: Chat, carol: User
) -> None:
    member_remove(chat=team, actor=carol, user_id=carol.pk)

    assert api_for(carol).put(url(bobs_message, "👍")).status_code == 404


def test_a_message_is_reacted_to_only_through_its_own_chat(
    api_for: Api, bobs_message: Message, user: User, other_user: User
) -> None:
    elsewhere = chat_factory(user, [other_user], title="Elsewhere")
    path = f"/api/chats/{elsewhere.pk}/messages/{bobs_message.pk}/reactions/{quote('👍')}/"

    assert api_for(user).put(path).status_code == 404
    assert not Reaction.objects.filter(message=bobs_message).exists()


def test_reacting_to_a_message_that_does_not_exist_is_404(
    api_for: Api, team: Chat, user: User
) -> None:
    path = f"/api/chats/{team.pk}/messages/999999/reactions/{quote('👍')}/"

    assert api_for(user).put(path).status_code == 404


# --- Deletes and moderation -----------------------------------------------------------------------


def test_a_moderator_s_removal_hides_the_reactions_and_a_restore_brings_them_back(
    api_for: Api,
    bobs_message: Message,
    user: User,
    other_user: User,
    carol: User,
    make_user: MakeUser,
) -> None:
    root = make_user(login="root", is_staff=True, is_superuser=True)
    api_for(user).put(url(bobs_message, "👍"))
    api_for(carol).put(url(bobs_message, "😂"))

    message_remove(message=bobs_message, moderator=root, reason="off topic")

    tombstone = as_seen_by(api_for(user), bobs_message)
    assert (tombstone["deleted"], tombstone["reactions"]) == (True, [])
    assert Reaction.objects.filter(message=bobs_message).count() == 2
    assert api_for(other_user).put(url(bobs_message, "👍")).status_code == 400

    message_restore(message=bobs_message, moderator=root)

    assert reactions(api_for(user), bobs_message) == [
        {"emoji": "👍", "count": 1, "me": True},
        {"emoji": "😂", "count": 1, "me": False},
    ]
    assert reactions(api_for(carol), bobs_message) == [
        {"emoji": "👍", "count": 1, "me": False},
        {"emoji": "😂", "count": 1, "me": True},
    ]


def test_an_author_s_delete_erases_the_reactions_from_the_database(
    api_for: Api, bobs_message: Message, user: User, other_user: User, carol: User
) -> None:
    api_for(user).put(url(bobs_message, "👍"))
    api_for(carol).put(url(bobs_message, "😂"))

    deleted = api_for(other_user).delete(
        f"/api/chats/{bobs_message.chat_id}/messages/{bobs_message.pk}/"
    )

    assert deleted.status_code == 204

    assert not Reaction.objects.filter(message=bobs_message).exists()
    assert as_seen_by(api_for(user), bobs_message)["reactions"] == []


# --- Catching up and events -----------------------------------------------------------------------


def changes(api: APIClient, chat_id: int, since: int) -> dict[str, Any]:
    response = api.get(f"/api/chats/{chat_id}/changes/", {"since": since})
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_the_change_feed_brings_a_reaction_with_me_for_the_caller(
    api_for: Api, bobs_message: Message, user: User, other_user: User
) -> None:
    since, _ = versions(bobs_message)

    api_for(user).put(url(bobs_message, "👍"))

    for reader, me in ((user, True), (other_user, False)):
        answer = changes(api_for(reader), bobs_message.chat_id, since)
        assert answer["version"] == since + 1
        (message,) = answer["messages"]
        assert (message["id"], message["version"]) == (bobs_message.pk, since + 1)
        assert message["reactions"] == [{"emoji": "👍", "count": 1, "me": me}]
        assert message == as_seen_by(api_for(reader), bobs_message)


def test_the_change_feed_brings_a_reaction_taken_back(
    api_for: Api, bobs_message: Message, user: User, other_user: User
) -> None:
    api_for(user).put(url(bobs_message, "👍"))
    since, _ = versions(bobs_message)

    api_for(user).delete(url(bobs_message, "👍"))

    answer = changes(api_for(other_user), bobs_message.chat_id, since)
    (message,) = answer["messages"]
    assert (message["version"], message["reactions"]) == (since + 1, [])


def test_a_reaction_is_announced_once_with_its_count_and_a_repeat_announces_nothing(
    api_for: Api,
    bobs_message: Message,
    user: User,
    carol: User,
    sent_events: list[Event],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        api_for(user).put(url(bobs_message, "👍"))
        api_for(carol).put(url(bobs_message, "👍"))
        api_for(carol).put(url(bobs_message, "👍"))
        api_for(user).delete(url(bobs_message, "👍"))
        api_for(user).delete(url(bobs_message, "👍"))
    chat_version, _ = versions(bobs_message)

    group = f"chat.{bobs_message.chat_id}"
    assert [frame for _, frame in sent_events] == [
        {
            "type": "reaction",
            "chat_id": bobs_message.chat_id,
            "message_id": bobs_message.pk,
            "emoji": "👍",
            "user_id": who.pk,
            "added": added,
            "count": count,
            "version": version,
        }
        for who, added, count, version in (
            (user, True, 1, chat_version - 2),
            (carol, True, 2, chat_version - 1),
            (user, False, 1, chat_version),
        )
    ]
    assert {sent_to for sent_to, _ in sent_events} == {group}


def test_reactions_are_limited_per_user(
    api_for: Api, bobs_message: Message, user: User, other_user: User, throttle_rates: Rates
) -> None:
    alice = api_for(user)
    with throttle_rates(reaction="2/min"):
        assert alice.put(url(bobs_message, "👍")).status_code == 204
        assert alice.delete(url(bobs_message, "👍")).status_code == 204
        refused = alice.put(url(bobs_message, "🎉"))
        bobs_own = api_for(other_user).put(url(bobs_message, "🎉"))

    assert refused.status_code == 429, refused.content
    assert int(refused["Retry-After"]) > 0
    assert bobs_own.status_code == 204
    assert list(Reaction.objects.filter(message=bobs_message).values_list("user", "emoji")) == [
        (other_user.pk, "🎉")
    ]


# --- Racing (PostgreSQL) --------------------------------------------------------------------------


def fresh(message: Message) -> Message:
    """The message read again, for a thread of its own."""
    return Message.objects.get(pk=message.pk)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_members_reacting_at_once_with_one_emoji_are_each_counted_once(
    make_user: MakeUser, sent_events: list[Event]
) -> None:
    members = [make_user() for _ in range(THREADS)]
    chat = chat_factory(members[0], members[1:])
    message, _ = message_send(chat=chat, user=members[0], text="who is in?")
    since, _ = versions(message)

    race(THREADS, lambda n: reaction_add(message=fresh(message), user=members[n], emoji="🙋"))

    assert Reaction.objects.filter(message=message, emoji="🙋").count() == THREADS
    frames = [frame for _, frame in sent_events if frame["type"] == "reaction"]
    assert sorted((f["version"], f["count"]) for f in frames) == [
        (since + n, n) for n in range(1, THREADS + 1)
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_members_racing_for_the_last_places_among_twenty_emoji_get_only_those(
    make_user: MakeUser,
) -> None:
    members = [make_user() for _ in range(THREADS)]
    chat = chat_factory(members[0], members[1:])
    message, _ = message_send(chat=chat, user=members[0], text="pick one")
    for emoji in TWENTY[:18]:
        reaction_add(message=message, user=members[0], emoji=emoji)
    newcomers = ["🦄", "🐙", "🦊", "🐢", "🦉", "🐝", "🦀", "🐳"]

    def react(n: int) -> bool:
        try:
            reaction_add(message=fresh(message), user=members[n], emoji=newcomers[n])
        except ValidationError:
            return False
        return True

    accepted = race(THREADS, react)

    assert accepted.count(True) == 2
    stored = set(Reaction.objects.filter(message=message).values_list("emoji", flat=True))
    assert len(stored) == 20


# --- Cost -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 50])
def test_a_history_page_with_reactions_costs_the_same_for_1_or_50_messages(
    api: APIClient,
    user: User,
    make_user: MakeUser,
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    reactors = [make_user() for _ in range(4)]
    chat = chat_factory(user, reactors)
    for message in messages_factory(chat, reactors[0], rows):
        for n, reactor in enumerate([user, *reactors]):
            reaction_add(message=message, user=reactor, emoji=("👍", "🎉", "❤️")[n % 3])

    with django_assert_max_num_queries(HISTORY_QUERIES):
        response = api.get(f"/api/chats/{chat.pk}/messages/", {"limit": 50})

    results = response.json()["results"]
    assert len(results) == rows
    assert {
        tuple((r["emoji"], r["count"], r["me"]) for r in message["reactions"])
        for message in results
    } == {(("👍", 2, True), ("🎉", 2, False), ("❤️", 1, False))}


@pytest.mark.parametrize("rows", [1, 30])
def test_a_chat_list_whose_last_messages_have_reactions_costs_one_query_more(
    api: APIClient,
    user: User,
    make_user: MakeUser,
    rows: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for _ in range(rows):
        author = make_user()
        message, _ = message_send(chat=chat_factory(user, [author]), user=author, text="hi")
        reaction_add(message=message, user=user, emoji="👍")
        reaction_add(message=message, user=author, emoji="🎉")

    with django_assert_max_num_queries(CHAT_LIST_QUERIES + 1):
        response = api.get("/api/chats/", {"limit": 100})

    chats = response.json()["results"]
    assert len(chats) == rows
    assert {
        tuple((r["emoji"], r["count"], r["me"]) for r in chat["last_message"]["reactions"])
        for chat in chats
    } == {(("👍", 1, True), ("🎉", 1, False))}
