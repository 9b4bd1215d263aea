"""Replies and threads, reactions, mentions, pins and "seen by" in a real browser against a real
server: what people see and do in the room and the chat list, with the mouse, and at a phone's
width with the keyboard alone.

Every test fails on an uncaught exception, a console error or a dialog in any of its tabs; see
`Browsing` in conftest.py.
"""

import re
from typing import Any, cast
from urllib.parse import quote

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

from accounts.models import User
from tests.browser.conftest import Browsing, Rest, focused, screenshot, tab_until, texts
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

SMALL_PHONE = ViewportSize(width=360, height=740)
XSS = "<img src=x onerror=alert(1)>"


def send(page: Page, text: str) -> None:
    box = page.locator("#composer-text")
    box.fill(text)
    box.press("Enter")


def message(page: Page, text: str) -> Locator:
    """The main flow's message whose own text (not a quote in it) has this."""
    return page.locator("#messages .message").filter(has=page.locator(".text", has_text=text))


def menu_action(item: Locator, action: str) -> None:
    """Hover a message and click an item of its menu."""
    item.hover()
    item.locator(".menu").get_by_role("button", name=action, exact=True).click()


def react(page: Page, item: Locator, emoji: str) -> None:
    menu_action(item, "Add reaction")
    page.get_by_role("dialog", name="Add reaction").get_by_role(
        "button", name=emoji, exact=True
    ).click()


def chip(item: Locator, emoji: str) -> Locator:
    return item.locator(".reaction", has_text=emoji)


def post(rest: Rest, chat: int, text: str, **fields: Any) -> dict[str, Any]:
    return dict(rest.call("POST", f"/api/chats/{chat}/messages/", {"text": text, **fields}))


def test_reactions_show_counts_live_and_mine_pressed(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("group", [other_user], title="Team")
    Rest(browsing.base, other_user).post_message(chat, "Release is out")
    alice, bob = browsing.sign_in(user), browsing.sign_in(other_user)
    browsing.open_room(alice, chat)
    browsing.open_room(bob, chat)

    react(alice, message(alice, "Release is out"), "👍")
    for page, pressed in ((alice, "true"), (bob, "false")):
        thumbs = chip(message(page, "Release is out"), "👍")
        expect(thumbs.locator(".reaction-count")).to_have_text("1")
        expect(thumbs).to_have_attribute("aria-pressed", pressed)

    chip(message(bob, "Release is out"), "👍").click()  # Bob joins in from the chip
    react(bob, message(bob, "Release is out"), "🎉")
    for page in (alice, bob):
        item = message(page, "Release is out")
        expect(chip(item, "👍").locator(".reaction-count")).to_have_text("2")
        expect(chip(item, "🎉").locator(".reaction-count")).to_have_text("1")
    expect(chip(message(bob, "Release is out"), "👍")).to_have_attribute("aria-pressed", "true")
    expect(chip(message(alice, "Release is out"), "🎉")).to_have_attribute("aria-pressed", "false")

    chip(message(alice, "Release is out"), "👍").click()  # Alice takes hers back
    for page, pressed in ((alice, "false"), (bob, "true")):
        thumbs = chip(message(page, "Release is out"), "👍")
        expect(thumbs.locator(".reaction-count")).to_have_text("1")
        expect(thumbs).to_have_attribute("aria-pressed", pressed)
    chip(message(bob, "Release is out"), "🎉").click()  # the last 🎉 goes: so does its chip
    for page in (alice, bob):
        expect(chip(message(page, "Release is out"), "🎉")).to_have_count(0)

    alice.reload()
    expect(alice.locator("#conn")).to_have_attribute("data-state", "live")
    thumbs = chip(message(alice, "Release is out"), "👍")
    expect(thumbs).to_have_attribute("aria-pressed", "false")
    expect(thumbs.locator(".reaction-count")).to_have_text("1")

    # A deleted message keeps no reactions and offers none.
    mine = message(bob, "Release is out")
    menu_action(mine, "Delete")
    mine.locator(".menu").get_by_role("button", name="Delete", exact=True).click()  # confirm
    for page in (alice, bob):
        tombstone = page.locator("#messages .message.deleted")
        expect(tombstone.locator(".text")).to_have_text("Message deleted")
        expect(tombstone.locator(".reaction")).to_have_count(0)
        expect(tombstone.locator(".menu-toggle, .menu")).to_have_count(0)


def test_a_thread_reply_goes_to_the_open_thread_and_the_root_counts_it(
    browsing: Browsing, user: User, other_user: User
) -> None:
    alice_api, bob_api = Rest(browsing.base, user), Rest(browsing.base, other_user)
    chat = alice_api.create_chat("group", [other_user], title="Team")
    root = alice_api.post_message(chat, "Plan for Saturday?")
    alice, bob = browsing.sign_in(user), browsing.sign_in(other_user)
    browsing.open_room(alice, chat)
    browsing.open_room(bob, chat)

    menu_action(message(bob, "Plan for Saturday?"), "Reply in thread")
    panel = bob.locator("#thread-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("#thread-root .message .text")).to_have_text(["Plan for Saturday?"])
    expect(panel.locator("#thread-count")).to_have_text("No replies yet")
    expect(panel.locator("#thread-text")).to_be_focused()
    panel.locator("#thread-text").fill("Hiking, if it is sunny")
    panel.locator("#thread-text").press("Enter")
    expect(panel.locator("#thread-messages .message .text")).to_have_text(
        ["Hiking, if it is sunny"]
    )

    summary = message(alice, "Plan for Saturday?").locator(".thread-summary")
    expect(summary).to_contain_text("1 reply · last reply")
    summary.click()
    alice_panel = alice.locator("#thread-panel")
    expect(alice_panel.locator("#thread-messages .message .text")).to_have_text(
        ["Hiking, if it is sunny"]
    )

    # Live while open: a reply by REST, another from Alice's panel.
    post(bob_api, chat, "Or the museum if it rains", thread_root_id=root["id"])
    alice_panel.locator("#thread-text").fill("Both sound good")
    alice_panel.locator("#thread-text").press("Enter")
    expected = ["Hiking, if it is sunny", "Or the museum if it rains", "Both sound good"]
    for page in (alice, bob):
        expect(page.locator("#thread-messages .message .text")).to_have_text(expected)
        expect(page.locator("#thread-count")).to_have_text("3 replies")
        expect(message(page, "Plan for Saturday?").locator(".thread-summary")).to_contain_text(
            "3 replies"
        )
        assert texts(page) == ["Plan for Saturday?"]  # the main flow has no thread replies

    alice_panel.locator("#thread-text").press("Escape")
    expect(alice_panel).to_be_hidden()
    expect(message(alice, "Plan for Saturday?").locator(".thread-summary")).to_be_focused()

    alice.reload()
    expect(alice.locator("#conn")).to_have_attribute("data-state", "live")
    expect(alice.locator("#messages .message .text")).to_have_text(["Plan for Saturday?"])
    expect(message(alice, "Plan for Saturday?").locator(".thread-summary")).to_contain_text(
        "3 replies"
    )
    alice.locator("#composer-text").fill("Main flow again")
    alice.locator("#composer-text").press("Enter")
    expect(alice.locator("#messages .message .text")).to_have_text(
        ["Plan for Saturday?", "Main flow again"]
    )


def test_a_quoted_reply_shows_what_it_answers(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("group", [other_user], title="Team")
    bob_api = Rest(browsing.base, other_user)
    bob_api.post_message(chat, "Lunch at noon?")
    bob_api.post_message(chat, XSS)
    alice, bob = browsing.sign_in(user), browsing.sign_in(other_user)
    browsing.open_room(alice, chat)
    browsing.open_room(bob, chat)

    menu_action(message(alice, "Lunch at noon?"), "Reply")
    bar = alice.locator("#reply-bar")
    expect(bar.locator("#reply-bar-text")).to_have_text("Replying to Bob: Lunch at noon?")
    expect(alice.locator("#composer-text")).to_be_focused()
    alice.locator("#composer-text").press("Escape")  # changed her mind
    expect(bar).to_be_hidden()

    menu_action(message(alice, "Lunch at noon?"), "Reply")
    send(alice, "Noon works")
    expect(bar).to_be_hidden()
    for page in (alice, bob):
        reply = message(page, "Noon works")
        expect(reply.locator(".quote-author")).to_have_text("Bob")
        expect(reply.locator(".quote-text")).to_have_text("Lunch at noon?")

    menu_action(message(alice, "onerror"), "Reply")
    send(alice, "That is just text")
    for page in (alice, bob):
        expect(message(page, "That is just text").locator(".quote-text")).to_have_text(XSS)
        assert page.locator("#messages img, #messages script").count() == 0

    message(bob, "Noon works").locator(".quote").click()  # takes Bob to the quoted message
    expect(message(bob, "Lunch at noon?")).to_be_focused()

    quoted = message(bob, "Lunch at noon?")
    menu_action(quoted, "Delete")
    quoted.locator(".menu").get_by_role("button", name="Delete", exact=True).click()
    for page in (alice, bob):
        gone = message(page, "Noon works").locator(".quote-text")
        expect(gone).to_have_text("deleted message")
        expect(gone).to_have_class("quote-text gone")
    alice.wait_for_timeout(300)  # time for any injected handler to fire a dialog (none may)


def test_mentions_autocomplete_highlight_and_badge_the_chat_list(
    browsing: Browsing, user: User, other_user: User
) -> None:
    carol = cast(User, UserFactory(login="carol", name="Carol"))
    chat = Rest(browsing.base, user).create_chat("group", [other_user, carol], title="Team")
    bob_api = Rest(browsing.base, other_user)
    alice = browsing.sign_in(user)
    browsing.open_room(alice, chat)
    bob_list = browsing.sign_in(other_user)  # Bob stays on his chat list
    item = bob_list.locator(f'li[data-chat-id="{chat}"]')
    expect(item.locator(".chat-title")).to_have_text("Team")

    box = alice.locator("#composer-text")
    box.press_sequentially("Hi @b")
    options = alice.get_by_role("listbox", name="Members to mention").get_by_role("option")
    expect(options).to_have_text(["Bob@bob"])
    box.press("Enter")  # picks, does not send
    expect(box).to_have_value("Hi @bob ")
    box.press_sequentially("and @")
    expect(options).to_have_count(3)  # Bob, Carol and @all
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    box.press("Tab")
    expect(box).to_have_value("Hi @bob and @carol ")
    box.press_sequentially("lunch?")
    box.press("Enter")

    sent = message(alice, "lunch?")
    expect(sent.locator(".mention")).to_have_text(["@bob", "@carol"])
    assert "mentions-me" not in (sent.get_attribute("class") or "")

    expect(item.locator(".mention-badge")).to_have_text("@1")
    expect(item.locator(".badge:not(.mention-badge)")).to_have_text("1")
    post(Rest(browsing.base, carol), chat, "No mention here")
    expect(item.locator(".badge:not(.mention-badge)")).to_have_text("2")
    expect(item.locator(".mention-badge")).to_have_text("@1")

    bob = browsing.sign_in(other_user)
    browsing.open_room(bob, chat)
    mentioned = message(bob, "lunch?")
    expect(mentioned).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(mentioned.locator(".mention.me")).to_have_text("@bob")
    expect(mentioned.locator(".mention-tag")).to_have_text("mentions you")

    # Bob's notification level: set in the room, followed by the list.
    with bob.expect_response(lambda response: response.url.endswith("/settings/")):
        bob.locator("#notify-select").select_option("mentions")
    bob.reload()
    expect(bob.locator("#notify-select")).to_have_value("mentions")
    bob.goto(browsing.base + "/")
    post(bob_api, chat, "Bob reads up to here")
    post(Rest(browsing.base, carol), chat, "Just chatting")
    post(Rest(browsing.base, carol), chat, "@bob look")
    bob_list.reload()
    item = bob_list.locator(f'li[data-chat-id="{chat}"]')
    expect(item.locator(".mention-badge")).to_have_text("@1")
    expect(item.locator(".badge:not(.mention-badge)")).to_have_count(0)  # mentions only

    # Muted from elsewhere while the list was offline: back online, it catches up on my settings
    # (from the user_version its first hello gave it).
    expect(bob_list.locator("#conn")).to_have_attribute("data-state", "live")
    bob_list.evaluate("window.chatDebug.dropSocket({hold: true})")
    expect(bob_list.locator("#conn")).to_have_attribute("data-state", "offline")
    bob_api.call("PATCH", f"/api/chats/{chat}/settings/", {"notify": "none"})
    bob_list.evaluate("window.chatDebug.reconnect()")
    expect(item.locator(".muted-mark")).to_have_count(1)
    expect(item.locator(".badge")).to_have_count(0)


def test_pins_show_in_the_bar_and_follow_the_rules(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("group", [other_user], title="Team")
    bob_api = Rest(browsing.base, other_user)
    bob_api.post_message(chat, "Meeting at 10")
    bob_api.post_message(chat, "Bring slides")
    alice, bob = browsing.sign_in(user), browsing.sign_in(other_user)
    browsing.open_room(alice, chat)
    browsing.open_room(bob, chat)
    expect(bob.locator("#pinned-bar")).to_be_hidden()

    menu_action(message(alice, "Meeting at 10"), "Pin")
    for page in (alice, bob):
        expect(page.locator("#pinned-label")).to_have_text("Pinned message")
        expect(page.locator("#pinned-text")).to_have_text("Bob: Meeting at 10")
        expect(message(page, "Meeting at 10").locator(".pin-mark")).to_have_count(1)

    menu_action(message(bob, "Bring slides"), "Pin")  # anyone may pin in a small group
    for page in (alice, bob):
        expect(page.locator("#pinned-label")).to_have_text("Pinned 1 of 2")
        expect(page.locator("#pinned-text")).to_have_text("Bob: Bring slides")
    bob.get_by_role("button", name="Next pinned message, 2 of 2").click()
    expect(bob.locator("#pinned-label")).to_have_text("Pinned 2 of 2")
    expect(bob.locator("#pinned-text")).to_have_text("Bob: Meeting at 10")
    bob.locator("#pinned-open").click()
    expect(message(bob, "Meeting at 10")).to_be_focused()

    menu_action(message(alice, "Bring slides"), "Unpin")
    for page in (alice, bob):
        expect(page.locator("#pinned-label")).to_have_text("Pinned message")
        expect(page.locator("#pinned-text")).to_have_text("Bob: Meeting at 10")
        expect(message(page, "Bring slides").locator(".pin-mark")).to_have_count(0)

    # In a channel only the owner and admins pin.
    channel = Rest(browsing.base, user).create_chat("channel", [other_user], title="News")
    Rest(browsing.base, user).post_message(channel, "Welcome")
    browsing.open_room(bob, channel)
    news = message(bob, "Welcome")
    news.hover()
    expect(news.locator(".menu").get_by_role("button", name="Add reaction")).to_be_visible()
    expect(news.locator(".menu").get_by_role("button", name="Pin", exact=True)).to_have_count(0)
    browsing.open_room(alice, channel)
    menu_action(message(alice, "Welcome"), "Pin")
    expect(bob.locator("#pinned-text")).to_have_text("Alice: Welcome")


def test_seen_by_follows_the_others_read_markers(
    browsing: Browsing, user: User, other_user: User
) -> None:
    carol = cast(User, UserFactory(login="carol", name="Carol"))
    chat = Rest(browsing.base, user).create_chat("group", [other_user, carol], title="Team")
    alice = browsing.sign_in(user)
    browsing.open_room(alice, chat)
    send(alice, "First")
    send(alice, "Anyone around?")
    expect(alice.locator("#messages .message")).to_have_count(2)
    expect(alice.locator(".seen")).to_have_count(0)

    bob = browsing.sign_in(other_user)
    browsing.open_room(bob, chat)  # Bob reads both
    seen = message(alice, "Anyone around?").locator(".seen-button")
    expect(seen).to_have_text("Seen by 1")
    expect(alice.locator(".seen")).to_have_count(1)  # on the latest of mine only
    seen.click()
    expect(seen).to_have_attribute("aria-expanded", "true")
    expect(alice.locator("#seen-list li")).to_have_text(["Bob"])
    assert bob.locator(".seen").count() == 0  # not Bob's message

    Rest(browsing.base, carol).call("POST", f"/api/chats/{chat}/read/", {"seq": 2})
    expect(seen).to_have_text("Seen by 2")
    seen.click()
    expect(alice.locator("#seen-list li")).to_have_text(["Carol", "Bob"])  # latest readers first
    seen.press("Escape")
    expect(alice.locator("#seen-list")).to_be_hidden()
    expect(seen).to_be_focused()

    send(alice, "Newer one")  # the count moves to the newest once Bob's open tab has read it
    expect(message(alice, "Newer one").locator(".seen-button")).to_have_text("Seen by 1")
    expect(alice.locator(".seen")).to_have_count(1)


def test_changes_made_while_the_socket_is_down_show_after_it_reconnects(
    browsing: Browsing, user: User, other_user: User
) -> None:
    """While Bob's tab is offline Alice reacts to his message, pins it, replies to it in its thread
    and quotes it. When the socket is back the page shows all of it, without a reload: the change
    feed brings each message as it is now."""
    alice_api = Rest(browsing.base, user)
    chat = alice_api.create_chat("group", [other_user], title="Team")
    root = Rest(browsing.base, other_user).post_message(chat, "Who brings the cake?")
    bob = browsing.sign_in(other_user)
    browsing.open_room(bob, chat)
    expect(bob.locator("#messages .message")).to_have_count(1)
    bob.evaluate("window.loadedOnce = true")

    bob.evaluate("window.chatDebug.dropSocket({hold: true})")
    expect(bob.locator("#conn")).to_have_attribute("data-state", "offline")
    base = f"/api/chats/{chat}/messages/{root['id']}"
    alice_api.call("PUT", f"{base}/reactions/{quote('🎂')}/")
    alice_api.call("PUT", f"/api/chats/{chat}/pins/{root['id']}/")
    post(alice_api, chat, "I will", thread_root_id=root["id"])
    post(alice_api, chat, "Chocolate, please", reply_to_id=root["id"])
    bob.wait_for_timeout(300)
    assert bob.locator(".reaction").count() == 0  # nothing arrives while down

    bob.evaluate("window.chatDebug.reconnect()")
    cake = message(bob, "Who brings the cake?")
    expect(chip(cake, "🎂").locator(".reaction-count")).to_have_text("1")
    expect(chip(cake, "🎂")).to_have_attribute("aria-pressed", "false")
    expect(cake.locator(".pin-mark")).to_have_count(1)
    expect(bob.locator("#pinned-text")).to_have_text("Bob: Who brings the cake?")
    expect(cake.locator(".thread-summary")).to_contain_text("1 reply")
    expect(bob.locator("#messages .message .text")).to_have_text(
        ["Who brings the cake?", "Chocolate, please"]
    )
    expect(message(bob, "Chocolate, please").locator(".quote-text")).to_have_text(
        "Who brings the cake?"
    )
    assert bob.evaluate("window.loadedOnce") is True


def test_everything_by_keyboard_alone_on_a_small_phone(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("group", [other_user], title="Team")
    Rest(browsing.base, other_user).post_message(chat, "Anyone up for a hike?")
    alice = browsing.sign_in(user, viewport=SMALL_PHONE)
    browsing.open_room(alice, chat)
    expect(alice.locator("#composer-text")).to_be_focused()
    hike = message(alice, "Anyone up for a hike?")

    # React: back from the composer to the message's ⋯, open its menu, pick from the picker.
    tab_until(alice, ".menu-toggle", key="Shift+Tab")
    alice.keyboard.press("Enter")
    expect(hike.locator(".menu-toggle")).to_have_attribute("aria-expanded", "true")
    expect(focused(alice)).to_have_text("Reply")
    tab_until(alice, "[aria-label='Add reaction']")
    alice.keyboard.press("Enter")
    picker = alice.get_by_role("dialog", name="Add reaction")
    expect(picker).to_be_visible()
    box = picker.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 360
    alice.keyboard.press("ArrowRight")
    expect(focused(alice)).to_have_text("❤️")
    alice.keyboard.press("Escape")  # back to the menu, nothing picked
    expect(picker).to_be_hidden()
    expect(focused(alice)).to_have_attribute("aria-label", "Add reaction")
    alice.keyboard.press("Enter")
    alice.keyboard.press("ArrowRight")
    alice.keyboard.press("Enter")
    expect(chip(hike, "❤️")).to_have_attribute("aria-pressed", "true")
    expect(hike.locator(".menu-toggle")).to_be_focused()

    # Quote it.
    alice.keyboard.press("Enter")
    expect(focused(alice)).to_have_text("Reply")
    alice.keyboard.press("Enter")
    expect(alice.locator("#reply-bar")).to_be_visible()
    expect(alice.locator("#composer-text")).to_be_focused()
    alice.keyboard.type("Yes! @bo")
    alice.keyboard.press("Enter")  # picks @bob
    alice.keyboard.type("when?")
    alice.keyboard.press("Enter")
    answer = message(alice, "when?")
    expect(answer.locator(".quote-text")).to_have_text("Anyone up for a hike?")
    expect(answer.locator(".text")).to_have_text("Yes! @bob when?")

    # Its thread: the panel covers the phone; a reply, then Escape back.
    tab_until(alice, "#messages .message:first-child .menu-toggle", key="Shift+Tab")
    alice.keyboard.press("Enter")
    tab_until(alice, "[data-focus='action thread']")
    alice.keyboard.press("Enter")
    panel = alice.locator("#thread-panel")
    expect(panel).to_be_visible()
    assert panel.bounding_box() == {"x": 0, "y": 0, "width": 360, "height": 740}
    expect(alice.locator("#thread-text")).to_be_focused()
    alice.keyboard.type("Saturday at 8")
    alice.keyboard.press("Enter")
    expect(panel.locator("#thread-messages .message .text")).to_have_text(["Saturday at 8"])
    screenshot(alice, "thread-phone.png")
    alice.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(hike.locator(".thread-summary")).to_contain_text("1 reply")

    # Pin it from the menu; the bar takes the focus back to it.
    tab_until(alice, "#messages .message:first-child .menu-toggle", key="Shift+Tab")
    alice.keyboard.press("Enter")
    tab_until(alice, "[data-focus='action pin']")
    alice.keyboard.press("Enter")
    expect(alice.locator("#pinned-text")).to_have_text("Bob: Anyone up for a hike?")
    expect(focused(alice)).to_have_text("Unpin")
    tab_until(alice, "#pinned-open", key="Shift+Tab")
    alice.keyboard.press("Enter")
    expect(hike).to_be_focused()

    # Nothing is wider than the phone.
    assert alice.evaluate("document.documentElement.scrollWidth") <= 360
    scroller = alice.locator("#scroller")
    assert scroller.evaluate("s => s.scrollWidth <= s.clientWidth")
    screenshot(alice, "room-features-phone.png")
