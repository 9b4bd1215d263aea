"""Every write to accounts and their tokens. REST views, sockets, admin and tasks call these."""

import time
from datetime import timedelta
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth import logout as logout_session
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import exceptions
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import signals
from accounts.credentials import ISSUED_AT_CLAIM
from accounts.models import IdempotencyRecord, User, UserStatus


def _password_check_strength(password: str, *, user: User, field: str) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise exceptions.ValidationError({field: list(exc.messages)}) from exc


@transaction.atomic
def user_register(*, login: str, password: str, name: str) -> User:
    if User.objects.filter(login__iexact=login).exists():
        raise exceptions.ValidationError({"login": ["This login is taken."]})
    user = User(login=login, name=name)
    _password_check_strength(password, user=user, field="password")
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration won the race for this login
        raise exceptions.ValidationError({"login": ["This login is taken."]}) from exc
    return user


@transaction.atomic
def user_update(*, user: User, name: str | None = None, status: UserStatus | None = None) -> User:
    """Change the name or status. A status change is announced to everyone who shares a chat."""
    fields = ["updated"]
    if name is not None:
        user.name = name
        fields.append("name")
    announce = status is not None and status != user.status
    if status is not None:
        user.status = status
        fields.append("status")
    user.save(update_fields=fields)
    if announce:
        signals.status_changed.send(sender=User, user=user)
    return user


SESSION_CLAIM = "sid"
# How long a write sent with an Idempotency-Key answers a retry (chatproject/idempotency.py).
IDEMPOTENCY_KEPT_FOR = timedelta(hours=24)


def tokens_issue(*, user: User, session_id: str | None = None) -> dict[str, Any]:
    """A new token pair. Both carry the login session's id (`sid`), which survives refreshes, so
    that logging out can close exactly the sockets of that session."""
    refresh = RefreshToken.for_user(user)
    refresh[SESSION_CLAIM] = session_id or refresh[jwt_settings.JTI_CLAIM]
    refresh[ISSUED_AT_CLAIM] = time.time()  # the access token copies it
    # for_user recorded the token before it had the claim; record what the client really holds.
    OutstandingToken.objects.filter(jti=refresh[jwt_settings.JTI_CLAIM]).update(token=str(refresh))
    access = refresh.access_token
    return {
        "access": str(access),
        "refresh": str(refresh),
        "token_type": "bearer",
        # OAuth2 names, so that standard clients (and Swagger UI's Authorize button) work.
        "access_token": str(access),
        "expires_in": int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
    }


def tokens_obtain(*, request: HttpRequest | None, login: str, password: str) -> dict[str, Any]:
    user = authenticate(request, login=login, password=password)
    if not isinstance(user, User):
        raise exceptions.AuthenticationFailed("No active account found with the given credentials.")
    return tokens_issue(user=user)


def _refresh_token_parse(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidToken({"detail": str(exc), "code": "token_not_valid"}) from exc


@transaction.atomic
def tokens_refresh(*, refresh: str) -> dict[str, Any]:
    """Rotate a refresh token. The old one is blacklisted; two racing refreshes get one new pair."""
    token = _refresh_token_parse(refresh)
    outstanding = (
        OutstandingToken.objects.select_for_update()
        .filter(jti=token[jwt_settings.JTI_CLAIM])
        .first()
    )
    if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
        raise InvalidToken({"detail": "Token is blacklisted", "code": "token_not_valid"})
    user = User.objects.filter(pk=token.get(jwt_settings.USER_ID_CLAIM), is_active=True).first()
    if user is None:
        raise InvalidToken(
            {"detail": "No active account for this token.", "code": "token_not_valid"}
        )
    BlacklistedToken.objects.create(token=outstanding)
    return tokens_issue(user=user, session_id=token.get(SESSION_CLAIM))


@transaction.atomic
def logout(*, user: User, refresh: str) -> None:
    """Blacklist the refresh token and close the sockets of its login session."""
    try:
        token = RefreshToken(refresh)  # type: ignore[arg-type]
    except TokenError as exc:
        raise exceptions.ValidationError({"refresh": [str(exc)]}) from exc
    if str(token.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise exceptions.ValidationError({"refresh": ["This token belongs to another user."]})
    token.blacklist()
    session_id = token.get(SESSION_CLAIM)
    if session_id:
        signals.session_ended.send(sender=User, session_id=str(session_id))


@transaction.atomic
def user_password_change(*, user: User, old_password: str, new_password: str) -> dict[str, Any]:
    """Change the password and return a fresh pair. The save voids every token and socket the
    user held (accounts/credentials.py)."""
    if not user.check_password(old_password):
        raise exceptions.ValidationError({"old_password": ["The password is wrong."]})
    _password_check_strength(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password", "updated"])
    return tokens_issue(user=user)


def browser_session_id(session_key: str) -> str:
    """The login-session id of a browser session, as its sockets know it."""
    return f"web-{session_key}"


def session_logout(*, request: HttpRequest) -> None:
    """Sign a browser out and close the sockets its session opened, on every process."""
    session_key = request.session.session_key
    logout_session(request)
    if session_key:
        signals.session_ended.send(sender=User, session_id=browser_session_id(session_key))


@transaction.atomic
def user_deactivate(*, user: User) -> None:
    """Deactivate the account. The save voids its tokens and closes its sockets, on every
    process (accounts/credentials.py); reactivating it later revives none of them."""
    user.is_active = False
    user.save(update_fields=["is_active", "updated"])


def idempotency_records_purge() -> int:
    """Forget the answers to writes sent with an Idempotency-Key more than a day ago."""
    expired = IdempotencyRecord.objects.filter(created__lt=timezone.now() - IDEMPOTENCY_KEPT_FOR)
    deleted, _ = expired.delete()
    return deleted
