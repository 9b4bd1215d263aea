"""Files in the room, in a real browser against a real server: attaching them (the file picker,
dropping, pasting), the tray's progress, errors and cancel, sending, and how they show to everyone
(image thumbnails that open larger, file chips that download); at a phone's width with the
keyboard alone too.

Every test fails on an uncaught exception, a console error or a dialog in any of its tabs; see
`Browsing` in conftest.py. A refused upload is the one console error expected: Chromium logs
every 4xx answer ("Failed to load resource"), and `refused` takes exactly those off the list.
"""

import io
import re
import urllib.request
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import FilePayload, Locator, Page, ViewportSize, expect

from accounts.models import User
from tests.browser.conftest import Browsing, Rest, focused, screenshot, tab_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

SMALL_PHONE = ViewportSize(width=360, height=740)
XSS_NAME = "<img src=x onerror=alert(1)>.pdf"
MAX_BYTES = 200 * 1024  # the server's ATTACHMENT_MAX_BYTES in these tests: "200 KB"


@pytest.fixture
def server_env(tmp_path: Path) -> dict[str, str]:
    """A small file limit, and the uploads in the test's own directory."""
    return {
        "ATTACHMENT_ROOT": str(tmp_path / "attachments"),
        "ATTACHMENT_MAX_BYTES": str(MAX_BYTES),
    }


# --- Files ---------------------------------------------------------------------------------------


def picture(width: int, height: int, image_format: str = "JPEG") -> bytes:
    """A photo-like gradient (small once compressed)."""
    down = Image.linear_gradient("L").resize((width, height))
    across = down.transpose(Image.Transpose.ROTATE_90).resize((width, height))
    image = Image.merge("RGB", (down, across, Image.new("L", (width, height), 170)))
    out = io.BytesIO()
    image.save(out, image_format, quality=85)
    return out.getvalue()


def jpeg(name: str, width: int = 1200, height: int = 800) -> FilePayload:
    return {"name": name, "mimeType": "image/jpeg", "buffer": picture(width, height)}


def pdf(name: str) -> FilePayload:
    body = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    return {"name": name, "mimeType": "application/pdf", "buffer": body}


def blob(name: str, size: int) -> FilePayload:
    return {"name": name, "mimeType": "application/octet-stream", "buffer": b"\x00" * size}


# --- The page ------------------------------------------------------------------------------------


def attach(page: Page, *files: FilePayload) -> None:
    page.locator("#attach-input").set_input_files(list(files))


def chip(page: Page, name: str) -> Locator:
    """An upload's chip in the tray."""
    return page.locator("#upload-list .upload").filter(
        has=page.locator(".upload-name", has_text=name)
    )


def message_with(page: Page, text: str) -> Locator:
    return page.locator("#messages .message").filter(has=page.locator(".text", has_text=text))


def loaded(image: Locator) -> int:
    """The image's natural width once it has loaded (0 if it failed)."""
    expect(image).to_have_js_property("complete", True)
    return int(image.evaluate("img => img.naturalWidth"))


def get(base: str, href: str) -> tuple[int, str]:
    """A URL fetched with no cookie and no token: the signed URL is the credential."""
    with urllib.request.urlopen(base + href, timeout=10) as response:  # noqa: S310 - our server
        return response.status, response.headers.get("Content-Disposition", "")


def refused(browsing: Browsing, *statuses: int, optional: tuple[int, ...] = ()) -> None:
    """Take the console errors of these refused uploads off the list (each status in `statuses`
    once, any in `optional` any number of times); fail on any other."""
    found = [error for error in browsing.errors if "Failed to load resource" in error]
    got = [int(match[1]) for error in found if (match := re.search(r"status of (\d+)", error))]
    assert len(got) == len(found), found
    left = list(got)
    for status in statuses:
        assert status in left, found
        left.remove(status)
    assert set(left) <= set(optional), found
    browsing.errors[:] = [error for error in browsing.errors if error not in found]


# Files dragged in from outside the page and dropped on `target`; the drop hint shows meanwhile.
DROP = """(target, files) => {
    const data = new DataTransfer();
    for (const [bytes, name, type] of files) {
        data.items.add(new File([new Uint8Array(bytes)], name, {type}));
    }
    const drag = (type) =>
        target.dispatchEvent(
            new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: data}),
        );
    drag("dragenter");
    drag("dragover");
    if (!document.querySelector(".conversation").classList.contains("dropping")) {
        throw new Error("no drop hint");
    }
    drag("drop");
}"""


# An image pasted into `box` from the clipboard, named as Chromium names a copied screenshot.
PASTE = """(box, bytes) => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(bytes)], "image.png", {type: "image/png"}));
    box.dispatchEvent(
        new ClipboardEvent("paste", {bubbles: true, cancelable: true, clipboardData: data}),
    );
}"""


def within_phone(locator: Locator) -> None:
    box = locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= SMALL_PHONE["width"]


# --- Stories -------------------------------------------------------------------------------------


def test_alice_sends_an_image_and_a_pdf_and_bob_sees_them_live(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("group", [other_user], title="Trip")
    alice, bob = browsing.sign_in(user), browsing.sign_in(other_user)
    browsing.open_room(alice, chat)
    browsing.open_room(bob, chat)

    attach(alice, jpeg("beach.jpg"), pdf("tickets.pdf"))
    for name in ("beach.jpg", "tickets.pdf"):
        item = chip(alice, name)
        expect(item).to_have_attribute("data-state", "done")
        expect(item.locator(".upload-state")).to_have_text("Ready")
        expect(item.locator("progress")).to_have_js_property("value", 100)
    expect(chip(alice, "tickets.pdf").locator(".upload-size")).to_have_text(re.compile(r"^\d+ B$"))
    expect(chip(alice, "beach.jpg").locator(".upload-thumb img")).to_have_count(1)
    expect(alice.locator("#send-button")).to_be_enabled()

    alice.locator("#composer-text").fill("Pictures from Saturday")
    alice.locator("#composer-text").press("Enter")
    expect(alice.locator("#upload-tray")).to_be_hidden()
    expect(alice.locator("#upload-list .upload")).to_have_count(0)

    for page in (bob, alice):
        sent = message_with(page, "Pictures from Saturday")
        thumb = sent.locator(".attachment-image img")
        expect(thumb).to_have_attribute("alt", "beach.jpg")
        # Its box comes from the payload's 1200×800, scaled to fit: no shift when it loads.
        expect(thumb).to_have_attribute("width", "240")
        expect(thumb).to_have_attribute("height", "160")
        expect(thumb).to_have_attribute(
            "src", re.compile(r"^/api/attachments/\d+/thumbnail/\?grant=")
        )
        assert loaded(thumb) > 0
        file = sent.locator("a.attachment-file")
        expect(file).to_have_attribute("download", "tickets.pdf")
        expect(file).to_contain_text("tickets.pdf")
        expect(file.locator(".file-size")).to_have_text(re.compile(r"\d+ B$"))
        expect(file.locator(".file-badge")).to_have_text("PDF")

    # Bob opens the picture larger and closes it with Escape; the focus is back on it.
    sent = message_with(bob, "Pictures from Saturday")
    sent.locator(".attachment-image").click()
    lightbox = bob.get_by_role("dialog", name="beach.jpg")
    expect(lightbox).to_be_visible()
    full = lightbox.locator("img")
    expect(full).to_have_attribute("src", re.compile(r"^/api/attachments/\d+/\?grant="))
    assert loaded(full) == 1200
    expect(lightbox.get_by_role("button", name="Close image")).to_be_focused()
    bob.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    expect(sent.locator(".attachment-image")).to_be_focused()

    # And again, closed with its button this time.
    sent.locator(".attachment-image").click()
    expect(lightbox).to_be_visible()
    lightbox.get_by_role("button", name="Close image").click()
    expect(lightbox).to_be_hidden()

    # The file's link downloads without any credential but its signature.
    href = sent.locator("a.attachment-file").get_attribute("href")
    assert href is not None
    status, disposition = get(browsing.base, href)
    assert status == 200
    assert disposition.startswith("attachment")
    with bob.expect_download() as download:
        sent.locator("a.attachment-file").click()
    assert download.value.suggested_filename == "tickets.pdf"

    # As it was after a reload: the same, from history.
    bob.reload()
    expect(bob.locator("#conn")).to_have_attribute("data-state", "live")
    again = message_with(bob, "Pictures from Saturday")
    assert loaded(again.locator(".attachment-image img")) > 0
    expect(again.locator("a.attachment-file")).to_have_attribute("download", "tickets.pdf")
    screenshot(bob, "attachments-room.png")

    # An hour on, the URLs would no longer hold: opening or downloading a file first reads the
    # message again for fresh ones (the page's clock is wound on rather than the test waiting).
    old_href = again.locator("a.attachment-file").get_attribute("href")
    bob.evaluate("window.chatDebug.attachmentsFreshFor(0)")
    one_message = re.compile(r"/api/chats/\d+/messages/\?before=\d+&limit=1$")
    with bob.expect_request(one_message), bob.expect_download() as download:
        again.locator("a.attachment-file").click()
    assert download.value.suggested_filename == "tickets.pdf"
    new_href = again.locator("a.attachment-file").get_attribute("href")
    assert new_href is not None
    assert new_href != old_href
    assert get(browsing.base, new_href)[0] == 200
    with bob.expect_request(one_message):
        again.locator(".attachment-image").click()
    expect(lightbox.locator("img")).to_have_attribute("src", re.compile(r"\?grant="))
    assert loaded(lightbox.locator("img")) == 1200
    bob.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()


def test_files_dropped_or_pasted_go_without_text(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("group", [other_user], title="Trip")
    alice, bob = browsing.sign_in(user), browsing.sign_in(other_user)
    browsing.open_room(alice, chat)
    browsing.open_room(bob, chat)
    bob_list = browsing.sign_in(other_user)
    expect(bob_list.locator(f'li[data-chat-id="{chat}"]')).to_be_visible()

    # Dropped onto the conversation (a DataTransfer as the browser makes for a drag from outside).
    dropped = [pdf("minutes.pdf"), jpeg("dunes.jpg", 900, 600)]
    alice.locator("#scroller").evaluate(
        DROP, [[list(file["buffer"]), file["name"], file["mimeType"]] for file in dropped]
    )
    expect(alice.locator(".conversation")).not_to_have_class(re.compile("dropping"))
    expect(chip(alice, "minutes.pdf")).to_have_attribute("data-state", "done")
    expect(chip(alice, "dunes.jpg")).to_have_attribute("data-state", "done")

    # A screenshot pasted into the composer.
    png = picture(300, 600, "PNG")
    alice.locator("#composer-text").evaluate(PASTE, list(png))
    pasted = alice.locator("#upload-list .upload").nth(2)
    expect(pasted.locator(".upload-name")).to_have_text(re.compile(r"^Pasted image .+\.png$"))
    expect(pasted).to_have_attribute("data-state", "done")
    expect(alice.locator("#composer-text")).to_have_value("")  # nothing pasted as text

    alice.locator("#send-button").click()  # no text: the files alone
    # In Bob's chat list (another tab) the message is named by its files (in the server's order).
    named = r"Alice: 📎 (?=.*minutes\.pdf)(?=.*dunes\.jpg)(?=.*Pasted image)"
    expect(bob_list.locator(f'li[data-chat-id="{chat}"]')).to_contain_text(re.compile(named))
    for page in (alice, bob):
        sent = page.locator("#messages .message").last
        expect(sent.locator("a.attachment-file")).to_have_attribute("download", "minutes.pdf")
        expect(sent.locator(".attachment-image img")).to_have_count(2)
        thumb = sent.locator(".attachment-image img[alt^='Pasted image']")
        expect(thumb).to_have_attribute("width", "120")  # 300×600 fitted into 240×240
        expect(thumb).to_have_attribute("height", "240")
        expect(sent.locator(".text")).to_be_hidden()  # no empty line for the text
    screenshot(bob, "attachments-several.png")

    # A reply quotes it by its files.
    files_only = bob.locator("#messages .message").last
    files_only.hover()
    files_only.locator(".menu").get_by_role("button", name="Reply", exact=True).click()
    expect(bob.locator("#reply-bar-text")).to_contain_text("Replying to Alice: 📎 ")
    bob.locator("#composer-text").fill("Nice dunes")
    bob.locator("#composer-text").press("Enter")
    expect(message_with(bob, "Nice dunes").locator(".quote-text")).to_contain_text("📎")


def test_refused_files_say_why_in_their_chip_and_cancel_removes_a_chip(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("group", [other_user], title="Trip")
    alice = browsing.sign_in(user)
    browsing.open_room(alice, chat)
    truncated = jpeg("broken.jpg")["buffer"][:2000]

    attach(
        alice,
        blob("video.bin", MAX_BYTES + 30 * 1024),  # over the file limit: the app refuses it
        blob("backup.bin", 1024 * 1024),  # over the body limit: daphne refuses it unread
        {"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": truncated},
        pdf(XSS_NAME),
    )
    too_large = chip(alice, "video.bin")
    expect(too_large).to_have_attribute("data-state", "failed")
    expect(too_large.locator(".upload-error")).to_have_text(
        "Too large. A file may have at most 200 KB."
    )
    expect(too_large.locator(".upload-error")).to_have_attribute("role", "alert")
    expect(chip(alice, "backup.bin")).to_have_attribute("data-state", "failed")
    expect(chip(alice, "backup.bin").locator(".upload-error")).to_have_text(
        re.compile(r"^Too large\. ")
    )
    damaged = chip(alice, "broken.jpg")
    expect(damaged).to_have_attribute("data-state", "failed")
    expect(damaged.locator(".upload-error")).to_have_text("The image is damaged or truncated.")
    expect(chip(alice, XSS_NAME)).to_have_attribute("data-state", "done")
    expect(alice.locator("#upload-status")).to_have_text(
        "3 files could not be uploaded and will not be sent."
    )
    # 413s, unless the page knows the limit and keeps such files from going at all.
    refused(browsing, 400, optional=(413,))
    chip(alice, "backup.bin").get_by_role("button", name="Remove backup.bin").click()

    # Taking a file back out: its chip goes, and the focus moves to the next one's button.
    too_large.get_by_role("button", name="Remove video.bin").click()
    expect(too_large).to_have_count(0)
    expect(focused(alice)).to_have_attribute("aria-label", "Remove broken.jpg")
    alice.keyboard.press("Enter")
    expect(damaged).to_have_count(0)
    expect(alice.locator("#upload-status")).to_be_hidden()

    alice.locator("#composer-text").fill("Agenda attached")
    alice.locator("#composer-text").press("Enter")
    sent = message_with(alice, "Agenda attached")
    expect(sent.locator("a.attachment-file")).to_have_count(1)
    expect(sent.locator("a.attachment-file")).to_have_attribute("download", XSS_NAME)
    expect(sent.locator(".file-name")).to_have_text(XSS_NAME)  # a name is text, never markup
    assert alice.locator("#messages img, #upload-list img").count() == 0
    expect(alice.locator("#upload-tray")).to_be_hidden()
    alice.wait_for_timeout(300)  # time for any injected handler to fire a dialog (none may)


def test_an_upload_cut_off_by_the_network_can_be_retried(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("group", [other_user], title="Trip")
    alice = browsing.sign_in(user)
    browsing.open_room(alice, chat)
    alice.route("**/attachments/", lambda route: route.abort("connectionreset"))

    attach(alice, pdf("plan.pdf"))
    cut = chip(alice, "plan.pdf")
    expect(cut).to_have_attribute("data-state", "failed")
    expect(cut.locator(".upload-error")).to_have_text("The upload failed. Check your connection.")
    assert [error for error in browsing.errors if "ERR_CONNECTION_RESET" in error]
    browsing.errors.clear()

    alice.unroute("**/attachments/")
    cut.get_by_role("button", name="Retry the upload of plan.pdf").click()
    expect(cut).to_have_attribute("data-state", "done")
    expect(cut.locator(".upload-error")).to_be_hidden()
    expect(cut.get_by_role("button", name="Retry the upload of plan.pdf")).to_have_count(0)
    alice.locator("#composer-text").press("Enter")  # files alone, by the keyboard
    expect(alice.locator("#messages .message a.attachment-file")).to_have_attribute(
        "download", "plan.pdf"
    )


def test_an_upload_in_flight_shows_progress_holds_send_and_can_be_cancelled(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("group", [other_user], title="Trip")
    alice = browsing.sign_in(user)
    browsing.open_room(alice, chat)
    # A slow line: 150 KB take some seconds to go up.
    cdp = alice.context.new_cdp_session(alice)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 24 * 1024},
    )

    attach(alice, blob("slides.bin", 150 * 1024))
    slow = chip(alice, "slides.bin")
    expect(slow).to_have_attribute("data-state", "uploading")
    expect(slow.locator(".upload-state")).to_have_text(re.compile(r"^Uploading… \d+%$"))
    expect(alice.locator("#send-button")).to_be_disabled()
    expect(alice.locator("#upload-status")).to_have_text(
        "Uploading 1 file… Send is ready when it is done."
    )
    progress = slow.locator("progress")
    alice.wait_for_function("p => p.value > 0 && p.value < 100", arg=progress.element_handle())

    alice.locator("#composer-text").fill("Slides")
    alice.locator("#composer-text").press("Enter")  # held: the upload is still running
    expect(alice.locator("#upload-status")).to_have_text(
        "Wait for the upload to finish, then send."
    )
    expect(alice.locator("#upload-status")).to_have_class(re.compile("urgent"))
    expect(alice.locator("#composer-text")).to_have_value("Slides")
    assert alice.locator("#messages .message, #pending-messages .message").count() == 0

    slow.get_by_role("button", name="Cancel the upload of slides.bin").click()
    expect(slow).to_have_count(0)
    expect(alice.locator("#upload-tray")).to_be_hidden()
    expect(alice.locator("#send-button")).to_be_enabled()
    expect(alice.locator("#composer-text")).to_be_focused()
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    alice.locator("#composer-text").press("Enter")  # the text alone now
    expect(message_with(alice, "Slides").locator(".attachments")).to_have_count(0)


def test_attaching_viewing_and_closing_by_keyboard_alone_on_a_small_phone(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("group", [other_user], title="Trip")
    alice = browsing.sign_in(user, viewport=SMALL_PHONE)
    # The browser hands file choosers to the test only once a listener has subscribed to them, a
    # moment after it is added: added well before the one expected, none slips through.
    alice.on("filechooser", lambda chooser: None)
    browsing.open_room(alice, chat)
    expect(alice.locator("#composer-text")).to_be_focused()

    alice.keyboard.press("Shift+Tab")
    attach_button = alice.get_by_role("button", name="Attach files")
    expect(attach_button).to_be_focused()
    with alice.expect_file_chooser() as chooser:
        alice.keyboard.press("Enter")
    assert chooser.value.is_multiple()
    chooser.value.set_files([jpeg("sunset.jpg", 800, 1200), pdf("route.pdf"), pdf("spare.pdf")])
    for name in ("sunset.jpg", "route.pdf", "spare.pdf"):
        expect(chip(alice, name)).to_have_attribute("data-state", "done")
    expect(alice.locator("#composer-text")).to_be_focused()

    # One too many: back to its chip's button, and out.
    tab_until(alice, "[aria-label='Remove spare.pdf']", key="Shift+Tab")
    alice.keyboard.press("Enter")
    expect(chip(alice, "spare.pdf")).to_have_count(0)
    expect(focused(alice)).to_have_attribute("aria-label", "Remove route.pdf")
    within_phone(alice.locator("#upload-tray"))
    screenshot(alice, "attachments-tray-phone.png")

    tab_until(alice, "#composer-text")
    alice.keyboard.type("Evening walk")
    alice.keyboard.press("Enter")
    sent = message_with(alice, "Evening walk")
    thumb = sent.locator(".attachment-image img")
    expect(thumb).to_have_attribute("width", "160")  # 800×1200 fitted into 240×240
    assert loaded(thumb) > 0

    # To the picture, open it, move within the lightbox, close it with Escape.
    tab_until(alice, ".attachment-image", key="Shift+Tab")
    alice.keyboard.press("Enter")
    lightbox = alice.get_by_role("dialog", name="sunset.jpg")
    expect(lightbox).to_be_visible()
    expect(focused(alice)).to_have_attribute("aria-label", "Close image")
    within_phone(lightbox)
    assert loaded(lightbox.locator("img")) == 800
    alice.keyboard.press("Shift+Tab")
    expect(focused(alice)).to_have_text("Download")  # the focus stays in the dialog
    screenshot(alice, "attachments-lightbox-phone.png")
    alice.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    expect(sent.locator(".attachment-image")).to_be_focused()

    # The file chip is reachable too, and nothing is wider than the phone.
    tab_until(alice, "a.attachment-file")
    expect(focused(alice)).to_have_attribute("download", "route.pdf")
    assert alice.evaluate("document.documentElement.scrollWidth") <= 360
    assert alice.locator("#scroller").evaluate("s => s.scrollWidth <= s.clientWidth")
    screenshot(alice, "attachments-phone.png")
