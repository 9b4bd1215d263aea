"""Open-loop load from client processes: senders post on a fixed schedule, receivers time every
delivery, HTTP clients request on a fixed schedule, and idle or reconnecting sockets are held.

Each message carries its *scheduled* send time in its text ("b:<epoch seconds>:<n>"), and every
request is timed from when it was due, so latency runs from when the work should have started to
when it finished: a slow server cannot hide its slowness by slowing the client down (no coordinated
omission). Latencies go into HdrHistograms. Each process reports the CPU it used itself, so a
saturated load generator is never mistaken for a slow server. Frames and answers the timing waits
for are parsed with orjson, native as a browser's JSON.parse is: with the standard library's
parser a 10,000-change catch-up spent 20 ms in the client alone.

Every public function here but `on_schedule` (the open-loop clock, which channel_layers.py
shares) runs in a process of its own and puts one result dict on `out` (`catch_ups`, one per run
it is asked for).
"""

import asyncio
import json
import os
import resource
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import orjson
from hdrh.histogram import HdrHistogram
from websockets.asyncio.client import ClientConnection, connect

HISTOGRAM_RANGE = (1, 60_000_000, 3)  # microseconds, 1 µs to 60 s, 3 significant digits
# How long a socket waits for its next benchmark frame before it counts what it still expected
# as lost: longer than the harness waits for a big chat's presence storm to settle.
IDLE_TIMEOUT = 120.0
# Handshakes one process keeps in flight while a fleet of idle sockets connects: clients that
# come online over a minute, not all in one instant (the reconnect storm is the instant).
CONNECTS_IN_FLIGHT = 50
# The most `changes` frames the server sends in answer to one `sync` (chats/realtime/protocol.py):
# a client that got this many, the last still saying has_more, syncs again from its version, as
# the web client does (chats/static/chats/js/room-sync.js).
SYNC_FRAMES_PER_REQUEST = 10
# The largest page each way offers: changes (1-500, REST and socket alike), history and members.
CHANGES_PAGE = 500
HISTORY_PAGE = 100
MEMBERS_PAGE = 100


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _connect(url: str, token: str) -> Any:
    return connect(
        url,
        subprotocols=["bearer", token],  # type: ignore[list-item]
        max_size=2**20,
        open_timeout=120,
        ping_interval=None,
    )


def _is_one_of(raw: str | bytes, *frame_types: str) -> bool:
    """Read from the frame's start, where every frame names its type, so that the load generator
    skips other frames unparsed: when a 1,000-member chat's sockets connect they send each other
    half a million presence frames, which would otherwise keep it busy parsing."""
    head = raw[:32] if isinstance(raw, str) else raw[:32].decode(errors="replace")
    return any(f'"{frame_type}"' in head for frame_type in frame_types)


async def _next_frame(ws: Any, *frame_types: str) -> dict[str, Any]:
    """The next frame of one of `frame_types`, within IDLE_TIMEOUT."""
    async with asyncio.timeout(IDLE_TIMEOUT):
        while True:
            raw = await ws.recv()
            if _is_one_of(raw, *frame_types):
                frame = orjson.loads(raw)
                if frame.get("type") in frame_types:
                    return dict(frame)


def _micros_since(epoch_seconds: float) -> int:
    return max(1, int((time.time() - epoch_seconds) * 1e6))


async def on_schedule(start: float, rate: float, count: int) -> AsyncIterator[tuple[int, float]]:
    """(n, when it is due) for `count` sends at `rate` a second from `start`, each yielded once
    it is due. Open loop: the times are fixed in advance, and a slow send postpones none of them."""
    for n in range(count):
        scheduled = start + n / rate
        delay = scheduled - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        yield n, scheduled


async def _receive(url: str, token: str, expected: int, state: dict[str, Any]) -> None:
    """Counts this socket's benchmark messages (any chat) until it has `expected` of them, and
    checks each chat's seqs arrive in order."""
    try:
        async with _connect(url, token) as ws:
            await ws.recv()  # hello
            state["ready"] += 1
            last_seq: dict[int, int] = {}
            received = 0
            while received < expected:
                frame = await _next_frame(ws, "message.new")
                message = frame["message"]
                parts = message["text"].split(":")
                if parts[0] != "b":
                    continue
                state["histogram"].record_value(_micros_since(float(parts[1])))
                state["last_arrival"] = time.time()
                chat_id = frame["chat_id"]
                if message["seq"] <= last_seq.get(chat_id, 0):
                    state["out_of_order"] += 1
                last_seq[chat_id] = message["seq"]
                received += 1
                state["received"] += 1
    except Exception as error:  # a socket that failed or went quiet: its messages count as lost
        state["failed"] += 1
        state["errors"].add(f"{error.__class__.__name__}: {error}"[:200])


def receivers(url: str, sockets: list[tuple[str, int]], ready: Any, out: Any) -> None:
    """Holds one socket per (token, expected deliveries); sets `ready` once all are connected."""

    async def main() -> dict[str, Any]:
        state: dict[str, Any] = {
            "histogram": HdrHistogram(*HISTOGRAM_RANGE),
            "received": 0,
            "out_of_order": 0,
            "ready": 0,
            "failed": 0,
            "errors": set(),
            "last_arrival": 0.0,
        }
        cpu_start = cpu_seconds()
        tasks = [asyncio.create_task(_receive(url, t, n, state)) for t, n in sockets]
        while state["ready"] + state["failed"] < len(sockets):
            await asyncio.sleep(0.05)
        ready.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "histogram": state["histogram"].encode().decode(),
            "received": state["received"],
            "out_of_order": state["out_of_order"],
            "failed_sockets": state["failed"],
            "last_arrival": state["last_arrival"],
            "errors": sorted(state["errors"]),
            "cpu_seconds": cpu_seconds() - cpu_start,
        }

    out.put(asyncio.run(main()))


async def _send(
    ws: ClientConnection, chat_id: int, rate: float, count: int, start: float, state: dict[str, Any]
) -> None:
    """Posts `count` messages at `rate` a second from `start`, on schedule, whatever the acks do."""
    sent_at: dict[int, float] = {}

    async def read_acks() -> None:
        async for raw in ws:
            if not _is_one_of(raw, "ack", "error"):
                continue
            frame = json.loads(raw)
            if frame["type"] == "ack":
                scheduled = sent_at.pop(frame["ref"], None)
                if scheduled is not None:
                    state["acks"].record_value(_micros_since(scheduled))
            elif frame["type"] == "error":
                sent_at.pop(frame.get("ref"), None)
                state["errors"] += 1
            if not sent_at and state["acks"].get_total_count() + state["errors"] >= state["total"]:
                return

    reader = asyncio.create_task(read_acks())
    async for n, scheduled in on_schedule(start, rate, count):
        sent_at[n] = scheduled
        text = f"b:{scheduled:.6f}:{n}"
        await ws.send(
            json.dumps({"type": "message.send", "ref": n, "chat_id": chat_id, "text": text})
        )
    try:
        await asyncio.wait_for(reader, timeout=30)
    except TimeoutError:
        reader.cancel()


def senders(
    url: str, jobs: list[tuple[str, int]], rate: float, count: int, ready: Any, out: Any
) -> None:
    """One socket per (token, chat_id), each posting `count` messages at `rate` a second; the
    sockets' schedules are spread evenly so the process offers len(jobs) * rate messages a
    second. It starts sending once `ready` (the receivers) is set."""

    async def main() -> dict[str, Any]:
        state: dict[str, Any] = {
            "acks": HdrHistogram(*HISTOGRAM_RANGE),
            "errors": 0,
            "total": len(jobs) * count,
        }
        sockets = [await _connect(url, token).__aenter__() for token, _ in jobs]
        for ws in sockets:
            await ws.recv()  # hello
        while not ready.is_set():
            await asyncio.sleep(0.05)
        cpu_start = cpu_seconds()
        start = time.time() + 0.5
        spread = 1 / (rate * len(jobs))
        await asyncio.gather(
            *(
                _send(ws, chat_id, rate, count, start + n * spread, state)
                for n, (ws, (_, chat_id)) in enumerate(zip(sockets, jobs, strict=True))
            )
        )
        for ws in sockets:
            await ws.close()
        return {
            "acks": state["acks"].encode().decode(),
            "first_scheduled": start,
            "errors": state["errors"],
            "cpu_seconds": cpu_seconds() - cpu_start,
        }

    out.put(asyncio.run(main()))


async def _http_get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """One keep-alive HTTP/1.1 GET; returns the status code and the body."""
    writer.write(request)
    await writer.drain()
    return await _http_answer(reader)


async def _http_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """An HTTP/1.1 answer's status code and body (one with a Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return status, await reader.readexactly(length)


def http_gets(
    port: int, token: str, path: str, rate: float, count: int, connections: int, out: Any
) -> None:
    """`count` GETs of `path` due at `rate` a second over a pool of keep-alive connections. A
    request waits for a free connection, and that wait counts in its latency."""

    async def main() -> dict[str, Any]:
        latency = HdrHistogram(*HISTOGRAM_RANGE)
        statuses: dict[int, int] = {}
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
        due: asyncio.Queue[float | None] = asyncio.Queue()

        async def worker() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            while (scheduled := await due.get()) is not None:
                status, _ = await _http_get(reader, writer, request)
                latency.record_value(_micros_since(scheduled))
                statuses[status] = statuses.get(status, 0) + 1
            writer.close()

        workers = [asyncio.create_task(worker()) for _ in range(connections)]
        cpu_start = cpu_seconds()
        start = time.time() + 0.2
        async for _, scheduled in on_schedule(start, rate, count):
            due.put_nowait(scheduled)
        for _ in workers:
            due.put_nowait(None)
        await asyncio.gather(*workers)
        return {
            "latency": latency.encode().decode(),
            "statuses": statuses,
            "elapsed_s": time.time() - start,
            "cpu_seconds": cpu_seconds() - cpu_start,
        }

    out.put(asyncio.run(main()))


async def _discard_frames(ws: ClientConnection) -> None:
    """Reads what an idle socket is sent (presence), as a client would."""
    async for _ in ws:
        pass


async def _hold(
    url: str,
    token: str,
    state: dict[str, Any],
    release: asyncio.Event,
    handshakes: asyncio.Semaphore,
) -> None:
    try:
        await handshakes.acquire()
        try:
            ws = await _connect(url, token)
            try:
                # Bounded: a hello that never came left a whole load generator waiting until the
                # harness killed it, and scenario 5 never ran (bench/README.md, 2026-12-05).
                await asyncio.wait_for(ws.recv(), IDLE_TIMEOUT)  # hello
            except BaseException:
                await ws.close()
                raise
        finally:
            handshakes.release()
        state["connected"] += 1
        async with ws:
            reading = asyncio.ensure_future(_discard_frames(ws))
            await release.wait()
            reading.cancel()
    except Exception as error:
        state["failed"] += 1
        state["errors"].add(f"{error.__class__.__name__}: {error}"[:200])


async def _catch_up(
    url: str, token: str, chats: dict[int, tuple[int, int]], state: dict[str, Any]
) -> None:
    """Connects, sends `sync` from the last seq it had for each chat, and waits until it holds
    every seq up to the chat's newest, from sync batches and live messages together."""
    missing = {chat_id: set(range(after + 1, last + 1)) for chat_id, (after, last) in chats.items()}
    try:
        async with _connect(url, token) as ws:
            await ws.recv()  # hello
            for chat_id, (after, _) in chats.items():
                await ws.send(json.dumps({"type": "sync", "chat_id": chat_id, "after_seq": after}))
            while any(missing.values()):
                frame = await _next_frame(ws, "sync.batch", "message.new")
                if frame["type"] == "sync.batch":
                    seqs = [message["seq"] for message in frame["messages"]]
                else:
                    seqs = [frame["message"]["seq"]]
                missing.get(frame["chat_id"], set()).difference_update(seqs)
            state["settled"] += 1
            state["last_settled"] = time.time()
    except Exception as error:
        state["failed"] += 1
        state["errors"].add(f"{error.__class__.__name__}: {error}"[:200])
    state["missing"] += sum(len(seqs) for seqs in missing.values())


def idle_sockets(
    url: str, tokens: list[str], ready: Any, release: Any, storm: Any, out: Any
) -> None:
    """Holds one idle socket per token until `release` is set. If `storm` is a dict of token ->
    {chat_id: (last seq held, newest seq)}, it then drops them all and reconnects them at once,
    each syncing from where it was, and reports when the last one holds everything."""

    async def main() -> dict[str, Any]:
        state: dict[str, Any] = {"connected": 0, "failed": 0, "errors": set()}
        cpu_start = cpu_seconds()
        let_go = asyncio.Event()
        handshakes = asyncio.Semaphore(CONNECTS_IN_FLIGHT)
        tasks = [
            asyncio.create_task(_hold(url, token, state, let_go, handshakes)) for token in tokens
        ]
        while state["connected"] + state["failed"] < len(tokens):
            await asyncio.sleep(0.1)
        result: dict[str, Any] = {
            "connected": state["connected"],
            "failed": state["failed"],
            "errors": sorted(state["errors"])[:5],
        }
        ready.set()
        while not release.is_set():
            await asyncio.sleep(0.1)
        let_go.set()
        await asyncio.gather(*tasks)
        storm_plan = storm.get() if storm is not None else None
        if storm_plan:
            storm_state: dict[str, Any] = {
                "settled": 0,
                "failed": 0,
                "missing": 0,
                "last_settled": 0.0,
                "errors": set(),
            }
            started = time.time()
            await asyncio.gather(
                *(_catch_up(url, token, chats, storm_state) for token, chats in storm_plan.items())
            )
            result["storm"] = {
                "clients": len(storm_plan),
                "settled": storm_state["settled"],
                "failed": storm_state["failed"],
                "missing_messages": storm_state["missing"],
                "errors": sorted(storm_state["errors"])[:5],
                "started": started,
                "last_settled": storm_state["last_settled"],
            }
        result["cpu_seconds"] = cpu_seconds() - cpu_start
        return result

    out.put(asyncio.run(main()))


class _JsonClient:
    """GETs JSON over one keep-alive HTTP/1.1 connection, as an app's client would."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: str):
        self.reader, self.writer, self.token = reader, writer, token
        self.requests = 0

    async def get(self, path: str) -> dict[str, Any]:
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.token}\r\n\r\n"
        ).encode()
        status, body = await _http_get(self.reader, self.writer, request)
        self.requests += 1
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:200]!r}")
        return dict(orjson.loads(body))


class _Changes:
    """What a client catching up has been brought: each changed thing once, whatever page or
    frame it came in, so a feed that repeated or skipped something shows in the counts."""

    def __init__(self, since: int) -> None:
        self.version = since
        self.messages: set[int] = set()
        self.members: set[int] = set()
        self.removed_user_ids: set[int] = set()
        self.pages = 0

    def apply(self, page: dict[str, Any]) -> None:
        self.messages.update(message["id"] for message in page["messages"])
        self.members.update(member["user"]["id"] for member in page["members"])
        self.removed_user_ids.update(page["removed_user_ids"])
        self.version = page["version"]
        self.pages += 1

    def result(self, requests: int) -> dict[str, Any]:
        return {
            "version": self.version,
            "requests": requests,
            "pages": self.pages,
            "messages": len(self.messages),
            "members": len(self.members),
            "removed_user_ids": len(self.removed_user_ids),
        }


async def _socket_catch_up(ws: ClientConnection, chat_id: int, since: int) -> dict[str, Any]:
    """`sync` from `since` until a `changes` frame says has_more false."""
    changes, requests = _Changes(since), 0
    while True:
        request = {"type": "sync", "chat_id": chat_id, "since_version": changes.version}
        await ws.send(json.dumps(request | {"limit": CHANGES_PAGE}))
        requests += 1
        for _ in range(SYNC_FRAMES_PER_REQUEST):
            frame = await _next_frame(ws, "changes", "error")
            if frame["type"] == "error":
                raise RuntimeError(f"sync refused: {frame}")
            changes.apply(frame)
            if not frame["has_more"]:
                return changes.result(requests)


async def _rest_catch_up(http: _JsonClient, chat_id: int, since: int) -> dict[str, Any]:
    """`GET .../changes/` from `since`, page after page, until has_more false."""
    changes, first_request = _Changes(since), http.requests
    while True:
        path = f"/api/chats/{chat_id}/changes/?since={changes.version}&limit={CHANGES_PAGE}"
        page = await http.get(path)
        changes.apply(page)
        if not page["has_more"]:
            return changes.result(http.requests - first_request)


async def _full_load(http: _JsonClient, chat_id: int) -> dict[str, Any]:
    """What a client that kept nothing loads: the chat, then every history page from the first
    message, then every members page, one request after another."""
    first_request = http.requests
    detail = await http.get(f"/api/chats/{chat_id}/")
    messages, last_seq = 0, 0
    while True:
        page = await http.get(
            f"/api/chats/{chat_id}/messages/?after={last_seq}&limit={HISTORY_PAGE}"
        )
        messages += len(page["results"])
        if page["results"]:
            last_seq = page["results"][-1]["seq"]
        if not page["has_more"]:
            break
    members = 0
    path: str | None = f"/api/chats/{chat_id}/members/?limit={MEMBERS_PAGE}"
    while path is not None:
        page = await http.get(path)
        members += len(page["results"])
        next_url: str | None = page["next"]
        # `next` is a whole URL; the connection needs its path and query.
        path = urlsplit(next_url)._replace(scheme="", netloc="").geturl() if next_url else None
    return {
        "version": detail["chat"]["version"],
        "requests": http.requests - first_request,
        "messages": messages,
        "last_seq": last_seq,
        "members": members,
    }


def catch_ups(
    url: str, port: int, token: str, chat_id: int, since: int, ways: Any, out: Any
) -> None:
    """One client of the chat, socket and keep-alive HTTP connection open, that holds the chat
    as it was at version `since`. For each way named on `ways` it brings itself to the chat's
    current version that way ("socket": sync; "rest": the changes pages) or loads the chat afresh
    ("full"), and puts the wall time and what it got on `out`; None on `ways` ends it. The
    harness reads the server's CPU around each run, so the runs go one at a time."""

    async def main() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        http = _JsonClient(reader, writer, token)
        async with _connect(url, token) as ws:
            await ws.recv()  # hello
            # In a thread: the socket's own reader must go on answering the server's pings.
            while (way := await asyncio.to_thread(ways.get)) is not None:
                started = time.perf_counter()
                try:
                    if way == "socket":
                        result = await _socket_catch_up(ws, chat_id, since)
                    elif way == "rest":
                        result = await _rest_catch_up(http, chat_id, since)
                    else:
                        result = await _full_load(http, chat_id)
                except Exception as error:
                    result = {"error": f"{error.__class__.__name__}: {error}"[:300]}
                out.put(result | {"way": way, "seconds": time.perf_counter() - started})
        writer.close()

    asyncio.run(main())


REACTION_IN_PATH = "%F0%9F%91%8D"  # 👍, URL-encoded as a client sends it


def _request(method: str, path: str, token: str, body: bytes = b"") -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def busy_writes(
    port: int,
    jobs: list[tuple[str, int]],
    rate: float,
    count: int,
    read_from: int,
    ready: Any,
    out: Any,
) -> None:
    """Each job (token, chat_id) is a member who makes `count` writes at `rate` a second over a
    keep-alive connection of their own: in turn a 👍 on the chat's newest message, put on and
    taken off again, and their read marker moved one message on from `read_from`. Each is timed
    from when it was due. It starts once `ready` (the counting sockets) is set."""

    async def member(token: str, chat_id: int, start: float, state: dict[str, Any]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        http = _JsonClient(reader, writer, token)
        [newest] = (await http.get(f"/api/chats/{chat_id}/messages/?limit=1"))["results"]
        reaction = f"/api/chats/{chat_id}/messages/{newest['id']}/reactions/{REACTION_IN_PATH}/"
        async for n, scheduled in on_schedule(start, rate, count):
            if n % 2 == 0:
                request = _request("PUT" if n % 4 == 0 else "DELETE", reaction, token)
            else:
                seq = orjson.dumps({"seq": read_from + n // 2 + 1})
                request = _request("POST", f"/api/chats/{chat_id}/read/", token, seq)
            status, _ = await _http_get(reader, writer, request)
            state["latency"].record_value(_micros_since(scheduled))
            state["statuses"][status] = state["statuses"].get(status, 0) + 1
        writer.close()

    async def main() -> dict[str, Any]:
        state: dict[str, Any] = {"latency": HdrHistogram(*HISTOGRAM_RANGE), "statuses": {}}
        while not ready.is_set():
            await asyncio.sleep(0.05)
        cpu_start = cpu_seconds()
        start = time.time() + 0.5
        spread = 1 / (rate * len(jobs))
        await asyncio.gather(
            *(
                member(token, chat_id, start + n * spread, state)
                for n, (token, chat_id) in enumerate(jobs)
            )
        )
        return {
            "latency": state["latency"].encode().decode(),
            "statuses": state["statuses"],
            "first_scheduled": start,
            "cpu_seconds": cpu_seconds() - cpu_start,
        }

    out.put(asyncio.run(main()))


def event_counts(url: str, tokens: list[str], expected: int, ready: Any, out: Any) -> None:
    """Holds one socket per token and counts the `reaction` and `read` events each gets, until
    it has `expected` or none came for 10 s; sets `ready` once all are connected."""

    async def count(token: str, state: dict[str, Any]) -> None:
        try:
            async with _connect(url, token) as ws:
                await ws.recv()  # hello
                state["ready"] += 1
                received = 0
                while received < expected:
                    async with asyncio.timeout(10):
                        raw = await ws.recv()
                    if _is_one_of(raw, "reaction", "read"):
                        received += 1
                        state["received"] += 1
                        state["last_arrival"] = time.time()
        except Exception as error:  # went quiet or failed: what it missed counts as lost
            state["failed"] += 1
            state["errors"].add(f"{error.__class__.__name__}: {error}"[:200])

    async def main() -> dict[str, Any]:
        state: dict[str, Any] = {
            "received": 0,
            "ready": 0,
            "failed": 0,
            "errors": set(),
            "last_arrival": 0.0,
        }
        cpu_start = cpu_seconds()
        tasks = [asyncio.create_task(count(token, state)) for token in tokens]
        while state["ready"] + state["failed"] < len(tokens):
            await asyncio.sleep(0.05)
        ready.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "received": state["received"],
            "failed_sockets": state["failed"],
            "errors": sorted(state["errors"])[:5],
            "last_arrival": state["last_arrival"],
            "cpu_seconds": cpu_seconds() - cpu_start,
        }

    out.put(asyncio.run(main()))


# What an upload writes at a time: the client streams its body with back-pressure (drain after
# each), never holding more than this and the transport's buffer beyond the file's bytes.
UPLOAD_CHUNK = 256 * 1024


async def _upload(
    port: int, token: str, chat_id: int, n: int, data: bytes, start: float
) -> dict[str, Any]:
    """One multipart/form-data POST of `data` as the field `file`, written in UPLOAD_CHUNK pieces
    as the socket takes them, over a connection of its own. Times from `start` (when all the
    uploads began) to the last byte written and to the answer read."""
    boundary = f"bench-upload-{n:04d}-{time.time_ns():x}"
    part_head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file";'
        f' filename="bench-{n}.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    part_tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(part_head) + len(data) + len(part_tail)
    head = (
        f"POST /api/chats/{chat_id}/attachments/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()
    result: dict[str, Any] = {"n": n}
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head + part_head)
        view = memoryview(data)
        for offset in range(0, len(data), UPLOAD_CHUNK):
            writer.write(view[offset : offset + UPLOAD_CHUNK])
            await writer.drain()
        writer.write(part_tail)
        await writer.drain()
        result["sent_s"] = time.time() - start
        async with asyncio.timeout(600):
            status, body = await _http_answer(reader)
        result |= {"status": status, "seconds": time.time() - start}
        if status == 201:
            answer = orjson.loads(body)
            result |= {"size": answer["size"], "content_type": answer["content_type"]}
        else:
            result["error"] = f"{status}: {body[:200]!r}"
        writer.close()
    except Exception as error:
        result["error"] = f"{error.__class__.__name__}: {error}"[:300]
    return result


def uploads(
    port: int, jobs: list[tuple[str, int]], size: int, ready: Any, go: Any, out: Any
) -> None:
    """Each job (token, chat_id) uploads `size` random bytes (the same in every upload of this
    process, random so that nothing takes them for an image), all at once: made ready, it sets
    `ready`, then starts every upload at the time `go` gives."""
    data = os.urandom(size)
    ready.set()
    start = go.get()

    async def main() -> list[dict[str, Any]]:
        await asyncio.sleep(max(0.0, start - time.time()))
        return await asyncio.gather(
            *(
                _upload(port, token, chat_id, n, data, start)
                for n, (token, chat_id) in enumerate(jobs)
            )
        )

    cpu_start = cpu_seconds()
    results = asyncio.run(main())
    out.put({"uploads": results, "cpu_seconds": cpu_seconds() - cpu_start})
