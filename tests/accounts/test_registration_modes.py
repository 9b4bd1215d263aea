"""REGISTRATION decides who may register: anyone (open, the default), only with an invite code
that staff made in the admin (invite), or no one (closed). The API and the sign-up page agree."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import InviteCode, User

REGISTER = "/api/auth/register/"


def register(anon: APIClient, login: str, **extra: str) -> Any:
    body = {"login": login, "password": "violet-kettle-orbit-42", "name": login.title(), **extra}
    return anon.post(REGISTER, body, format="json")


def invite(**fields: Any) -> InviteCode:
    fields.setdefault("expires", timezone.now() + timedelta(days=1))
    return InviteCode.objects.create(**fields)


@pytest.mark.django_db
def test_open_registration_needs_no_code(anon: APIClient) -> None:
    assert register(anon, "newcomer").status_code == 201


@pytest.mark.django_db
@override_settings(REGISTRATION="closed")
def test_closed_registration_refuses_everyone_with_403(anon: APIClient) -> None:
    response = register(anon, "newcomer")
    page = Client().get("/register/")

    assert response.status_code == 403
    assert not User.objects.filter(login="newcomer").exists()
    assert b"not taking new accounts" in page.content


@pytest.mark.django_db
@override_settings(REGISTRATION="invite")
def test_an_invite_code_lets_as_many_register_as_it_allows(anon: APIClient) -> None:
    code = invite(max_uses=2).code

    statuses = [register(anon, f"friend{n}", invite=code).status_code for n in range(3)]

    assert statuses == [201, 201, 403]
    assert InviteCode.objects.get(code=code).uses == 2
    assert not User.objects.filter(login="friend2").exists()


@pytest.mark.django_db
@override_settings(REGISTRATION="invite")
@pytest.mark.parametrize("code", ["", "not-a-code", "expired"])
def test_without_a_valid_code_registration_is_403(anon: APIClient, code: str) -> None:
    expired = invite(expires=timezone.now() - timedelta(seconds=1), code="expired")

    response = register(anon, "stranger", **({"invite": code} if code else {}))

    assert response.status_code == 403
    assert not User.objects.filter(login="stranger").exists()
    assert InviteCode.objects.get(pk=expired.pk).uses == 0


@pytest.mark.django_db
@override_settings(REGISTRATION="invite")
def test_the_sign_up_page_asks_for_the_code_and_uses_it() -> None:
    code = invite().code
    browser = Client()
    form = {
        "login": "pagefriend",
        "name": "Page Friend",
        "password": "violet-kettle-orbit-42",
        "password_again": "violet-kettle-orbit-42",
    }

    assert b"Invite code" in browser.get("/register/").content
    refused = browser.post("/register/", {**form, "invite": "wrong"})
    accepted = browser.post("/register/", {**form, "invite": code})

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert User.objects.filter(login="pagefriend").exists()


@pytest.mark.django_db
def test_staff_make_invite_codes_in_the_admin() -> None:
    root = User.objects.create_superuser("root", "a-long-root-passphrase", name="Root")
    admin = Client()
    admin.force_login(root)
    expires = timezone.now() + timedelta(days=7)

    response = admin.post(
        "/admin/accounts/invitecode/add/",
        {
            "code": "team-2026",
            "note": "the new team",
            "max_uses": 5,
            "expires_0": expires.strftime("%Y-%m-%d"),
            "expires_1": expires.strftime("%H:%M:%S"),
        },
    )

    assert response.status_code == 302, response.content[:400]
    made = InviteCode.objects.get(code="team-2026")
    assert (made.max_uses, made.uses, made.created_by) == (5, 0, root)
