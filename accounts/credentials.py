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

from typing import Any, cast

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import Token

from accounts import signals
from accounts.models import User


def credentials_revoke(*, user: User) -> None:
    """Void everything the user holds now: tokens, sessions' sockets."""
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(credentials_valid_after=now)
    user.credentials_valid_after = now
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


def credentials_hold_now(*, user_id: int, authenticated_at: float) -> bool:
    """The same, read fresh: one query."""
    user = User.objects.filter(pk=user_id).only("is_active", "credentials_valid_after").first()
    return user is not None and credentials_hold(user, authenticated_at)


ISSUED_AT_CLAIM = "auth_at"


def issued_at(token: Token) -> float:
    """When the token was issued, to the microsecond (tokens_issue sets it)."""
    return float(token.get(ISSUED_AT_CLAIM, 0))


class CredentialsJWTAuthentication(JWTAuthentication):
    """SimpleJWT's checks (signature, expiry, an active user, the password unchanged), and the
    token issued after the user's credentials_valid_after. No query more: the user's
    row is read anyway."""

    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]  # it is ours
        user = cast(User, super().get_user(validated_token))
        if not credentials_hold(user, issued_at(validated_token)):
            raise AuthenticationFailed("This token was revoked.", code="token_revoked")
        return user
