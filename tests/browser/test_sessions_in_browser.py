"""Sessions end on the open pages too: a ban in the admin and a sign-out close their sockets."""

from typing import cast

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.browser.conftest import Browsing, Rest
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]


def test_staff_bans_a_user_in_the_admin_and_their_open_page_is_disconnected(
    browsing: Browsing, user: User, other_user: User
) -> None:
    staff = cast(User, UserFactory(login="root", is_staff=True, is_superuser=True))
    chat = Rest(browsing.base, user).create_chat("direct", [other_user])
    bob = browsing.sign_in(other_user)
    browsing.open_room(bob, chat)

    admin = browsing.new_page()
    admin.goto(f"{browsing.base}/admin/login/?next=/admin/accounts/user/")
    admin.fill("#id_username", staff.login)
    admin.fill("#id_password", PASSWORD)
    admin.click("input[type=submit], button[type=submit]")
    admin.goto(f"{browsing.base}/admin/accounts/user/?q={other_user.login}")
    admin.check(f"input[name=_selected_action][value='{other_user.pk}']")
    admin.select_option("select[name=action]", "ban_users")
    admin.fill("input[name=reason]", "spam")
    admin.click("button[name=index]")

    expect(admin.locator(".messagelist")).to_contain_text("1")
    expect(bob.locator("#conn")).to_have_attribute("data-state", "signed-out")
    other_user.refresh_from_db()
    assert not other_user.is_active


def test_signing_out_closes_the_sessions_other_open_pages(
    browsing: Browsing, user: User, other_user: User
) -> None:
    chat = Rest(browsing.base, user).create_chat("direct", [other_user])
    bob = browsing.sign_in(other_user)  # on the chat list, which has the sign-out button
    second_tab = bob.context.new_page()
    browsing.open_room(second_tab, chat)
    alice = browsing.sign_in(user)
    browsing.open_room(alice, chat)

    bob.click("text=Sign out")

    bob.wait_for_url(f"{browsing.base}/login/")
    expect(second_tab.locator("#conn")).to_have_attribute("data-state", "signed-out")
    expect(alice.locator("#conn")).to_have_attribute("data-state", "live")
