"""The soak's simulated users and its ledger.

Every user is one `SoakClient`: an asyncio task in the test process that holds one WebSocket to
one of the daphne processes at a time and behaves as the documented client does (docs/websocket.md):
it keeps, per chat, the highest seq it has, and after every (re)connect or join it asks `sync` for
what lies beyond. In between it posts over the socket and over REST (with client_ids, retrying
an unconfirmed post with the same client_id), drops its socket and reconnects to either process,
and leaves chats; chat owners add people. The `World` records who belonged to which chat over
which seq range, and `check` compares at the end what each member received with the database.
"""

import asyncio
import json
import random
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.db import database_sync_to_async
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from accounts.models import User
from accounts.services import tokens_issue
from chats.models import Chat, Message, ScheduledMessage, ScheduledStatus

# Group sizes the soak keeps its chats within: owners add below the top, members leave above the
# bottom (concurrent moves may overshoot by one or two; the ledger does not care).
CHAT_SIZE_MIN, CHAT_SIZE_MAX = 4, 10
# Access tokens live 15 minutes; a client takes a fresh one for its next connection or call well
# before that, so only a socket left open longer than that closes for expiry (4401), and
# reconnects like any dropped socket.
TOKEN_RENEW_SECONDS = 600
# A database out of reach: the server answers 503 or an error frame with this code, or closes a
# socket it cannot open with 4503. A client tries again after a pause.
UNAVAILABLE = "service_unavailable"
RETRIES = 30
SYNC_BATCHES = 10  # the most sync.batch frames one sync request gets (docs/websocket.md)
# Long enough for a loaded 2-core box to answer; a request that takes longer is a failure.
REPLY_TIMEOUT = 60.0


class LinkLost(Exception):
    """The socket closed before the answer came."""


@dataclass
class Figures:
    """What the run counts; printed at the end, and asserted on."""

    sent_ws: int = 0
    sent_rest: int = 0
    retried_sends: int = 0  # unconfirmed posts sent again with the same client_id
    rest_repeats: int = 0  # REST posts repeated on purpose, which must answer 200 with the original
    scheduled: int = 0  # scheduled messages, posted by the Celery worker a few seconds later
    delivered_live: int = 0
    delivered_sync: int = 0
    duplicated_live: int = 0
    duplicated_client_id: int = 0
    out_of_order: int = 0
    wrong_message: int = 0  # a seq whose message id differs from the database's
    connects: int = 0
    connect_failures: int = 0
    unavailable: int = 0  # answers that the database was out of reach (tried again)
    joins: int = 0
    leaves: int = 0
    errors: list[str] = field(default_factory=list)
    server_closes: Counter[int] = field(default_factory=Counter)
    connect_errors: Counter[str] = field(default_factory=Counter)
    stalls: list[str] = field(default_factory=list)


class World:
    """The ledger of memberships, shared by every client (all in one event loop, so no locks)."""

    def __init__(self, http_urls: list[str], ws_urls: list[str], seed: int) -> None:
        self.http_urls = http_urls
        self.ws_urls = ws_urls
        self.seed = seed
        self.figures = Figures()
        self.owner: dict[int, int] = {}
        self.members: dict[int, set[int]] = {}
        # (user, chat) -> [start, end] seq ranges: the member must end with every seq in
        # start < seq <= end (end None: still a member; the chat's last seq at the end).
        self.ranges: dict[tuple[int, int], list[list[int | None]]] = defaultdict(list)
        self.clients: dict[int, SoakClient] = {}
        self.busy: set[tuple[int, int]] = set()  # (user, chat) pairs being added or removed

    def abandon(self) -> None:
        """After a failure: stop every client's background work and drop its socket."""
        for client in self.clients.values():
            for task in client.tasks:
                task.cancel()
            if client.link is not None:
                client.link.reader.cancel()
                client.link.ws.transport.abort()

    def chats_of(self, user_id: int) -> list[int]:
        return sorted(chat for chat, members in self.members.items() if user_id in members)


@database_sync_to_async
def last_seq(chat_id: int) -> int:
    return int(Chat.objects.values_list("last_seq", flat=True).get(pk=chat_id))


@database_sync_to_async
def access_token(user_id: int) -> str:
    return str(tokens_issue(user=User.objects.get(pk=user_id))["access"])


def http(method: str, url: str, token: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 - our own server's http:// URL
        url,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=REPLY_TIMEOUT) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, json.loads(raw) if raw else None


class Link:
    """One WebSocket connection: a reader task that routes frames to the client, to the waiters
    for answers (ack, error, sync.batch, by ref) and keeps this connection's live order."""

    def __init__(self, client: "SoakClient", ws: ClientConnection) -> None:
        self.client = client
        self.ws = ws
        self.answers: dict[str, asyncio.Queue[dict[str, Any] | None]] = {}
        self.last_live: dict[int, int] = {}  # chat -> last seq this connection delivered live
        self.closing = False  # we closed it on purpose
        self.lost = asyncio.Event()
        self.reader = asyncio.ensure_future(self.read())

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                self.client.on_frame(self, json.loads(raw))
        except (ConnectionClosed, OSError):
            pass
        except Exception as exc:  # a frame this client cannot read: the test fails on it
            self.client.world.figures.errors.append(f"{self.client.login}: reading: {exc!r}")
            self.closing = True
            self.ws.transport.abort()
        finally:
            self.lost.set()
            for queue in self.answers.values():
                queue.put_nowait(None)
            code = self.ws.close_code
            if not self.closing and code is not None:
                self.client.world.figures.server_closes[code] += 1

    def open_answer(self, ref: str) -> "asyncio.Queue[dict[str, Any] | None]":
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        if self.lost.is_set():
            queue.put_nowait(None)
        self.answers[ref] = queue
        return queue

    async def answer(self, queue: "asyncio.Queue[dict[str, Any] | None]") -> dict[str, Any]:
        try:
            frame = await asyncio.wait_for(queue.get(), REPLY_TIMEOUT)
        except TimeoutError as exc:
            self.client.world.figures.errors.append(f"{self.client.login}: no answer in time")
            raise LinkLost("no answer in time") from exc
        if frame is None:
            raise LinkLost("socket closed")
        return frame

    async def send(self, frame: dict[str, Any]) -> None:
        try:
            await self.ws.send(json.dumps(frame))
        except (ConnectionClosed, OSError) as exc:
            raise LinkLost(str(exc)) from exc

    async def close(self, *, abrupt: bool) -> None:
        self.closing = True
        if abrupt:  # as a dropped network would: no closing handshake
            self.ws.transport.abort()
        else:
            await self.ws.close()
        await self.reader


class SoakClient:
    def __init__(self, world: World, user_id: int, login: str, index: int) -> None:
        self.world = world
        self.user_id = user_id
        self.login = login
        self.rng = random.Random(world.seed * 1000 + index)  # noqa: S311 - seeded on purpose
        self.link: Link | None = None
        self.token = ""
        self.token_at: float | None = None
        self.refs = 0
        self.posts = 0
        self.have: dict[int, int] = {}  # chat -> the highest seq this client has (the protocol)
        self.floor: dict[int, int] = {}  # chat -> where a chat joined later starts for it
        self.got: dict[int, dict[int, int]] = defaultdict(dict)  # chat -> seq -> message id
        self.live: dict[int, set[int]] = defaultdict(set)  # chat -> seqs delivered live
        self.unconfirmed: dict[str, tuple[int, str]] = {}  # client_id -> (chat, text)
        self.confirmed: dict[str, int] = {}  # client_id -> message id
        self.tasks: set[asyncio.Task[None]] = set()
        self.syncing: Counter[int] = Counter()  # chat -> syncs in flight
        self.resync: dict[int, int] = {}  # chat -> where a sync cut short is to be taken up
        self.story: dict[int, list[str]] = defaultdict(list)
        self.links = 0

    # --- Frames --------------------------------------------------------------------------------

    def on_frame(self, link: Link, frame: dict[str, Any]) -> None:
        figures = self.world.figures
        kind = frame["type"]
        if kind == "message.new":
            chat, message = frame["chat_id"], frame["message"]
            seq = message["seq"]
            figures.delivered_live += 1
            if seq <= link.last_live.get(chat, 0):
                figures.out_of_order += 1
                figures.errors.append(
                    f"{self.login}: chat {chat} seq {seq} live after {link.last_live[chat]}"
                )
            link.last_live[chat] = max(seq, link.last_live.get(chat, 0))
            if seq in self.live[chat]:
                figures.duplicated_live += 1
                figures.errors.append(f"{self.login}: chat {chat} seq {seq} live twice")
            self.live[chat].add(seq)
            self.record(chat, message)
            self.note(chat, f"live {seq}")
        elif kind in ("ack", "error", "sync.batch") and str(frame.get("ref")) in link.answers:
            link.answers[str(frame["ref"])].put_nowait(frame)
        elif kind == "error":
            figures.errors.append(f"{self.login}: unsolicited {frame}")
        elif kind == "chat.created":  # joined while connected: catch up from where we stand now
            chat = frame["chat"]["id"]
            self.note(chat, f"chat.created last_seq {frame['chat']['last_seq']}")
            self.spawn(self.sync_chat(link, chat, self.have_of(chat)))

    def note(self, chat: int, what: str) -> None:
        """The story of one chat as this client saw it, told when something went missing."""
        self.story[chat].append(f"{time.monotonic():.2f} link {self.links} {what}")

    def have_of(self, chat: int) -> int:
        return self.have.get(chat, self.floor.get(chat, 0))

    def record(self, chat: int, message: dict[str, Any]) -> None:
        seq = message["seq"]
        known = self.got[chat].get(seq)
        if known is not None and known != message["id"]:
            self.world.figures.wrong_message += 1
            self.world.figures.errors.append(f"{self.login}: chat {chat} seq {seq} two messages")
        self.got[chat][seq] = message["id"]
        self.have[chat] = max(self.have_of(chat), seq)

    def spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def next_ref(self) -> str:
        self.refs += 1
        return f"{self.login}-r{self.refs}"

    # --- Connecting and catching up ------------------------------------------------------------

    async def fresh_token(self) -> str:
        if self.token_at is None or time.monotonic() - self.token_at > TOKEN_RENEW_SECONDS:
            self.token = await access_token(self.user_id)
            self.token_at = time.monotonic()
        return self.token

    async def connect(self) -> Link:
        """Open a socket to either process, sync every chat whose hello seq is past ours, and
        send again what was posted without an answer."""
        while True:
            url = self.rng.choice(self.world.ws_urls)
            token = await self.fresh_token()
            try:
                ws = await connect(
                    url,
                    subprotocols=["bearer", token],  # type: ignore[list-item]
                    open_timeout=REPLY_TIMEOUT,
                    ping_interval=None,  # daphne pings; a slow pong here is not the server's loss
                    max_size=2**22,
                )
                hello = json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT))
            except (OSError, TimeoutError, WebSocketException) as exc:
                self.world.figures.connect_failures += 1
                self.world.figures.connect_errors[repr(exc)[:120]] += 1
                await asyncio.sleep(1)
                continue
            assert hello["type"] == "hello", hello
            self.world.figures.connects += 1
            self.links += 1
            for state in hello["chats"]:
                self.note(state["id"], f"hello last_seq {state['last_seq']} to {url}")
            link = self.link = Link(self, ws)
            # Where we stand is read as the hello arrives: live frames that come while the
            # syncs run move `have` past what the syncs still have to bring.
            behind = {
                state["id"]: min(self.have_of(state["id"]), self.resync.get(state["id"], 2**62))
                for state in hello["chats"]
                if state["last_seq"] > self.have_of(state["id"]) or state["id"] in self.resync
            }
            try:
                for chat, after in behind.items():
                    await self.sync_chat(link, chat, after)
                for client_id, (chat, text) in list(self.unconfirmed.items()):
                    self.world.figures.retried_sends += 1
                    await self.send_ws(link, chat, text, client_id)
            except LinkLost:
                continue
            return link

    async def ensure_link(self) -> Link:
        if self.link is None or self.link.lost.is_set():
            return await self.connect()
        return self.link

    async def sync_chat(self, link: Link, chat: int, after: int) -> None:
        """`sync` from `after` until the server says there is no more.

        A sync cut short by a lost socket is taken up again from where it stopped on the next
        connection: live frames may meanwhile have moved `have` past what it still had to bring.
        """
        self.syncing[chat] += 1
        try:
            stopped = await self._sync(link, chat, after)
        finally:
            self.syncing[chat] -= 1
        if stopped is not None:
            self.resync[chat] = min(stopped, self.resync.get(chat, stopped))
        elif chat in self.resync and after <= self.resync[chat]:
            del self.resync[chat]

    async def _sync(self, link: Link, chat: int, after: int) -> int | None:
        """The seq it got to if the socket was lost before the end, else None. One request
        answers with at most SYNC_BATCHES batches; if the last still has more, ask again."""
        while True:
            ref = self.next_ref()
            queue = link.open_answer(ref)
            try:
                await link.send({"type": "sync", "ref": ref, "chat_id": chat, "after_seq": after})
                for _ in range(SYNC_BATCHES):
                    frame = await link.answer(queue)
                    if frame["type"] == "error" and frame["code"] == UNAVAILABLE:
                        self.world.figures.unavailable += 1
                        await asyncio.sleep(1)
                        break  # ask again from where we got to
                    if frame["type"] == "error":
                        if frame["code"] != "not_found":  # not_found: we left meanwhile
                            self.world.figures.errors.append(f"{self.login}: sync {frame}")
                        return None
                    if frame["messages"]:
                        seqs = [m["seq"] for m in frame["messages"]]
                        self.note(chat, f"sync after {after}: {seqs[0]}..{seqs[-1]}")
                    for message in frame["messages"]:
                        self.world.figures.delivered_sync += 1
                        self.record(chat, message)
                        after = message["seq"]
                    if not frame["has_more"] or not frame["messages"]:
                        return None
            except LinkLost:
                return after
            finally:
                link.answers.pop(ref, None)

    # --- Posting -------------------------------------------------------------------------------

    def new_post(self, chat: int) -> tuple[str, str]:
        self.posts += 1
        client_id = f"{self.login}-{self.posts}"
        text = f"{self.login} says {self.posts} in {chat}"
        self.unconfirmed[client_id] = (chat, text)
        return client_id, text

    def confirm(self, client_id: str, message: dict[str, Any]) -> None:
        figures = self.world.figures
        if message.get("client_id") != client_id:
            figures.errors.append(f"{self.login}: {client_id} answered with {message}")
        known = self.confirmed.get(client_id)
        if known is not None and known != message["id"]:
            figures.duplicated_client_id += 1
            figures.errors.append(f"{self.login}: {client_id} made {known} and {message['id']}")
        self.confirmed[client_id] = message["id"]
        self.unconfirmed.pop(client_id, None)

    async def send_ws(self, link: Link, chat: int, text: str, client_id: str) -> None:
        ref = self.next_ref()
        queue = link.open_answer(ref)
        try:
            await link.send(
                {
                    "type": "message.send",
                    "ref": ref,
                    "chat_id": chat,
                    "text": text,
                    "client_id": client_id,
                }
            )
            frame = await link.answer(queue)
        finally:
            link.answers.pop(ref, None)
        if frame["type"] == "ack":
            self.confirm(client_id, frame["message"])
        elif frame["code"] == UNAVAILABLE:  # stays unconfirmed: sent again after a pause
            self.world.figures.unavailable += 1
            await asyncio.sleep(1)
        else:
            self.world.figures.errors.append(f"{self.login}: send {client_id}: {frame}")
            self.unconfirmed.pop(client_id, None)

    async def rest(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A REST call to either process; a 503 (the database out of reach) is tried again, as
        a client would, and reported as unavailable with the figures."""
        for _ in range(RETRIES):
            token = await self.fresh_token()
            url = self.rng.choice(self.world.http_urls) + path
            status, answer = await asyncio.to_thread(http, method, url, token, body)
            if status != 503:
                return status, answer
            self.world.figures.unavailable += 1
            await asyncio.sleep(1)
        return status, answer

    # --- What a user does ----------------------------------------------------------------------

    async def run(self, until: float) -> None:
        loop = asyncio.get_running_loop()
        await self.ensure_link()
        while loop.time() < until:
            await asyncio.sleep(self.rng.uniform(0.3, 3.0))
            link = await self.ensure_link()
            chats = self.world.chats_of(self.user_id)
            roll = self.rng.random()
            try:
                if roll < 0.50 and chats:
                    await self.post_ws(link, self.rng.choice(chats))
                elif roll < 0.67 and chats:
                    await self.post_rest(self.rng.choice(chats))
                elif roll < 0.70 and chats:
                    await self.schedule(self.rng.choice(chats))
                elif roll < 0.76 and chats:
                    await self.post_and_drop(link, self.rng.choice(chats))
                elif roll < 0.84:
                    await link.close(abrupt=self.rng.random() < 0.5)
                    await self.connect()
                elif roll < 0.88:
                    await self.leave_one()
                else:
                    await self.add_one()
            except LinkLost:
                pass  # reconnects before the next action; unconfirmed posts go again then

    async def post_ws(self, link: Link, chat: int) -> None:
        client_id, text = self.new_post(chat)
        self.world.figures.sent_ws += 1
        await self.send_ws(link, chat, text, client_id)

    async def post_and_drop(self, link: Link, chat: int) -> None:
        """Post and lose the connection before the ack: the retry must not make a second one."""
        client_id, text = self.new_post(chat)
        self.world.figures.sent_ws += 1
        await link.send(
            {
                "type": "message.send",
                "ref": self.next_ref(),
                "chat_id": chat,
                "text": text,
                "client_id": client_id,
            }
        )
        await link.close(abrupt=True)
        await self.connect()

    async def post_rest(self, chat: int) -> None:
        client_id, text = self.new_post(chat)
        self.world.figures.sent_rest += 1
        body = {"text": text, "client_id": client_id}
        status, message = await self.rest("POST", f"/api/chats/{chat}/messages/", body)
        if status == 503:
            return  # stays unconfirmed: sent again over the socket
        if status not in (200, 201):  # 200: a retry after a 503 whose post had committed
            self.world.figures.errors.append(f"{self.login}: REST post {client_id}: {status}")
            self.unconfirmed.pop(client_id, None)
            return
        self.confirm(client_id, message)
        if self.rng.random() < 0.1:  # a client that retries a post it had an answer to
            self.world.figures.rest_repeats += 1
            status, again = await self.rest("POST", f"/api/chats/{chat}/messages/", body)
            if status != 200:
                self.world.figures.errors.append(f"{self.login}: REST repeat {status}")
            self.confirm(client_id, again)

    async def schedule(self, chat: int) -> None:
        # At least 3 s ahead: on a loaded machine a request took over a second to reach the
        # service, and a time already past is rightly refused (400).
        send_at = datetime.now(UTC) + timedelta(seconds=self.rng.uniform(3, 8))
        body = {"text": f"{self.login} schedules", "send_at": send_at.isoformat()}
        status, answer = await self.rest("POST", f"/api/chats/{chat}/scheduled/", body)
        if status != 201:
            self.world.figures.errors.append(f"{self.login}: schedule in {chat}: {status}")
            return
        self.world.figures.scheduled += 1

    async def leave_one(self) -> None:
        world = self.world
        pending = {chat for chat, _ in self.unconfirmed.values()}
        choices = [
            chat
            for chat in world.chats_of(self.user_id)
            if world.owner[chat] != self.user_id
            and len(world.members[chat]) > CHAT_SIZE_MIN
            and chat not in pending
            and (self.user_id, chat) not in world.busy
        ]
        if not choices:
            return
        chat = self.rng.choice(choices)
        world.busy.add((self.user_id, chat))
        try:
            # What was posted before we decide to leave must reach us live (or by the syncs we
            # do): after leaving, nothing can be fetched any more.
            end = await last_seq(chat)
            deadline = time.monotonic() + REPLY_TIMEOUT
            while self.have_of(chat) < end or self.syncing[chat] or chat in self.resync:
                if time.monotonic() > deadline:
                    world.figures.stalls.append(
                        f"{self.login}: chat {chat} stuck at {self.have.get(chat)} < {end}"
                    )
                    break
                link = await self.ensure_link()
                if chat in self.resync and not self.syncing[chat]:
                    await self.sync_chat(link, chat, self.resync[chat])
                await asyncio.sleep(0.1)
            status, _ = await self.rest("DELETE", f"/api/chats/{chat}/members/{self.user_id}/")
            if status not in (204, 404):  # 404: a retry after a 503 whose delete had committed
                world.figures.errors.append(f"{self.login}: leave {chat}: {status}")
                return
            world.members[chat].discard(self.user_id)
            self.note(chat, f"left at {end}")
            world.ranges[(self.user_id, chat)][-1][1] = end
            self.have.pop(chat, None)  # a chat we left starts afresh if we are added again
            self.resync.pop(chat, None)
            world.figures.leaves += 1
        finally:
            world.busy.discard((self.user_id, chat))

    async def add_one(self) -> None:
        world = self.world
        owned = [
            chat
            for chat, owner in world.owner.items()
            if owner == self.user_id and len(world.members[chat]) < CHAT_SIZE_MAX
        ]
        if not owned:
            return
        chat = self.rng.choice(owned)
        outsiders = [
            user
            for user in world.clients
            if user not in world.members[chat] and (user, chat) not in world.busy
        ]
        if not outsiders:
            return
        user = self.rng.choice(outsiders)
        newcomer = world.clients[user]
        world.busy.add((user, chat))
        try:
            # The newcomer's catch-up starts at or before the add (it may fetch a little more).
            newcomer.floor[chat] = await last_seq(chat)
            status, answer = await self.rest(
                "POST", f"/api/chats/{chat}/members/", {"user_id": user}
            )
            # "Already a member": a retry after a 503 whose add had committed.
            if status != 201 and "user_id" not in (answer or {}):
                world.figures.errors.append(f"{self.login}: add {user} to {chat}: {status}")
                return
            # Every seq past this one was committed after the add: the newcomer must get it.
            start = await last_seq(chat)
            world.ranges[(user, chat)].append([start, None])
            world.members[chat].add(user)
            newcomer.note(chat, f"added from {newcomer.floor[chat]}, required after {start}")
            world.figures.joins += 1
        finally:
            world.busy.discard((user, chat))

    # --- The end -------------------------------------------------------------------------------

    async def settle(self) -> None:
        """Make sure every post has its answer (retrying with its client_id)."""
        for _ in range(RETRIES):
            if not self.unconfirmed:
                return
            link = await self.ensure_link()
            for client_id, (chat, text) in list(self.unconfirmed.items()):
                try:
                    self.world.figures.retried_sends += 1
                    await self.send_ws(link, chat, text, client_id)
                except LinkLost:
                    break

    async def final_catch_up(self) -> None:
        """Reconnect once more, as a user opening the app later: the hello says where each chat
        stands and the client syncs what it lacks."""
        if self.link is not None:
            await self.link.close(abrupt=False)
        link = await self.connect()
        await asyncio.gather(*self.tasks)
        await link.close(abrupt=False)


@database_sync_to_async
def scheduled_pending(world: World) -> int:
    return ScheduledMessage.objects.filter(
        chat_id__in=list(world.members), status=ScheduledStatus.PENDING
    ).count()


@database_sync_to_async
def check(world: World) -> dict[str, Any]:
    """Compare, per chat and member, what the member got (live or by sync) with the database,
    over the seq ranges in which they belonged to the chat."""
    figures = world.figures
    rows = Message.objects.filter(chat_id__in=list(world.members)).values_list(
        "chat_id", "seq", "id", "user_id", "client_id"
    )
    by_seq: dict[int, dict[int, int]] = defaultdict(dict)
    per_client_id: Counter[tuple[int, int, str]] = Counter()
    for chat, seq, message_id, user_id, client_id in rows:
        by_seq[chat][seq] = message_id
        if client_id:
            per_client_id[(chat, user_id, client_id)] += 1
    final_seq = dict(Chat.objects.filter(pk__in=list(world.members)).values_list("id", "last_seq"))

    lost: list[str] = []
    stories: list[str] = []
    required_total = 0
    for (user, chat), ranges in world.ranges.items():
        client = world.clients[user]
        got = client.got.get(chat, {})
        told: set[int] = set()
        for start, end in ranges:
            assert start is not None
            stop = final_seq[chat] if end is None else end
            for seq in range(start + 1, stop + 1):
                required_total += 1
                if seq not in got:
                    lost.append(f"{client.login} chat {chat} seq {seq} (member {start}..{end})")
                    if chat not in told:
                        told.add(chat)
                        stories.append(f"{client.login} in chat {chat}:")
                        stories.extend(f"    {line}" for line in client.story[chat][-60:])
                elif got[seq] != by_seq[chat].get(seq):
                    figures.wrong_message += 1

    gaps = [
        f"chat {chat}: seqs {sorted(set(range(1, final_seq[chat] + 1)) - seqs.keys())[:10]}"
        for chat, seqs in by_seq.items()
        if seqs.keys() != set(range(1, final_seq[chat] + 1))
    ]
    twice = [key for key, count in per_client_id.items() if count > 1]
    figures.duplicated_client_id += len(twice)

    confirmed_ids = {
        message_id for client in world.clients.values() for message_id in client.confirmed.values()
    }
    all_ids = {message_id for seqs in by_seq.values() for message_id in seqs.values()}
    unconfirmed = [
        f"{client.login}: {client_id}"
        for client in world.clients.values()
        for client_id in client.unconfirmed
    ]
    scheduled = ScheduledMessage.objects.filter(chat_id__in=list(world.members))
    scheduled_status = Counter(scheduled.values_list("status", flat=True))
    scheduled_lost = [
        f"scheduled {row_id} ({status}, message {message_id})"
        for row_id, status, message_id in scheduled.values_list("id", "status", "message_id")
        if status == ScheduledStatus.PENDING
        or (status == ScheduledStatus.SENT and message_id not in all_ids)
    ]
    return {
        "scheduled": dict(scheduled_status),
        "scheduled_lost": scheduled_lost,
        "messages": sum(len(seqs) for seqs in by_seq.values()),
        "sent": len(confirmed_ids),
        "required": required_total,
        "lost": lost,
        "stories": stories[:400],
        "gaps": gaps,
        "client_id_twice": twice,
        "confirmed_missing": sorted(confirmed_ids - all_ids),
        "unconfirmed": unconfirmed,
    }
