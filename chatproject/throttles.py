"""Rate limits read from settings at request time, so that they follow override_settings."""

import hashlib
import logging
from types import SimpleNamespace
from typing import cast

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        config = cast(dict[str, dict[str, str]], settings.REST_FRAMEWORK)
        return config["DEFAULT_THROTTLE_RATES"][self.scope or ""]

    def allow_request(self, request: Request, view: APIView) -> bool:
        # The counters live in Redis. While it is down, a limit that cannot be counted lets the
        # request through: posting must keep working when only the live push is gone.
        try:
            return self.count(request, view)
        except RedisError as exc:
            logger.warning("rate limit %s not applied: cache unavailable (%s)", self.scope, exc)
            return True

    def count(self, request: Request, view: APIView) -> bool:
        """Counts the request; whether it is within the limit."""
        return super().allow_request(request, view)


class FixedWindowThrottle(SettingsRateThrottle):
    """A limit counted with one atomic increment per request, in a fixed window that opens with
    the first request and lasts the rate's duration.

    DRF's SimpleRateThrottle reads its list of past requests, appends and writes it back, so
    requests that arrive together all read the same list and all pass: 30 simultaneous password
    guesses got 11 through a limit of 5. Here `cache.add` (SET NX) opens a window, so every racer
    agrees on its start, and `cache.incr` (INCR) counts, so no request goes uncounted.
    """

    def count(self, request: Request, view: APIView) -> bool:
        limit, duration = self.parse_rate(self.rate)
        key = self.get_cache_key(request, view)
        if limit is None or duration is None or key is None:
            return True
        self.now = self.timer()
        # The first request of a window writes its start; the others read that one.
        self.window_start = float(self.cache.get_or_set(key, self.now, duration) or self.now)
        counter = f"{key}:{self.window_start!r}"
        # One second longer than the window, so the counter cannot expire between add and incr.
        self.cache.add(counter, 0, duration + 1)
        try:
            count = int(self.cache.incr(counter))
        except ValueError:  # evicted in between (Redis under memory pressure): count afresh
            self.cache.set(counter, 1, duration + 1)
            count = 1
        return count <= limit

    def wait(self) -> float:
        """Seconds until the window closes and the count starts again: the Retry-After."""
        _, duration = self.parse_rate(self.rate)
        return max(self.window_start + (duration or 0) - self.now, 1.0)


class ClientAddressThrottle(SettingsRateThrottle):
    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class RegisterThrottle(ClientAddressThrottle):
    scope = "register"


class LoginAddressThrottle(FixedWindowThrottle, ClientAddressThrottle):
    scope = "login"


class LoginUserThrottle(FixedWindowThrottle):
    """Limits attempts per login, so rotating client addresses does not help a password guesser."""

    scope = "login_user"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        data = request.data if hasattr(request.data, "get") else {}
        login = data.get("login") or data.get("username")
        if not isinstance(login, str) or not login:
            return None
        # Hashed, because the login is raw client input: a lone surrogate in it cannot be encoded
        # into a Redis key, and spaces or control characters make invalid cache keys.
        login = login.strip().lower()[:150]
        ident = hashlib.sha256(login.encode("utf-8", "surrogatepass")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PasswordChangeThrottle(FixedWindowThrottle):
    """Limits password changes per user: each one checks the old password, so a stolen token
    would otherwise guess it without end, hashing on the process's one database thread."""

    scope = "password_change"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class WriteThrottle(FixedWindowThrottle):
    """Per-user limits on writes, one budget for each kind: a view maps its actions to the kinds
    in `write_scopes` (the rate names of REST_FRAMEWORK's DEFAULT_THROTTLE_RATES), and a socket
    frame that makes the same write spends the same budget (`write_throttle`). Reads pass."""

    def get_rate(self) -> str | None:
        return None if self.scope is None else super().get_rate()

    def allow_request(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return True
        self.scope = getattr(view, "write_scopes", {}).get(getattr(view, "action", None))
        if self.scope is None:
            return True
        self.rate = self.get_rate()
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


def write_throttle(user: AbstractBaseUser, scope: str) -> None:
    """A socket's write against the same per-user budget as the REST one (raises Throttled)."""
    throttle = WriteThrottle()
    request = cast(Request, SimpleNamespace(method="POST", user=user))
    view = cast(APIView, SimpleNamespace(action="write", write_scopes={"write": scope}))
    if not throttle.allow_request(request, view):
        raise exceptions.Throttled(throttle.wait())


TOO_MANY = "Too many attempts. Try again in {seconds} seconds."


def form_throttle_wait(request: HttpRequest, *throttles: SimpleRateThrottle) -> int | None:
    """Seconds to wait if any of the API's throttles refuses this form post (a page's sign-in or
    sign-up, the admin's login), else None: the same budgets as the API's, counted together.

    The throttles read the client address from META and the login from `data`, as in the API.
    """
    adapted = cast(
        Request, SimpleNamespace(META=request.META, headers=request.headers, data=request.POST)
    )
    waits = [
        throttle.wait() or 1
        for throttle in throttles
        if not throttle.allow_request(adapted, cast(APIView, None))
    ]
    return int(max(waits)) + 1 if waits else None


def refused_login_form(
    form_class: type[AuthenticationForm], request: HttpRequest, wait: int
) -> AuthenticationForm:
    """A sign-in form that says to wait, with the login typed in: unbound, so that the refused
    attempt's password is never even checked."""
    form = form_class(request, initial={"username": request.POST.get("username", "")})
    form.cleaned_data = {}  # add_error expects it, and an unbound form never cleans
    form.add_error(None, TOO_MANY.format(seconds=wait))
    return form


async def typing_allowed(*, user_id: int, chat_id: int) -> bool:
    """One typing event per user and chat every TYPING_INTERVAL_SECONDS, across processes."""
    key = f"typing:{user_id}:{chat_id}"
    try:
        return bool(await cache.aadd(key, 1, timeout=settings.TYPING_INTERVAL_SECONDS))
    except RedisError:  # Redis is down: the typing event cannot go out anyway; no error to show
        return True
