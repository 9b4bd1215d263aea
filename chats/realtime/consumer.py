"""The WebSocket at /ws/: authenticate, parse each frame, call a service, send the answer.

Every rule lives in the services and selectors, and what the socket follows, with each event's
way to it, in chats/realtime/subscriptions.py; this module only moves frames.
"""

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions

from accounts.credentials import credentials_hold_now, issued_at
from accounts.models import User
from accounts.payloads import user_payload
from accounts.selectors import user_for_access_token
from accounts.services import browser_session_for
from chatproject import metrics, throttles
from chatproject.exceptions import ServiceUnavailable
from chatproject.overrides.channels import DirectDispatch, Handler
from chats import downloads, selectors
from chats.payloads import changes_payload, message_payload, user_changes_payload
from chats.realtime import events
from chats.realtime.fanout import process_fanout
from chats.realtime.frames import FRAMES, Frame
from chats.realtime.protocol import (
    CLOSE_REVOKED,
    CLOSE_TOO_BIG,
    CLOSE_TOO_MANY_SOCKETS,
    CLOSE_UNAUTHENTICATED,
    CLOSE_UNAVAILABLE,
    FRAME_MAX_BYTES,
    SYNC_BATCHES_MAX,
)
from chats.realtime.subscriptions import Subscriptions
from chats.services.messages import message_send, read_mark
from chats.services.presence import (
    SocketLimitReached,
    presence_connect,
    presence_disconnect,
    presence_heartbeat,
)

logger = logging.getLogger(__name__)

AUTH_TIMEOUT_SECONDS = 10
AUTH_FIRST = "Send an auth frame first."

# The database is unreachable (down, restarting): as REST answers 503, the socket says so.
DATABASE_DOWN = (OperationalError, InterfaceError)


class TokenBucket:
    """Allows `rate` events a second on average, in bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class CredentialsRevoked(Exception):
    """The user's credentials were revoked since this socket authenticated."""


class FrameError(Exception):
    def __init__(self, code: str, detail: Any) -> None:
        self.code, self.detail = code, detail


class ChatConsumer(DirectDispatch, AsyncWebsocketConsumer):
    user: User | None
    # No channel of its own on the layer: its events come through the process's fan-out.
    channel_layer_alias = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The socket's name, unique across processes: the key of its presence row.
        self.channel_name = f"socket.{uuid.uuid4().hex}"
        self.subscriptions = Subscriptions(self, process_fanout())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.subscriptions.end()

    async def handle(self, handler: Handler, message: dict[str, Any]) -> None:
        async with self.subscriptions.holding_events():
            await handler(message)

    # --- Connection and auth -------------------------------------------------------------------

    async def connect(self) -> None:
        if settings.EMBEDDED_CELERY:
            events.publish_from_threads_on(asyncio.get_running_loop())
        self.user = None
        self.session_id: str | None = None  # the login session, once authenticated
        self.authenticated_at = 0.0  # the Unix time of the credentials it holds
        self.timers: list[asyncio.TimerHandle] = []
        self.heartbeat_task: asyncio.Task[None] | None = None
        self.expiry_timer: asyncio.TimerHandle | None = None
        self.message_bucket = TokenBucket(*settings.WS_MESSAGE_RATE)
        self.frame_bucket = TokenBucket(*settings.WS_FRAME_RATE)
        try:
            await self.open()
        except DATABASE_DOWN:
            logger.warning("database unavailable; socket closed with %s", CLOSE_UNAVAILABLE)
            await self.close(code=CLOSE_UNAVAILABLE)

    async def open(self) -> None:
        """Accepts before any database work: in a burst of connects that work queues on the
        process's database thread, and daphne refuses a socket it has not accepted within
        --websocket_connect_timeout."""
        protocols = self.scope.get("subprotocols") or []
        if len(protocols) >= 2 and protocols[0] == "bearer":
            await self.accept(subprotocol="bearer")
            await self.authenticate_with_token(protocols[1])
            return
        await self.accept()
        session_key = self.scope["session"].session_key
        if session_key is not None:  # a browser page, signed in with a session cookie
            user = await get_user(self.scope)
            if user.is_authenticated:
                self.authenticated_at = time.time()
                session = await database_sync_to_async(browser_session_for)(
                    user=user, session_key=session_key
                )
                await self.start(user, expires_at=None, session_id=session.pk)
                return
        self.later(AUTH_TIMEOUT_SECONDS, self.close_unless_authenticated)

    def later(self, delay: float, coroutine_function: Any) -> asyncio.TimerHandle:
        loop = asyncio.get_running_loop()
        handle = loop.call_later(delay, lambda: asyncio.ensure_future(coroutine_function()))
        self.timers.append(handle)
        return handle

    async def close_unless_authenticated(self) -> None:
        if self.user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def authenticate_with_token(self, raw: str) -> None:
        try:
            user, token = await database_sync_to_async(user_for_access_token)(raw)
        except exceptions.AuthenticationFailed:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if self.user is not None and self.user.pk != user.pk:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        expires_at = float(token["exp"])
        self.authenticated_at = issued_at(token)
        if self.user is None:
            await self.start(user, expires_at=expires_at, session_id=token.get("sid"))
        else:
            self.schedule_expiry(expires_at)

    def schedule_expiry(self, expires_at: float | None) -> None:
        if self.expiry_timer is not None:
            self.expiry_timer.cancel()
        self.expiry_timer = (
            self.later(max(0.0, expires_at - time.time()), self.expire)
            if expires_at is not None
            else None
        )

    async def expire(self) -> None:
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def start(self, user: User, *, expires_at: float | None, session_id: str | None) -> None:
        """Follow the user's groups, then read each chat's state, then say hello.

        Following first means that no message committed after the read can be missed live; anything
        at or below the seqs in `hello` the client fetches with `sync`.
        """
        self.user = user
        self.session_id = session_id
        self.schedule_expiry(expires_at)
        await self.subscriptions.follow_user(user.pk, session_id)
        chat_ids = await database_sync_to_async(selectors.chat_ids_for_user)(user=user)
        await self.subscriptions.follow_chats(chat_ids)
        try:
            states, self.user = await database_sync_to_async(self._chat_states_and_online)(user)
        except SocketLimitReached:
            detail = f"At most {settings.WS_SOCKETS_PER_USER} sockets per user are open at once."
            await self.send_error(None, "too_many_sockets", detail)
            await self.close(code=CLOSE_TOO_MANY_SOCKETS)
            return
        self.subscriptions.start_streams(states, followed=chat_ids)
        await self.send_frame(
            "hello",
            user=user_payload(self.user),
            user_version=self.user.user_version,
            chats=states,
        )
        self.heartbeat_task = asyncio.ensure_future(self.heartbeat())
        metrics.increment("chat_ws_connections")

    def _chat_states_and_online(self, user: User) -> tuple[list[dict[str, int]], User]:
        """One trip to the database thread: each is a queue wait, and a connect burst queues."""
        states = selectors.chat_states_for_user(user=user)
        return states, presence_connect(user=user, channel_name=self.channel_name)

    async def heartbeat(self) -> None:
        """Keep this socket's presence row fresh while the process lives (the sweep ends others),
        and close it if the user's credentials were revoked: revocation closes sockets through
        the channel layer at once, and this holds even when that event never comes."""
        while True:
            await asyncio.sleep(settings.PRESENCE_HEARTBEAT_SECONDS)
            try:
                await database_sync_to_async(self._heartbeat)()
            except DATABASE_DOWN:  # a database restart must not end the heartbeat for good
                logger.warning("socket %s: presence heartbeat failed", self.channel_name)
            except CredentialsRevoked:
                await self.close(code=CLOSE_REVOKED)
                return

    def _heartbeat(self) -> None:
        presence_heartbeat(channel_name=self.channel_name)
        self.check_credentials()

    def check_credentials(self) -> None:
        """Before every write the socket makes, and on each heartbeat: one query."""
        if not credentials_hold_now(
            user_id=self.member.pk,
            authenticated_at=self.authenticated_at,
            session_id=self.session_id,
        ):
            raise CredentialsRevoked

    async def disconnect(self, code: int) -> None:
        for timer in self.timers:
            timer.cancel()
        if self.heartbeat_task is not None:
            self.heartbeat_task.cancel()
        if self.user is None:
            return
        # Now, not only when the consumer ends: in a disconnect burst the presence write below
        # waits its turn on the database thread, and events meanwhile would go nowhere.
        self.subscriptions.end()
        try:
            await database_sync_to_async(presence_disconnect)(channel_name=self.channel_name)
        except DATABASE_DOWN:  # the row stops heartbeating; the presence sweep ends it
            logger.warning("socket %s: presence not ended, database unavailable", self.channel_name)
        metrics.increment("chat_ws_connections", -1)

    @property
    def member(self) -> User:
        """The authenticated user, for handlers that run only after auth."""
        if self.user is None:
            raise FrameError("unauthenticated", AUTH_FIRST)
        return self.user

    # --- Frames from the client ----------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > FRAME_MAX_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        ref = None
        try:
            if text_data is None:
                raise FrameError("bad_frame", "Frames are JSON text, not binary.")
            try:
                raw = json.loads(text_data)
            except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
                raise FrameError("bad_frame", "Not valid JSON.") from exc
            if not isinstance(raw, dict):
                raise FrameError("bad_frame", "A frame is a JSON object.")
            ref = raw.get("ref") if isinstance(raw.get("ref"), str | int) else None
            await self.dispatch_frame(raw)
        except FrameError as exc:
            await self.send_error(ref, exc.code, exc.detail)
        except exceptions.APIException as exc:  # the services' errors, as REST would report them
            await self.send_error(ref, str(exc.default_code), exc.detail)
        except DATABASE_DOWN:
            unavailable = ServiceUnavailable()
            await self.send_error(ref, str(unavailable.default_code), unavailable.detail)
        except CredentialsRevoked:
            await self.close(code=CLOSE_REVOKED)

    async def dispatch_frame(self, raw: dict[str, Any]) -> None:
        frame_type = raw.get("type")
        if not isinstance(frame_type, str) or frame_type not in FRAMES:
            raise FrameError("unknown_type", f"Unknown frame type: {frame_type!r}.")
        if frame_type == "message.send":
            if not self.message_bucket.take():
                raise FrameError("throttled", "Too many messages; slow down.")
        elif not self.frame_bucket.take():
            raise FrameError("throttled", "Too many frames; slow down.")
        frame = parse(FRAMES[frame_type], raw)
        if frame_type == "auth":
            await self.authenticate_with_token(frame["token"])
            return
        if self.user is None:
            raise FrameError("unauthenticated", AUTH_FIRST)
        handler = getattr(self, "on_" + frame_type.replace(".", "_"))
        await handler(frame)

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self.send_frame("pong")

    async def on_message_send(self, frame: dict[str, Any]) -> None:
        message = await database_sync_to_async(self._message_send)(frame)
        await self.send_frame("ack", ref=frame.get("ref"), message=message)

    def _message_send(self, frame: dict[str, Any]) -> dict[str, Any]:
        self.check_credentials()
        throttles.write_throttle(self.member, "message_send")
        chat = selectors.chat_access(user=self.member, chat_id=frame["chat_id"])
        message, created = message_send(
            chat=chat,
            user=self.member,
            text=frame["text"],
            client_id=frame.get("client_id"),
            reply_to_id=frame.get("reply_to_id"),
            thread_root_id=frame.get("thread_root_id"),
            attachment_ids=frame.get("attachment_ids"),
        )
        if not created:  # the original, which may have reactions by now
            selectors.message_extras_set([message], viewer=self.member)
        return message_payload(message)

    async def on_sync(self, frame: dict[str, Any]) -> None:
        """Send every message after `after_seq`, or every change after `since_version`, in
        batches, up to SYNC_BATCHES_MAX of them; a client whose last batch says has_more asks
        again from there."""
        if "since_version" in frame:
            await self.sync_changes(frame)
            return
        after = frame["after_seq"]
        for _ in range(SYNC_BATCHES_MAX):
            messages, has_more = await self.read_history(frame["chat_id"], after, frame["limit"])
            await self.send_frame(
                "sync.batch",
                ref=frame.get("ref"),
                chat_id=frame["chat_id"],
                messages=messages,
                has_more=has_more,
            )
            if not has_more or not messages:
                return
            after = messages[-1]["seq"]

    async def sync_changes(self, frame: dict[str, Any]) -> None:
        pages = await self.read_changes(
            frame["chat_id"], frame["since_version"], frame["limit"], ref=frame.get("ref")
        )
        for _, text in pages:
            await self.send(text_data=text)

    async def on_user_sync(self, frame: dict[str, Any]) -> None:
        changes = await database_sync_to_async(self._user_changes)(frame["since_user_version"])
        await self.send_frame("user.changes", ref=frame.get("ref"), **changes)

    def _user_changes(self, since: int) -> dict[str, Any]:
        return user_changes_payload(selectors.user_changes(user=self.member, since=since))

    async def on_typing(self, frame: dict[str, Any]) -> None:
        chat_id = frame["chat_id"]
        if not self.subscriptions.follows_chat(chat_id):
            raise exceptions.NotFound("No such chat.")
        if not await throttles.typing_allowed(user_id=self.member.pk, chat_id=chat_id):
            raise FrameError("throttled", "Typing is sent at most every few seconds per chat.")
        await events.typing(chat_id=chat_id, user_id=self.member.pk)

    async def on_read(self, frame: dict[str, Any]) -> None:
        await database_sync_to_async(self._read)(frame)

    def _read(self, frame: dict[str, Any]) -> None:
        self.check_credentials()
        throttles.write_throttle(self.member, "read")
        chat = selectors.chat_access(user=self.member, chat_id=frame["chat_id"])
        read_mark(chat=chat, user=self.member, seq=frame["seq"])

    # --- What subscriptions ask of the socket ---------------------------------------------------

    async def read_changes(
        self, chat_id: int, since: int, limit: int, **fields: Any
    ) -> list[tuple[int, str]]:
        """Each page's version and its `changes` frame, with `fields` (a `ref`) added."""
        pages: list[tuple[int, str]] = await database_sync_to_async(self._changes)(
            chat_id, since, limit, fields
        )
        return pages

    def _changes(
        self, chat_id: int, since: int, limit: int, fields: dict[str, Any]
    ) -> list[tuple[int, str]]:
        """Encoded here, page by page, so that a page's payloads are gone once written: a
        catch-up of thousands of changes holds its text, never all its objects at once, which
        the collector would scan (bench/README.md, catch-up)."""
        pages = selectors.chat_changes(
            user=self.member, chat_id=chat_id, since=since, limit=limit, pages=SYNC_BATCHES_MAX
        )
        return [
            (changes.version, events.encode_frame("changes", **fields, **changes_payload(changes)))
            for changes in pages
        ]

    async def read_history(
        self, chat_id: int, after: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        history: tuple[list[dict[str, Any]], bool] = await database_sync_to_async(self._history)(
            chat_id, after, limit
        )
        return history

    def _history(self, chat_id: int, after: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        chat = selectors.chat_access(user=self.member, chat_id=chat_id)
        messages, has_more = selectors.message_history(
            chat=chat, viewer=self.member, after=after, limit=limit
        )
        return [message_payload(message) for message in messages], has_more

    async def send_shared(self, frame: str) -> None:
        """A frame that other sockets get too (an event's): under daphne it is built once for all
        of them and written straight to the socket (chatproject/overrides/daphne.py), unless it
        carries attachment URLs, which are signed for each socket's user."""
        send_shared = self.scope.get("send_shared")
        if send_shared is None or downloads.has_unsigned(frame):
            await self.send(text_data=frame)
        else:
            send_shared(frame)

    # --- Sending -------------------------------------------------------------------------------

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        """Every frame of this socket's goes out here: attachment URLs signed for its user."""
        if text_data is not None and self.user is not None:
            text_data = downloads.signed_for(
                text_data, downloads.Viewer(self.user.pk, self.session_id)
            )
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def send_frame(self, frame_type: str, **fields: Any) -> None:
        await self.send(text_data=events.encode_frame(frame_type, **fields))

    async def send_error(self, ref: str | int | None, code: str, detail: Any) -> None:
        fields: dict[str, Any] = {"code": code, "detail": detail}
        if ref is not None:
            fields["ref"] = ref
        await self.send_frame("error", **fields)


def parse(frame_class: type[Frame], raw: dict[str, Any]) -> dict[str, Any]:
    serializer = frame_class(data=raw)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
