"""The one place that decides whether a user's credentials still hold.

Every password change and every deactivation voids what the user held before it: their refresh
tokens are blacklisted, `credentials_valid_after` moves to now (so access tokens issued earlier
fail, even once the account is active again), and their sockets close on every process. It
happens on the User's save, whoever saves it: the API's password change, the admin's password
and change forms, `manage.py changepassword`, a shell's `set_password` and `save`, a ban.

An access token is good while it was issued after `credentials_valid_after` (its `auth_at`
claim, to the microsecond: `iat` counts whole seconds, and a token issued in the same second as a
revocation must not survive it). A socket re-checks the same at least every heartbeat and before
each write it makes, so revocation holds even if the channel layer never delivers the close.
"""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts import signals
from accounts.models import LoginSession, User


def credentials_revoke(*, user: User) -> None:
    """Void everything the user holds now: tokens, sessions' sockets."""
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(credentials_valid_after=now)
    user.credentials_valid_after = now
    LoginSession.objects.filter(user=user, ended__isnull=True).update(ended=now)
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    signals.sessions_revoked.send(sender=User, user_id=user.pk)


@receiver(post_save, sender=User)
def revoke_on_password_change_or_deactivation(
    sender: Any, instance: User, created: bool, **kwargs: Any
) -> None:
    if created:
        return
    stored_password, stored_active = instance.stored_credentials
    password_changed = stored_password is not None and stored_password != instance.password
    deactivated = stored_active is True and not instance.is_active
    instance.stored_credentials = (instance.password, instance.is_active)
    if password_changed or deactivated:
        credentials_revoke(user=instance)


def credentials_hold(user: User, authenticated_at: float) -> bool:
    """Whether credentials presented at `authenticated_at` (a Unix time) still hold for `user`,
    as last read from the database."""
    if not user.is_active:
        return False
    valid_after = user.credentials_valid_after
    return valid_after is None or authenticated_at > valid_after.timestamp()


def credentials_hold_now(*, user_id: int, authenticated_at: float, session_id: str | None) -> bool:
    """The same, read fresh, and the login session not ended: one query."""
    user = user_with_session_ended(user_id, session_id)
    ended = user is not None and user.session_ended  # type: ignore[attr-defined]  # selected
    return user is not None and credentials_hold(user, authenticated_at) and not ended


# The user, and whether a login session of theirs has ended (a session with no record, from a
# token made before sessions were recorded, has not). Written out: every request and every socket
# write asks it, and Django's compiler took twice as long to build it as PostgreSQL to answer it
# (bench/auth_check.py).
_SESSIONS, _USERS = LoginSession._meta.db_table, User._meta.db_table
_USER_WITH_SESSION_ENDED_SQL = (
    f"SELECT u.*, EXISTS (SELECT 1 FROM {_SESSIONS} s"  # noqa: S608
    " WHERE s.id = %s AND s.ended IS NOT NULL) AS session_ended"
    f" FROM {_USERS} u WHERE u.id = %s"
)


def user_with_session_ended(user_id: Any, session_id: str | None) -> User | None:
    users = User.objects.raw(_USER_WITH_SESSION_ENDED_SQL, [session_id or "", user_id])
    return next(iter(users), None)


ISSUED_AT_CLAIM = "auth_at"
SESSION_CLAIM = "sid"  # the login session (accounts.LoginSession) a token belongs to


def session_of(token: Token) -> str | None:
    session_id = token.get(SESSION_CLAIM)
    return None if session_id is None else str(session_id)


def issued_at(token: Token) -> float:
    """When the token was issued, to the microsecond (tokens_issue sets it)."""
    return float(token.get(ISSUED_AT_CLAIM, 0))


class CredentialsJWTAuthentication(JWTAuthentication):
    """SimpleJWT's checks (signature, expiry, an active user, the password unchanged), the token
    issued after the user's credentials_valid_after, and its login session not ended: all from
    the one query that reads the user."""

    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]  # it is ours
        user_id = validated_token.get(jwt_settings.USER_ID_CLAIM)
        if user_id is None:
            raise InvalidToken("Token contained no recognizable user identification")
        user = user_with_session_ended(user_id, session_of(validated_token))
        if user is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if validated_token.get(jwt_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(
            user.password
        ):
            raise AuthenticationFailed(
                "The user's password has been changed.", code="password_changed"
            )
        ended = user.session_ended  # type: ignore[attr-defined]  # selected
        if not credentials_hold(user, issued_at(validated_token)) or ended:
            raise AuthenticationFailed("This token was revoked.", code="token_revoked")
        return user
