"""The demo pages in a real browser against a real server: what a person sees and does.

Every test fails on an uncaught exception, a console error (a Content-Security-Policy violation
is one) or a dialog in any of its tabs; see `Browsing` in conftest.py.

`test_the_room_as_a_screenshot` saves screenshots under test-artifacts/; with
UPDATE_DOCS_SCREENSHOT=1 it also rewrites docs/screenshot-room.png, the README's picture.
"""

import os
import shutil
import threading
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import quote

import pytest
from playwright.sync_api import Locator, Page, expect

from accounts.models import User
from chats.models import Chat, ChatType, Message, Report, ScheduledMessage
from tests.browser.conftest import PHONE, ROOT, Browsing, Rest, screenshot, texts
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

XSS = "<img src=x onerror=alert(1)>"


def send(page: Page, text: str) -> None:
    box = page.locator("#composer-text")
    box.fill(text)
    box.press("Enter")


def post(rest: Rest, chat: int, text: str, **fields: Any) -> dict[str, Any]:
    """Post by REST: `reply_to_id` quotes a message, `thread_root_id` replies in its thread."""
    return dict(rest.call("POST", f"/api/chats/{chat}/messages/", {"text": text, **fields}))


def react(rest: Rest, chat: int, message: dict[str, Any], emoji: str) -> None:
    rest.call("PUT", f"/api/chats/{chat}/messages/{message['id']}/reactions/{quote(emoji)}/")


def message(page: Page, text: str) -> Locator:
    """The main flow's message whose own text (not a quote in it) has this."""
    return page.locator("#messages .message").filter(has=page.locator(".text", has_text=text))


def test_two_people_chat_both_ways_live(browsing: Browsing, user: User, other_user: User) -> None:
    chat = Rest(browsing.base, user).create_chat("direct", [other_user])
    alice, bob = browsing.sign_in(user), browsing.sign_in(other_user)
    browsing.open_room(alice, chat)
    browsing.open_room(bob, chat)
    expect(alice.locator("#room-title")).to_have_text("Bob")

    alice.locator("#composer-text").press_sequentially("Hi Bob")
    expect(bob.locator("#typing")).to_have_text("Alice is typing…")
    alice.locator("#composer-text").press("Enter")

    expect(bob.locator("#messages .message .text")).to_have_text(["Hi Bob"])
    expect(bob.locator("#typing")).to_have_text("")  # a message ends its author's typing
    expect(alice.locator("#messages .message.mine .text")).to_have_text(["Hi Bob"])
    expect(alice.locator("#pending-messages .message")).to_have_count(0)
    assert alice.locator("#composer-text").input_value() == ""

    box = bob.locator("#composer-text")
    box.press_sequentially("Hello Alice!")
    box.press("Shift+Enter")  # a new line, not a send
    box.press_sequentially("How are you?")
    box.press("Enter")

    expect(alice.locator("#messages .message")).to_have_count(2)
    expected = ["Hi Bob", "Hello Alice!\nHow are you?"]
    assert texts(alice) == expected
    assert texts(bob) == expected

    alice.reload()
    expect(alice.locator("#conn")).to_have_attribute("data-state", "live")
    expect(alice.locator("#messages .message")).to_have_count(2)
    assert texts(alice) == expected
    assert alice.locator("#messages .message.mine .text").all_text_contents() == ["Hi Bob"]


def test_scrolling_up_loads_older_history(browsing: Browsing, user: User, other_user: User) -> None:
    chat = Rest(browsing.base, user).create_chat("direct", [other_user])
    bob = Rest(browsing.base, other_user)
    for n in range(1, 91):
        bob.post_message(chat, f"message {n}")
    alice = browsing.sign_in(user)
    browsing.open_room(alice, chat)
    expect(alice.locator("#messages .message")).to_have_count(20)  # the room's last 20
    scroller = alice.locator("#scroller")
    assert scroller.evaluate("el => el.scrollHeight - el.scrollTop - el.clientHeight") < 5

    for expected in (70, 90):  # a page of 50, then the last 20
        scroller.evaluate("el => { el.scrollTop = 0; }")
        expect(alice.locator("#messages .message")).to_have_count(expected)
        assert scroller.evaluate("el => el.scrollTop") > 0  # the reader keeps their place
    expect(alice.locator("#history-status")).to_have_text(
        "This is the beginning of the conversation."
    )
    assert alice.evaluate("window.chatDebug.seqs()") == list(range(1, 91))
    assert texts(alice) == [f"message {n}" for n in range(1, 91)]


def test_a_message_sent_while_the_socket_is_down_waits_and_goes_once(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("direct", [other_user])
    alice = browsing.sign_in(user)
    browsing.open_room(alice, chat)

    alice.evaluate("window.chatDebug.dropSocket({hold: true})")
    expect(alice.locator("#conn")).to_have_attribute("data-state", "offline")
    send(alice, "sent while offline")
    pending = alice.locator("#pending-messages .message")
    expect(pending).to_have_count(1)
    expect(pending.locator(".status")).to_have_text("Waiting for the connection…")

    alice.evaluate("window.chatDebug.reconnect()")
    expect(alice.locator("#messages .message .text")).to_have_text(["sent while offline"])
    expect(pending).to_have_count(0)
    assert Message.objects.filter(chat_id=chat).count() == 1


def test_user_text_is_shown_as_text_never_as_markup(
    browsing: Browsing, user: User, other_user: User
) -> None:
    mallory = cast(
        User, UserFactory(login="mallory", name="<b>Mallory</b><img src=x onerror=alert(2)>")
    )
    chat = Rest(browsing.base, user).create_chat(
        "group", [other_user, mallory], title="<script>alert(3)</script><i>Team</i>"
    )
    alice, bob = browsing.sign_in(user), browsing.sign_in(other_user)
    browsing.open_room(alice, chat)
    browsing.open_room(bob, chat)

    send(alice, XSS)
    expect(alice.locator("#messages .message")).to_have_count(1)
    Rest(browsing.base, mallory).post_message(chat, "<script>alert(4)</script>")

    for page in (alice, bob):
        expect(page.locator("#messages .message")).to_have_count(2)
        assert texts(page) == [XSS, "<script>alert(4)</script>"]
        assert page.locator("#room-title").text_content() == "<script>alert(3)</script><i>Team</i>"
        assert page.locator(".author", has_text="<b>Mallory</b>").count() == 1
        assert page.locator("#messages img, #messages script, #messages b").count() == 0
        assert page.locator("#member-list img, #member-list b, #room-title i").count() == 0

    bob.goto(browsing.base + "/")
    expect(bob.locator(".chat-title")).to_have_text(["<script>alert(3)</script><i>Team</i>"])
    expect(bob.locator(".chat-preview")).to_have_text(
        [f"{mallory.name}: <script>alert(4)</script>"]
    )
    assert bob.locator("#chat-list img, #chat-list i, #chat-list script").count() == 0
    bob.wait_for_timeout(300)  # time for any injected handler to fire a dialog (none may)


def test_after_a_dropped_socket_the_gap_is_filled_once_and_in_order(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("direct", [other_user])
    bob = Rest(browsing.base, other_user)
    for n in range(1, 4):
        bob.post_message(chat, f"before {n}")
    alice = browsing.sign_in(user)
    browsing.open_room(alice, chat)
    expect(alice.locator("#messages .message")).to_have_count(3)
    # Small sync batches, so that catching up takes more than one sync request (has_more).
    alice.evaluate("window.chatDebug.setSyncLimit(4)")

    alice.evaluate("window.chatDebug.dropSocket({hold: true})")
    expect(alice.locator("#conn")).to_have_attribute("data-state", "offline")
    for n in range(1, 51):
        bob.post_message(chat, f"missed {n}")
    alice.wait_for_timeout(300)
    assert alice.locator("#messages .message").count() == 3  # nothing arrives while down

    alice.evaluate("window.chatDebug.reconnect()")
    expect(alice.locator("#messages .message")).to_have_count(53)
    expect(alice.locator("#conn-text")).to_contain_text("caught up on 50 messages")
    assert alice.evaluate("window.chatDebug.seqs()") == list(range(1, 54))
    assert texts(alice) == [f"before {n}" for n in range(1, 4)] + [
        f"missed {n}" for n in range(1, 51)
    ]

    # Dropped again without holding: the page comes back by itself with backoff while messages
    # keep coming, and shows each exactly once.
    poster = threading.Thread(
        target=lambda: [bob.post_message(chat, f"during {n}") for n in range(1, 11)]
    )
    alice.evaluate("window.chatDebug.dropSocket()")
    poster.start()
    poster.join()
    expect(alice.locator("#messages .message")).to_have_count(63)
    expect(alice.locator("#conn")).to_have_attribute("data-state", "live")
    assert alice.evaluate("window.chatDebug.seqs()") == list(range(1, 64))
    assert texts(alice)[-10:] == [f"during {n}" for n in range(1, 11)]


def test_every_kind_of_change_made_while_the_socket_is_down_shows_after_it_reconnects(
    browsing: Browsing, user: User, other_user: User
) -> None:
    """While Bob's tab is offline, Alice edits a message, deletes another, adds Carol as an admin
    and renames the chat. When the socket comes back the page shows all four, with no reload:
    it asks for the changes since the version it held."""
    carol = cast(User, UserFactory(login="carol", name="Carol"))
    alice = Rest(browsing.base, user)
    chat = alice.create_chat("group", [other_user], title="Team")
    first = alice.post_message(chat, "first draft")
    second = alice.post_message(chat, "to be deleted")
    bob = browsing.sign_in(other_user)
    browsing.open_room(bob, chat)
    expect(bob.locator("#messages .message")).to_have_count(2)
    bob.evaluate("window.loadedOnce = true")  # gone if the page reloads

    bob.evaluate("window.chatDebug.dropSocket({hold: true})")
    expect(bob.locator("#conn")).to_have_attribute("data-state", "offline")
    alice.call("PATCH", f"/api/chats/{chat}/messages/{first['id']}/", {"text": "final text"})
    alice.call("DELETE", f"/api/chats/{chat}/messages/{second['id']}/")
    alice.call("POST", f"/api/chats/{chat}/members/", {"user_id": carol.pk, "role": "admin"})
    alice.call("PATCH", f"/api/chats/{chat}/", {"title": "Renamed team"})
    bob.wait_for_timeout(300)
    assert texts(bob) == ["first draft", "to be deleted"]  # nothing arrives while down

    bob.evaluate("window.chatDebug.reconnect()")

    expect(bob.locator("#room-title")).to_have_text("Renamed team")
    expect(bob.locator("#messages .message .text")).to_have_text(["final text", "Message deleted"])
    carol_row = bob.locator(f"#member-list [data-user-id='{carol.pk}']")
    expect(carol_row).to_contain_text("Carol")
    expect(carol_row.locator(".role")).to_have_text("admin")
    expect(bob.locator("#messages .message.deleted")).to_have_count(1)
    assert bob.evaluate("window.loadedOnce") is True


def test_a_scheduled_message_appears_at_its_time(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("group", [other_user], title="Team")
    alice, bob = browsing.sign_in(user), browsing.sign_in(other_user)
    browsing.open_room(alice, chat)
    browsing.open_room(bob, chat)

    send_at = datetime.now(UTC) + timedelta(seconds=4)
    alice.fill("#schedule-text", "Good morning, team!")
    alice.fill("#schedule-at", send_at.strftime("%Y-%m-%dT%H:%M:%S"))  # the pages run in UTC
    alice.click("#schedule-form button[type=submit]")

    item = alice.locator("#scheduled-list .scheduled-item")
    expect(item).to_have_count(1)
    expect(item.locator(".status-tag")).to_have_text("pending")
    assert bob.locator("#messages .message").count() == 0

    for page in (bob, alice):
        expect(page.locator("#messages .message .text")).to_have_text(
            ["Good morning, team!"], timeout=15_000
        )
    arrived = datetime.now(UTC)
    assert arrived >= send_at.replace(microsecond=0)
    expect(item.locator(".status-tag")).to_have_text("sent")
    assert ScheduledMessage.objects.get().status == "sent"


def test_own_messages_are_edited_and_deleted_for_everyone(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("group", [other_user], title="Team")
    alice, bob = browsing.sign_in(user), browsing.sign_in(other_user)
    browsing.open_room(alice, chat)
    browsing.open_room(bob, chat)
    send(alice, "See you at 5")
    mine = alice.locator("#messages .message.mine")
    expect(mine).to_have_count(1)

    # Not Bob's to change, but Bob may report it to the moderators.
    theirs = bob.locator("#messages .message")
    theirs.hover()
    assert theirs.get_by_role("button", name="Edit").count() == 0
    assert theirs.get_by_role("button", name="Delete").count() == 0
    theirs.get_by_role("button", name="Report").click()
    theirs.get_by_label("Reason for the report").fill("Too early for me")
    theirs.get_by_role("button", name="Report").click()
    expect(theirs.locator(".report-done")).to_have_text("Reported. The moderators will look at it.")
    report = Report.objects.get()
    assert (report.reporter_id, report.reason) == (other_user.pk, "Too early for me")

    mine.hover()
    mine.get_by_role("button", name="Edit").click()
    editor = mine.locator(".edit-form textarea")
    editor.fill("See you at 6")
    editor.press("Enter")

    for page in (alice, bob):
        expect(page.locator("#messages .message .text")).to_have_text(["See you at 6"])
        expect(page.locator("#messages .message .edited")).to_have_text(["edited"])

    mine.hover()
    mine.get_by_role("button", name="Delete").click()
    mine.get_by_role("button", name="Delete").click()  # confirm
    for page in (alice, bob):
        expect(page.locator("#messages .message.deleted .text")).to_have_text(["Message deleted"])


def test_the_chat_list_is_live_and_starts_chats(
    browsing: Browsing, user: User, other_user: User
) -> None:
    direct = Rest(browsing.base, user).create_chat("direct", [other_user])
    bob = browsing.sign_in(other_user)
    item = bob.locator(f'li[data-chat-id="{direct}"]')
    expect(item.locator(".chat-title")).to_have_text("Alice")
    expect(item.locator(".chat-preview")).to_have_text("No messages yet")
    expect(item.locator(".dot")).to_have_class("dot offline")

    alice = browsing.sign_in(user)  # Alice's list page opens a socket: she is online
    expect(item.locator(".dot")).to_have_class("dot online")
    Rest(browsing.base, user).post_message(direct, "Lunch today?")
    expect(item.locator(".chat-preview")).to_have_text("Lunch today?")
    expect(item.locator(".badge")).to_have_text("1")

    item.locator("a").click()  # reading it marks it read
    expect(bob.locator("#messages .message .text")).to_have_text(["Lunch today?"])
    bob.wait_for_timeout(600)
    bob.go_back()
    expect(item.locator(".chat-preview")).to_have_text("Lunch today?")
    expect(item.locator(".badge")).to_have_count(0)

    # Alice starts a group with Bob and a direct chat with Carol, found by search.
    carol = cast(User, UserFactory(login="carol", name="Carol"))
    alice.fill("#create-title", "Book club")
    alice.fill("#create-member-search", "bo")
    alice.locator("#create-member-results button", has_text="Bob").click()
    expect(alice.locator("#create-members .chip")).to_have_text(["Bob×"])
    alice.click("#create-form button[type=submit]")
    alice.wait_for_url(f"{browsing.base}/chats/*/")
    expect(alice.locator("#room-title")).to_have_text("Book club")
    expect(alice.locator("#member-list .person")).to_have_count(2)
    expect(bob.locator(".chat-title").first).to_have_text("Book club")  # live on Bob's list

    alice.goto(browsing.base + "/")
    alice.fill("#direct-search", "caro")
    alice.locator("#direct-results button", has_text="Carol").click()
    alice.wait_for_url(f"{browsing.base}/chats/*/")
    expect(alice.locator("#room-title")).to_have_text("Carol")
    room_id = int(alice.url.rstrip("/").rsplit("/", 1)[1])
    direct_with_carol = Chat.objects.get(pk=room_id)
    assert direct_with_carol.chat_type == ChatType.DIRECT
    assert set(direct_with_carol.memberships.values_list("user_id", flat=True)) == {
        user.pk,
        carol.pk,
    }


def test_the_room_as_a_screenshot(browsing: Browsing, user: User, other_user: User) -> None:
    """A lived-in room for the README: a group with a description and a pinned plan; a
    conversation with reactions, a thread, a quoted reply that mentions me and "seen by" under my
    latest message; someone typing and a scheduled message; at desktop and phone widths."""
    carol = cast(User, UserFactory(login="carol", name="Carol Jones"))
    user.name, other_user.name = "Alice Martin", "Bob Stone"
    user.save()
    other_user.save()
    alice_api, bob_api = Rest(browsing.base, user), Rest(browsing.base, other_user)
    carol_api = Rest(browsing.base, carol)
    chat = alice_api.create_chat(
        "group",
        [other_user, carol],
        title="Weekend hike",
        description="Saturday, 8:00 at the station. Bring water!",
    )
    route = post(alice_api, chat, "Route: the lake loop, 14 km. Back by 17:00.")
    maps = post(bob_api, chat, "I'll print two copies of the trail map.")
    lift = post(alice_api, chat, "Great! I can drive two people from the centre.")
    post(carol_api, chat, "Count me in!", thread_root_id=lift["id"])
    post(bob_api, chat, "Me too, please. I'll wait by the bakery.", thread_root_id=lift["id"])
    forecast = post(bob_api, chat, "Forecast says sun all day.\nDon't forget sunscreen.")
    post(carol_api, chat, "@alice can you bring the first-aid kit?", reply_to_id=forecast["id"])
    mine = post(alice_api, chat, f"{XSS} ← that's just text here")

    alice_api.call("PUT", f"/api/chats/{chat}/pins/{route['id']}/")  # the owner pins the plan
    react(alice_api, chat, maps, "👍")
    react(carol_api, chat, maps, "👍")
    react(carol_api, chat, maps, "🙏")
    carol_api.call("POST", f"/api/chats/{chat}/read/", {"seq": mine["seq"]})  # Carol read it all

    alice = browsing.sign_in(user)
    bob = browsing.sign_in(other_user)
    browsing.open_room(alice, chat)
    browsing.open_room(bob, chat)  # Bob reads it all too
    alice.fill("#schedule-text", "Reminder: leaving in one hour!")
    alice.fill(
        "#schedule-at",
        (datetime.now(UTC) + timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M:00"),
    )
    alice.click("#schedule-form button[type=submit]")
    expect(alice.locator("#scheduled-list .scheduled-item")).to_have_count(1)
    bob.locator("#composer-text").press_sequentially("See you")
    expect(alice.locator("#typing")).to_have_text("Bob Stone is typing…")
    alice.locator("#composer-text").click()

    # Everything the picture is meant to show is on the screen.
    expect(alice.locator("#pinned-text")).to_have_text(
        "Alice Martin: Route: the lake loop, 14 km. Back by 17:00."
    )
    thumbs = message(alice, "trail map").locator(".reaction", has_text="👍")
    expect(thumbs.locator(".reaction-count")).to_have_text("2")
    expect(thumbs).to_have_attribute("aria-pressed", "true")  # one of them mine
    expect(message(alice, "drive two people").locator(".thread-summary")).to_contain_text(
        "2 replies"
    )
    kit = message(alice, "first-aid kit")
    expect(kit.locator(".quote-author")).to_have_text("Bob Stone")
    expect(kit.locator(".quote-text")).to_contain_text("Forecast says sun all day.")
    expect(kit.locator(".mention.me")).to_have_text("@alice")
    expect(kit.locator(".mention-tag")).to_have_text("mentions you")
    expect(message(alice, "just text here").locator(".seen-button")).to_have_text("Seen by 2")
    for feature in [
        alice.locator("#pinned-bar"),
        thumbs,
        message(alice, "drive two people").locator(".thread-summary"),
        kit,
        alice.locator(".seen-button"),
    ]:
        expect(feature).to_be_in_viewport()
    assert alice.locator("#messages img, #messages script").count() == 0

    path = screenshot(alice, "room-desktop.png")
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(path, ROOT / "docs" / "screenshot-room.png")

    phone = browsing.sign_in(user, viewport=PHONE)
    browsing.open_room(phone, chat)
    expect(phone.locator("#messages .message")).to_have_count(6)  # not the thread replies
    assert phone.locator("#room-panel").is_hidden()  # the panel folds away on a phone
    screenshot(phone, "room-phone.png")
    phone.click("#panel-toggle")
    expect(phone.locator("#member-list .person")).to_have_count(3)
    screenshot(phone, "room-phone-panel.png")
    phone.goto(browsing.base + "/")
    expect(phone.locator(".chat-item")).to_have_count(1)
    expect(phone.locator("#conn")).to_have_attribute("data-state", "live")
    screenshot(phone, "list-phone.png")
