"""The demo pages' views, without a browser: signing in, up and out, who may see a room, CSRF, and
the Content-Security-Policy that keeps injected markup from running."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.test import Client, RequestFactory
from pytest_django import Settings

from accounts.models import User
from chatproject.middleware import ContentSecurityPolicyMiddleware
from chats.models import ChatType
from tests.factories import PASSWORD, UserFactory, chat_factory

pytestmark = pytest.mark.django_db


def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def csrf_token(client: Client, path: str) -> str:
    """Render the form page, as a browser would, and return the token its form carries."""
    response = client.get(path)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert match is not None
    return match.group(1)


def signed_in(client: Client) -> User | None:
    user = client.get("/").wsgi_request.user
    return user if isinstance(user, User) else None


# --- Who sees what -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/chats/1/"])
def test_an_anonymous_visitor_is_sent_to_sign_in(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_a_member_gets_the_room(client: Client, user: User, other_user: User) -> None:
    chat = chat_factory(user, [other_user], title="Team")
    client.force_login(user)

    response = client.get(f"/chats/{chat.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-chat-id="{chat.pk}"' in html
    assert "<title>Team · Chat</title>" in html


def test_a_direct_room_is_named_after_the_other_person(
    client: Client, user: User, other_user: User
) -> None:
    chat = chat_factory(user, [other_user], chat_type=ChatType.DIRECT)
    client.force_login(user)

    response = client.get(f"/chats/{chat.pk}/")

    assert '<h1 id="room-title">Bob</h1>' in response.content.decode()


def test_a_non_member_gets_404_as_if_the_room_did_not_exist(
    client: Client, user: User, other_user: User
) -> None:
    chat = chat_factory(other_user, title="Secret plans")
    client.force_login(user)

    response = client.get(f"/chats/{chat.pk}/")
    missing = client.get("/chats/999999/")

    assert response.status_code == missing.status_code == 404
    assert "Secret plans" not in response.content.decode()
    assert "Nothing here" in response.content.decode()
    assert "Nothing here" in missing.content.decode()


def test_a_non_member_gets_the_friendly_404_page_under_debug_too(
    client: Client, user: User, other_user: User, settings: Settings
) -> None:
    settings.DEBUG = True
    chat = chat_factory(other_user, title="Secret plans")
    client.force_login(user)

    response = client.get(f"/chats/{chat.pk}/")

    assert response.status_code == 404
    assert "Nothing here" in response.content.decode()


@pytest.mark.parametrize("path", ["/chats/123456789012345678901234567890/", "/chats/x/"])
def test_a_room_id_that_is_no_id_is_404(client: Client, user: User, path: str) -> None:
    client.force_login(user)

    assert client.get(path).status_code == 404


def test_a_room_title_is_escaped(client: Client, user: User) -> None:
    chat = chat_factory(user, title="<script>alert(1)</script>")
    client.force_login(user)

    html = client.get(f"/chats/{chat.pk}/").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_signed_in_pages_name_the_user_and_offer_sign_out(client: Client, user: User) -> None:
    client.force_login(user)

    html = client.get("/").content.decode()

    assert "Alice" in html
    assert 'action="/logout/"' in html
    assert 'id="chat-list"' in html


# --- Sign in -------------------------------------------------------------------------------------


def test_signing_in_leads_to_the_chats(user: User) -> None:
    client = csrf_client()
    token = csrf_token(client, "/login/")

    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in(client) == user


def test_signing_in_goes_back_to_the_page_asked_for(client: Client, user: User) -> None:
    response = client.post(
        "/login/?next=/chats/7/", {"username": "ALICE", "password": PASSWORD, "next": "/chats/7/"}
    )

    assert response["Location"] == "/chats/7/"


def test_signing_in_never_leads_off_site(client: Client, user: User) -> None:
    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"}
    )

    assert response["Location"] == "/"


def test_a_wrong_password_is_refused_on_the_form(client: Client, user: User) -> None:
    response = client.post("/login/", {"username": "alice", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct login and password" in response.content.decode()
    assert signed_in(client) is None


def test_a_deactivated_user_cannot_sign_in(client: Client, user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)

    client.post("/login/", {"username": "alice", "password": PASSWORD})

    assert signed_in(client) is None


def test_signing_in_without_the_csrf_token_is_403(user: User) -> None:
    client = csrf_client()
    client.get("/login/")

    response = client.post("/login/", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
    assert signed_in(client) is None


def test_the_sign_in_form_shares_the_apis_rate_limit(
    client: Client, user: User, settings: Settings
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login_user": "2/min",
        },
    }
    for _ in range(2):
        client.post("/login/", {"username": "alice", "password": "wrong"})

    response = client.post("/login/", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many attempts" in response.content.decode()
    assert signed_in(client) is None


def test_a_signed_in_user_skips_the_sign_in_page(client: Client, user: User) -> None:
    client.force_login(user)

    assert client.get("/login/")["Location"] == "/"
    assert client.get("/register/")["Location"] == "/"


@pytest.mark.parametrize(("debug", "shown"), [(True, True), (False, False)])
def test_the_demo_logins_are_mentioned_only_in_debug(
    client: Client, settings: Settings, debug: bool, shown: bool
) -> None:
    for login in ("demo", "demo2"):
        UserFactory.create(login=login)
    settings.DEBUG = debug

    html = client.get("/login/").content.decode()

    assert ("Demo logins" in html) is shown


# --- Sign up -------------------------------------------------------------------------------------


def register_form(**changes: str) -> dict[str, str]:
    return {
        "login": "carol",
        "name": "Carol",
        "password": PASSWORD,
        "password_again": PASSWORD,
        **changes,
    }


def test_signing_up_creates_the_account_and_signs_in() -> None:
    client = csrf_client()
    token = csrf_token(client, "/register/")

    response = client.post("/register/", {**register_form(), "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert response["Location"] == "/"
    carol = User.objects.get(login="carol")
    assert carol.name == "Carol"
    assert carol.check_password(PASSWORD)
    assert signed_in(client) == carol


def test_signing_up_without_the_csrf_token_is_403() -> None:
    client = csrf_client()
    client.get("/register/")

    response = client.post("/register/", register_form())

    assert response.status_code == 403
    assert not User.objects.filter(login="carol").exists()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"login": "ALICE"}, "This login is taken."),
        ({"login": "no spaces"}, "Use 3 to 150 letters"),
        ({"password_again": "something-else-entirely"}, "The two passwords differ."),
        ({"password": "12345678", "password_again": "12345678"}, "This password is too common."),
        ({"name": ""}, "This field is required."),
    ],
)
def test_a_bad_sign_up_is_explained_on_the_form(
    client: Client, user: User, changes: dict[str, str], error: str
) -> None:
    response = client.post("/register/", register_form(**changes))

    assert response.status_code == 200
    assert error in response.content.decode()
    assert User.objects.count() == 1
    assert signed_in(client) is None


def test_the_sign_up_form_shares_the_apis_rate_limit(client: Client, settings: Settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "register": "1/hour",
        },
    }
    client.post("/register/", register_form(login="first"))
    client.logout()

    response = client.post("/register/", register_form(login="second"))

    assert response.status_code == 429
    assert not User.objects.filter(login="second").exists()


# --- Sign out ------------------------------------------------------------------------------------


def test_signing_out_ends_the_session(user: User) -> None:
    client = csrf_client()
    client.force_login(user)
    token = csrf_token(client, "/")

    response = client.post("/logout/", {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert signed_in(client) is None


def test_signing_out_needs_a_post_with_the_csrf_token(user: User) -> None:
    client = csrf_client()
    client.force_login(user)

    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 403
    assert signed_in(client) == user


# --- Content-Security-Policy and markup ----------------------------------------------------------


@pytest.fixture
def pages(client: Client, user: User) -> dict[str, str]:
    """Every page's path and HTML, the room included, with their CSP header checked."""
    chat = chat_factory(user, title="Team")
    anonymous = {path: client.get(path) for path in ["/login/", "/register/"]}
    client.force_login(user)
    signed = {path: client.get(path) for path in ["/", f"/chats/{chat.pk}/", "/chats/999999/"]}
    responses = {**anonymous, **signed}
    for path, response in responses.items():
        assert response.status_code in (200, 404), path
        csp = response["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
        assert directives["script-src"] == "'self'", path
        assert directives["style-src"] == "'self'", path
        assert directives["frame-ancestors"] == "'none'", path
        assert "unsafe-inline" not in csp, path
        assert "unsafe-eval" not in csp, path
    return {path: response.content.decode() for path, response in responses.items()}


def test_every_page_sends_a_csp_that_allows_no_inline_script(pages: dict[str, str]) -> None:
    assert len(pages) == 5


def test_no_page_has_inline_script_style_or_handlers(pages: dict[str, str]) -> None:
    for path, html in pages.items():
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert all('src="/static/' in tag for tag in scripts), path
        assert not re.search(r"<style\b", html), path
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path


def test_the_pages_scripts_and_styles_exist(pages: dict[str, str]) -> None:
    assets = {asset for html in pages.values() for asset in re.findall(r'"/static/([^"]+)"', html)}
    assert {"chats/app.css", "chats/js/list.js", "chats/js/room.js"} <= assets
    for asset in assets | {"chats/js/common.js"}:
        assert finders.find(asset), asset


@pytest.mark.parametrize("path", ["/api/docs/", "/admin/login/"])
def test_the_api_docs_and_the_admin_keep_their_inline_scripts(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


def test_the_api_answers_without_the_pages_csp(client: Client, user: User) -> None:
    client.force_login(user)

    response = client.get("/api/users/me/")

    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


def test_a_page_that_sets_its_own_csp_keeps_it(rf: RequestFactory) -> None:
    own = HttpResponse("<p>hi</p>")
    own["Content-Security-Policy"] = "default-src 'none'"
    middleware = ContentSecurityPolicyMiddleware(lambda request: own)

    response = middleware(rf.get("/somewhere/"))

    assert response["Content-Security-Policy"] == "default-src 'none'"


def test_a_json_response_outside_the_api_gets_no_csp(rf: RequestFactory) -> None:
    middleware = ContentSecurityPolicyMiddleware(lambda request: JsonResponse({"ok": True}))

    assert "Content-Security-Policy" not in middleware(rf.get("/healthz"))
