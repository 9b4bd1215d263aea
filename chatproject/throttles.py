"""Rate limits read from settings at request time, so that they follow override_settings."""

import hashlib
from types import SimpleNamespace
from typing import cast

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView


class SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        config = cast(dict[str, dict[str, str]], settings.REST_FRAMEWORK)
        return config["DEFAULT_THROTTLE_RATES"][self.scope or ""]


class ClientAddressThrottle(SettingsRateThrottle):
    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class RegisterThrottle(ClientAddressThrottle):
    scope = "register"


class LoginAddressThrottle(ClientAddressThrottle):
    scope = "login"


class LoginUserThrottle(SettingsRateThrottle):
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


class MessageSendThrottle(SettingsRateThrottle):
    scope = "message_send"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.method != "POST" or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


def message_send_throttle(user: AbstractBaseUser) -> None:
    """The REST limit on posting, applied to the socket's message.send too: one budget per user."""
    throttle = MessageSendThrottle()
    request = cast(Request, SimpleNamespace(method="POST", user=user))
    if not throttle.allow_request(request, cast(APIView, None)):
        raise exceptions.Throttled(throttle.wait())


async def typing_allowed(*, user_id: int, chat_id: int) -> bool:
    """One typing event per user and chat every TYPING_INTERVAL_SECONDS, across processes."""
    key = f"typing:{user_id}:{chat_id}"
    return bool(await cache.aadd(key, 1, timeout=settings.TYPING_INTERVAL_SECONDS))
