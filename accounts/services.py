"""Every write to accounts and their tokens. REST views, sockets, admin and tasks call these."""

import ipaddress
import secrets
import time
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth import logout as logout_session
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework_simplejwt.exceptions import InvalidToken, TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import signals
from accounts.credentials import ISSUED_AT_CLAIM, SESSION_CLAIM
from accounts.models import (
    Block,
    IdempotencyRecord,
    InviteCode,
    LoginSession,
    LoginSessionKind,
    User,
    UserStatus,
)


def _password_check_strength(password: str, *, user: User, field: str) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise exceptions.ValidationError({field: list(exc.messages)}) from exc


@transaction.atomic
def user_register(*, login: str, password: str, name: str, invite: str = "") -> User:
    """Register, as REGISTRATION allows: anyone (`open`), with a valid invite code (`invite`; the
    code's use is counted in the same transaction), or no one (`closed`)."""
    if settings.REGISTRATION == "closed":
        raise exceptions.PermissionDenied("Registration is closed.")
    if settings.REGISTRATION == "invite":
        _invite_use(invite)
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


def _invite_use(code: str) -> None:
    invite = InviteCode.objects.select_for_update().filter(code=code).first() if code else None
    if invite is None or invite.expires <= timezone.now() or invite.uses >= invite.max_uses:
        raise exceptions.PermissionDenied("Registration needs a valid invite code.")
    invite.uses += 1
    invite.save(update_fields=["uses"])


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


# How long a write sent with an Idempotency-Key answers a retry (chatproject/idempotency.py).
IDEMPOTENCY_KEPT_FOR = timedelta(hours=24)


# --- Blocks -------------------------------------------------------------------------------------


def block_add(*, user: User, blocked_id: int) -> None:
    """Block someone; blocking them again changes nothing."""
    if blocked_id == user.pk:
        raise exceptions.ValidationError({"user_id": ["You cannot block yourself."]})
    if not User.objects.filter(pk=blocked_id, is_active=True).exists():
        raise exceptions.NotFound("No such user.")
    Block.objects.get_or_create(blocker=user, blocked_id=blocked_id)


def block_remove(*, user: User, blocked_id: int) -> None:
    """Unblock someone; unblocking someone not blocked changes nothing."""
    Block.objects.filter(blocker=user, blocked_id=blocked_id).delete()


# --- Login sessions -----------------------------------------------------------------------------


def _client_of(request: HttpRequest | None) -> dict[str, Any]:
    """What a sessions list shows of the client that signed in: its address as the throttles see
    it (NUM_PROXIES) and its User-Agent."""
    if request is None:
        return {}
    address: str | None = BaseThrottle().get_ident(cast(Request, request))
    try:
        ipaddress.ip_address(address or "")
    except ValueError:
        address = None
    return {"ip": address, "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200]}


def login_session_start(
    *,
    user: User,
    kind: LoginSessionKind,
    expires: datetime,
    request: HttpRequest | None = None,
    session_key: str = "",
) -> LoginSession:
    return LoginSession.objects.create(
        id=secrets.token_urlsafe(24),
        user=user,
        kind=kind,
        session_key=session_key,
        last_used=timezone.now(),
        expires=expires,
        **_client_of(request),
    )


def _token_session_locked(*, token: RefreshToken, user: User) -> LoginSession:
    """The refresh token's login session, locked; made now for a token from before sessions were
    recorded (one without a `sid` is a session of its own)."""
    session_id = str(token.get(SESSION_CLAIM) or token[jwt_settings.JTI_CLAIM])
    session, _ = LoginSession.objects.select_for_update().get_or_create(
        id=session_id,
        defaults={
            "user": user,
            "kind": LoginSessionKind.TOKEN,
            "last_used": timezone.now(),
            "expires": timezone.now() + jwt_settings.REFRESH_TOKEN_LIFETIME,
        },
    )
    if session.user_id != user.pk:  # a forged sid cannot touch someone else's session
        raise InvalidToken({"detail": "Token is invalid", "code": "token_not_valid"})
    return session


def login_session_end(*, session: LoginSession) -> None:
    """End a login session: its tokens stop working at once (each request checks), a browser's
    cookie is deleted, and its sockets close on every process."""
    if session.ended is not None:
        return
    session.ended = timezone.now()
    session.save(update_fields=["ended"])
    if session.session_key:
        SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
        SessionStore(session_key=session.session_key).delete()
    signals.session_ended.send(sender=User, session_id=session.pk)


@transaction.atomic
def login_session_end_mine(*, user: User, session_id: str) -> None:
    session = login_sessions_live(user=user).select_for_update().filter(pk=session_id).first()
    if session is None:
        raise exceptions.NotFound("No such session.")
    login_session_end(session=session)


@transaction.atomic
def login_sessions_end_others(*, user: User, current_id: str | None) -> None:
    for session in login_sessions_live(user=user).exclude(pk=current_id).select_for_update():
        login_session_end(session=session)


def login_sessions_live(*, user: User) -> QuerySet[LoginSession]:
    return LoginSession.objects.filter(user=user, ended__isnull=True, expires__gt=timezone.now())


def browser_session_for(*, user: User, session_key: str) -> LoginSession:
    """The login session of a browser's cookie, recorded now if it was made before sessions
    were (a socket opened with it asks)."""
    session = LoginSession.objects.filter(session_key=session_key).first()
    if session is None:
        session = login_session_start(
            user=user,
            kind=LoginSessionKind.BROWSER,
            expires=timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE),
            session_key=session_key,
        )
    return session


@receiver(user_logged_in)
def _browser_session_record(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    """Every browser sign-in (the demo pages', the admin's) is a login session of its own."""
    login_session_start(
        user=user,
        kind=LoginSessionKind.BROWSER,
        expires=request.session.get_expiry_date(),
        request=request,
        session_key=request.session.session_key or "",
    )


# --- Tokens -------------------------------------------------------------------------------------


def tokens_issue(
    *, user: User, session_id: str | None = None, request: HttpRequest | None = None
) -> dict[str, Any]:
    """A new token pair. Both carry the login session's id (`sid`), which survives refreshes;
    without one, this is a new login session."""
    if session_id is None:
        expires = timezone.now() + jwt_settings.REFRESH_TOKEN_LIFETIME
        session_id = login_session_start(
            user=user, kind=LoginSessionKind.TOKEN, expires=expires, request=request
        ).pk
    refresh = RefreshToken.for_user(user)
    refresh[SESSION_CLAIM] = session_id
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
    return tokens_issue(user=user, request=request)


def _refresh_token_parse(raw: str) -> RefreshToken:
    """A refresh token with a good signature, unexpired, blacklisted or not: a blacklisted one
    presented again is a reuse, which the caller answers by ending its session."""
    try:
        token_backend.decode(raw, verify=True)  # type: ignore[arg-type]  # signature, expiry
        token = RefreshToken(raw, verify=False)  # type: ignore[arg-type]
        token.verify_token_type()
    except (TokenError, TokenBackendError) as exc:
        raise InvalidToken({"detail": str(exc), "code": "token_not_valid"}) from exc
    return token


def tokens_refresh(*, refresh: str) -> dict[str, Any]:
    """Rotate a refresh token: the old one is blacklisted, and two racing refreshes get one new
    pair. A refresh token that was already rotated away (or logged out) ends its whole login
    session: someone holds a copy (API.md, Auth)."""
    token = _refresh_token_parse(refresh)
    with transaction.atomic():
        tokens, refused = _tokens_rotate(token)
    if refused is not None:  # after the commit: the ended session stays ended
        raise InvalidToken({"detail": refused, "code": "token_not_valid"})
    return cast(dict[str, Any], tokens)


def _tokens_rotate(token: RefreshToken) -> tuple[dict[str, Any] | None, str | None]:
    outstanding = (
        OutstandingToken.objects.select_for_update()
        .filter(jti=token[jwt_settings.JTI_CLAIM])
        .first()
    )
    user = User.objects.filter(pk=token.get(jwt_settings.USER_ID_CLAIM), is_active=True).first()
    if outstanding is None or user is None:
        return None, "No active account for this token."
    session = _token_session_locked(token=token, user=user)
    if session.ended is not None:
        return None, "This login session has ended."
    if BlacklistedToken.objects.filter(token=outstanding).exists():
        login_session_end(session=session)
        return None, "This refresh token was already used: the login session is ended."
    BlacklistedToken.objects.create(token=outstanding)
    session.last_used = timezone.now()
    session.expires = session.last_used + jwt_settings.REFRESH_TOKEN_LIFETIME
    session.save(update_fields=["last_used", "expires"])
    return tokens_issue(user=user, session_id=session.pk), None


@transaction.atomic
def logout(*, user: User, refresh: str) -> None:
    """End the refresh token's login session: it, and every access token of the session, stop
    working at once, and the session's sockets close."""
    try:
        token = RefreshToken(refresh)  # type: ignore[arg-type]
    except TokenError as exc:
        raise exceptions.ValidationError({"refresh": [str(exc)]}) from exc
    if str(token.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise exceptions.ValidationError({"refresh": ["This token belongs to another user."]})
    token.blacklist()
    session = _token_session_locked(token=token, user=user)
    login_session_end(session=session)


@transaction.atomic
def user_password_change(
    *, user: User, old_password: str, new_password: str, request: HttpRequest | None = None
) -> dict[str, Any]:
    """Change the password and return a fresh pair, a new login session. The save voids every
    token, session and socket the user held (accounts/credentials.py)."""
    if not user.check_password(old_password):
        raise exceptions.ValidationError({"old_password": ["The password is wrong."]})
    _password_check_strength(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password", "updated"])
    return tokens_issue(user=user, request=request)


def session_logout(*, request: HttpRequest) -> None:
    """Sign a browser out: its login session ends, and the sockets it opened close."""
    session_key = request.session.session_key
    if session_key:
        session = LoginSession.objects.filter(session_key=session_key).first()
        if session is not None:
            login_session_end(session=session)
    logout_session(request)


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
