"""Every cause that voids a login's tokens and closes its sockets (API.md, Auth: revocation), as
the revocation tests apply them: in one process (tests/realtime/test_revocation.py), across two
server processes (tests/realtime/test_two_processes.py) and with Redis stopped
(tests/faults/test_redis_outage.py). Each takes the user and the token pair opened before it, and
acts as its real cause would: through the API, the admin's forms, a shell, a moderator."""

import io
from typing import Any, cast
from unittest import mock

from django.contrib.auth.management.commands import changepassword
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.services import tokens_issue
from chats.moderation.services import user_ban
from tests.factories import PASSWORD, UserFactory

NEW_PASSWORD = "a-brand-new-passphrase-42"  # noqa: S105


def rest_status(access: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return int(client.get("/api/users/me/").status_code)


def refresh_status(refresh: str) -> int:
    response = APIClient().post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")
    return int(response.status_code)


def superuser() -> User:
    return cast(User, UserFactory(login="root", is_staff=True, is_superuser=True))


def as_admin(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def shell_password_change(user: User) -> None:
    fresh = User.objects.get(pk=user.pk)
    fresh.set_password(NEW_PASSWORD)
    fresh.save()


def changepassword_command(user: User) -> None:
    """`manage.py changepassword`, typing the new password twice at its prompts."""
    # The command's module imports getpass; its prompts are what a test cannot type into.
    with mock.patch(f"{changepassword.__name__}.getpass.getpass", return_value=NEW_PASSWORD):
        call_command("changepassword", user.login, stdout=io.StringIO())


def admin_password_change(user: User) -> None:
    root = superuser()
    response = as_admin(root).post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content


def admin_unticks_active(user: User) -> None:
    root = superuser()
    response = as_admin(root).post(
        f"/admin/accounts/user/{user.pk}/change/",
        {"login": user.login, "name": user.name, "status": "offline"},  # "is_active" unticked
    )
    assert response.status_code == 302, response.content
    assert not User.objects.get(pk=user.pk).is_active


def api_password_change(user: User, tokens: dict[str, Any]) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    change = {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert client.post("/api/users/me/password/", change, format="json").status_code == 200


def moderator_bans(user: User) -> None:
    user_ban(user=user, moderator=superuser(), reason="spam")


def logout_of(user: User, tokens: dict[str, Any]) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    body = {"refresh": tokens["refresh"]}
    assert client.post("/api/auth/logout/", body, format="json").status_code == 204


def ended_from_the_sessions_list(user: User, tokens: dict[str, Any]) -> None:
    """Another sign-in of the same user ends this one from GET /api/auth/sessions/."""
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=user)['access']}")
    session_id = AccessToken(tokens["access"])["sid"]
    assert session_id in [s["id"] for s in other.get("/api/auth/sessions/").json()]
    assert other.delete(f"/api/auth/sessions/{session_id}/").status_code == 204


# Every cause that voids a token and closes its sockets (API.md, Auth: revocation), whoever makes
# it and however. Each gets the user and the pair opened before it.
CAUSES = {
    "logout": logout_of,
    "an API password change": api_password_change,
    "an admin password change": lambda user, tokens: admin_password_change(user),
    "a shell password change": lambda user, tokens: shell_password_change(user),
    "manage.py changepassword": lambda user, tokens: changepassword_command(user),
    "a deactivation in the admin": lambda user, tokens: admin_unticks_active(user),
    "a ban": lambda user, tokens: moderator_bans(user),
    "the session ended from the list": ended_from_the_sessions_list,
}
