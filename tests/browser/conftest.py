"""Browser tests: Playwright drives Debian's Chromium against a real daphne on the test database.

The browser is /usr/bin/chromium from apt (`.ci/run` installs it); Playwright never downloads one.
The server serves the pages as `make run` does: DEBUG on (static files straight from the apps) and
Celery's worker inside the server on the in-memory broker, so scheduled messages arrive.
"""

import json
import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Error,
    Locator,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from accounts.models import User
from accounts.services import tokens_issue
from chats.models import Connection
from tests.factories import PASSWORD
from tests.processes import ROOT, Process, daphne, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)

expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"needs Chromium at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    # Playwright's sync API keeps an event loop running on this thread, so Django would take the
    # test's plain ORM calls (factories, the flush after each test) for calls from async code and
    # refuse them. Allow them here only; the server process keeps the check (see `server`).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def server_env(tmp_path: Path) -> dict[str, str]:
    """The server's environment beyond the defaults; a test module may override it. Uploads go
    to the test's own directory."""
    return {"ATTACHMENT_ROOT": str(tmp_path / "attachments")}


@pytest.fixture
def server(transactional_db: None, tmp_path: Path, server_env: dict[str, str]) -> Iterator[str]:
    """A daphne on the test database; its base URL."""
    port = free_port()
    process: Process = daphne(
        port,
        tmp_path,
        DEBUG="true",
        EMBEDDED_CELERY="true",
        CELERY_BROKER_URL="memory://",
        DJANGO_ALLOW_ASYNC_UNSAFE="",
        **server_env,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


class Browsing:
    """Signed-in browser tabs, one context (cookie jar) per user, and what went wrong in them:
    uncaught exceptions, console errors (a Content-Security-Policy violation is one) and dialogs."""

    def __init__(self, browser: Browser, base: str) -> None:
        self.browser = browser
        self.base = base
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []

    def new_page(self, viewport: ViewportSize | None = None) -> Page:
        context = self.browser.new_context(
            viewport=viewport or DESKTOP, timezone_id="UTC", locale="en-GB"
        )
        self.contexts.append(context)
        page = context.new_page()

        def on_error(error: Error) -> None:
            self.errors.append(f"{page.url}: {error}")

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"{page.url}: console error: {message.text}")

        def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("pageerror", on_error)
        page.on("console", on_console)
        page.on("dialog", on_dialog)
        return page

    def sign_in(self, user: User, viewport: ViewportSize | None = None) -> Page:
        page = self.new_page(viewport)
        page.goto(f"{self.base}/login/")
        page.fill("#id_username", user.login)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.base}/")
        return page

    def open_room(self, page: Page, chat_id: int) -> None:
        page.goto(f"{self.base}/chats/{chat_id}/")
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")

    def close(self) -> None:
        """Close the tabs and let the server see their sockets go before it is stopped."""
        for context in self.contexts:
            context.close()
        # Stopping the server while it is still ending a socket can hang its shutdown: the
        # socket's last presence event is then published on an event loop that has stopped.
        deadline = time.monotonic() + 5
        while Connection.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the presence events that follow the rows' removal


@pytest.fixture
def browsing(browser: Browser, server: str) -> Iterator[Browsing]:
    session = Browsing(browser, server)
    yield session
    session.close()
    assert session.errors == []
    assert session.dialogs == []


class Rest:
    """The REST API over HTTP, as one user with a bearer token: how the tests make chats and post
    while the pages watch. (Services called in the test process itself could not publish their
    events: Playwright's event loop runs on this thread.)"""

    def __init__(self, base: str, user: User) -> None:
        self.base = base
        self.token = tokens_issue(user=user)["access"]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - our own server on 127.0.0.1
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            raw = response.read()
        return json.loads(raw) if raw else None

    def create_chat(self, chat_type: str, members: list[User], **fields: str) -> int:
        body = {"chat_type": chat_type, "member_ids": [member.pk for member in members], **fields}
        return int(self.call("POST", "/api/chats/", body)["id"])

    def post_message(self, chat_id: int, text: str) -> dict[str, Any]:
        return dict(self.call("POST", f"/api/chats/{chat_id}/messages/", {"text": text}))


def texts(page: Page) -> list[str]:
    """The texts of the room's confirmed messages, top to bottom, exactly as shown."""
    return list(page.locator("#messages .message .text").all_text_contents())


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


def focused(page: Page) -> Locator:
    return page.locator("*:focus")


def tab_until(page: Page, selector: str, key: str = "Tab", presses: int = 25) -> None:
    """Press Tab (or Shift+Tab) until the focus is on `selector`: it is reachable by keyboard."""
    for _ in range(presses):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached {selector}")
