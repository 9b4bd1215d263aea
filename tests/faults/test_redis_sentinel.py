"""Redis behind Sentinel: the channel layer and the cache follow the master when it fails over.

With REDIS_SENTINELS and REDIS_SENTINEL_MASTER set (chatproject/settings.py), both channel layers
and the cache ask a sentinel where the master is, and ask again when a connection to it fails.
These tests start private servers (tests/faults/servers.py): a master, a replica of it and one
sentinel watching them, run by the redis-server binary CI already has (`redis-server <conf>
--sentinel`), then crash the master (the sentinel fails over to the replica) or restart it in
place, while events and cache calls go through.
"""

import asyncio
import contextlib
import logging
import os
import runpy
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import redis
from channels.layers import BaseChannelLayer
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from accounts.services import tokens_issue
from tests.clients import ws_client
from tests.factories import UserFactory, chat_factory
from tests.faults.conftest import Http, wait_until
from tests.faults.servers import PrivateRedis, PrivateServer, _wait_until_closed, started
from tests.faults.test_redis_outage import _retrying
from tests.processes import ROOT, Process, daphne, free_port, wait_for_port
from tests.realtime.conftest import sync

logger = logging.getLogger(__name__)

MASTER_NAME = "chat-test"
# How long the sentinel waits before it calls the master down. Not less: a sentinel that has only
# just started may take a second for its first answer from the master as an outage.
DOWN_AFTER_MS = 2000


class PrivateSentinel(PrivateServer):
    """One sentinel watching `MASTER_NAME`, with a quorum of one: alone, it may fail over."""

    name = "sentinel"

    def __init__(self, master_port: int) -> None:
        super().__init__()
        self.config = self.dir / "sentinel.conf"
        # Sentinel rewrites its configuration as it learns (replicas, epochs): it must be its own.
        self.config.write_text(
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            f"dir {self.dir}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 1\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER_NAME} 10000\n"
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)

    def master_port(self) -> int:
        with self.client() as client:
            _, port = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
        return int(port)

    def start(self) -> None:
        self._spawn(["redis-server", str(self.config), "--sentinel"])
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(timeout=30)
        _wait_until_closed(self.port)


class Servers:
    """A master, its replica and a sentinel watching them."""

    def __init__(self, master: PrivateRedis, replica: PrivateRedis, sentinel: PrivateSentinel):
        self.master, self.replica, self.sentinel = master, replica, sentinel

    def env(self) -> dict[str, str]:
        """What an operator sets. The URL's host and port are not used: only the sentinel knows
        where the master is. A name that resolves nowhere shows it."""
        return {
            "REDIS_URL": "redis://master-named-by-sentinel.invalid/0",
            "REDIS_SENTINELS": self.sentinel.address,
            "REDIS_SENTINEL_MASTER": MASTER_NAME,
        }

    def wait_until_watched(self) -> None:
        """The sentinel has found the replica, in sync with the master, and thinks the master
        up: it could fail over now."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with self.sentinel.client() as client:
                master = client.execute_command("SENTINEL", "MASTER", MASTER_NAME)
                replicas = client.execute_command("SENTINEL", "REPLICAS", MASTER_NAME)
            states = [_pairs(replica) for replica in replicas]
            if _pairs(master)["flags"] == "master" and any(
                state["flags"] == "slave" and state["master-link-status"] == "ok"
                for state in states
            ):
                return
            time.sleep(0.2)
        raise AssertionError(f"the sentinel never watched a healthy pair: {master} {replicas}")

    def crash_master_and_wait_for_failover(self) -> None:
        self.master.kill()
        deadline = time.monotonic() + 60
        while self.sentinel.master_port() != self.replica.port:
            if time.monotonic() > deadline:
                raise AssertionError("the sentinel did not promote the replica")
            time.sleep(0.2)
        with redis.Redis(port=self.replica.port, decode_responses=True) as promoted:
            assert promoted.execute_command("ROLE")[0] == "master"


def _pairs(flat: Any) -> dict[str, str]:
    """SENTINEL MASTER's answer (a flat list of names and values, or redis-py's dict of them)."""
    if isinstance(flat, dict):
        return {str(k): str(v) for k, v in flat.items()}
    return dict(zip(flat[::2], flat[1::2], strict=True))


@pytest.fixture
def sentinel_servers() -> Iterator[Servers]:
    with ExitStack() as stack:
        master = stack.enter_context(started(PrivateRedis()))
        replica = stack.enter_context(started(PrivateRedis()))
        with redis.Redis(port=replica.port) as client:
            client.execute_command("REPLICAOF", "127.0.0.1", str(master.port))
        sentinel = stack.enter_context(started(PrivateSentinel(master.port)))
        servers = Servers(master, replica, sentinel)
        servers.wait_until_watched()
        yield servers


def settings_under(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """The project's settings module, run afresh with this Redis environment."""
    for name in ("REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "CHANNEL_LAYER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "chatproject" / "settings.py"))


# --- Settings: nothing changes unless the sentinels are named ------------------------------------


def test_without_sentinels_redis_is_reached_at_its_url(monkeypatch: pytest.MonkeyPatch) -> None:
    values = settings_under(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/3")

    assert values["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"] == [
        {"address": "redis://127.0.0.1:6379/3", "socket_timeout": 15, "socket_connect_timeout": 5}
    ]
    assert values["CACHES"]["default"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/3",
        "KEY_PREFIX": "chat",
    }


@pytest.mark.parametrize("layer", ["pubsub", "core"])
def test_with_sentinels_both_layers_and_the_cache_ask_them(
    monkeypatch: pytest.MonkeyPatch, layer: str
) -> None:
    values = settings_under(
        monkeypatch,
        REDIS_URL="redis://:s%40cret@ignored:1/4",
        REDIS_SENTINELS="10.0.0.1:26379, 10.0.0.2:26379,[::1]:26380",
        REDIS_SENTINEL_MASTER="chat",
        CHANNEL_LAYER=layer,
    )

    (host,) = values["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"]
    assert host == {
        "sentinels": [("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26380)],
        "master_name": "chat",
        "sentinel_kwargs": {"socket_timeout": 2, "socket_connect_timeout": 2},
        "db": 4,
        "password": "s@cret",
        "socket_timeout": 15,
        "socket_connect_timeout": 5,
    }
    cache = values["CACHES"]["default"]
    assert cache["LOCATION"] == "redis://:s%40cret@ignored:1/4"
    assert cache["OPTIONS"]["pool_class"] == "redis.sentinel.SentinelConnectionPool"
    assert cache["OPTIONS"]["service_name"] == "chat"
    assert [
        sentinel.connection_pool.connection_kwargs["port"]
        for sentinel in cache["OPTIONS"]["sentinel_manager"].sentinels
    ] == [26379, 26379, 26380]


@pytest.mark.parametrize(
    "env",
    [
        {"REDIS_URL": "redis://x/0", "REDIS_SENTINELS": "a:26379"},
        {"REDIS_URL": "redis://x/0", "REDIS_SENTINEL_MASTER": "chat"},
        {"REDIS_SENTINELS": "a:26379", "REDIS_SENTINEL_MASTER": "chat"},
        {"REDIS_URL": "redis://x/0", "REDIS_SENTINELS": "a", "REDIS_SENTINEL_MASTER": "chat"},
    ],
)
def test_a_half_configured_sentinel_is_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    with pytest.raises(ImproperlyConfigured):
        settings_under(monkeypatch, **env)


def test_a_server_will_not_start_half_configured() -> None:
    """The same refusal stops `manage.py check`, as it stops daphne, before anything is served."""
    result = subprocess.run(  # noqa: S603 - our interpreter, our arguments
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DEBUG": "true",
            "REDIS_URL": "redis://x/0",
            "REDIS_SENTINELS": "127.0.0.1:26379",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "Set REDIS_SENTINELS and REDIS_SENTINEL_MASTER together." in result.stderr


# --- Against real servers ------------------------------------------------------------------------

GROUP = "sentinel-test"
LAYER_ERRORS = (redis.RedisError, OSError, TimeoutError)


class Receiver:
    """Receives from the layer without end, as the fan-out does (chats/realtime/fanout.py): one
    task, never cancelled mid-receive (the pub/sub layer takes that as the end of the channel),
    that retries after any error."""

    def __init__(self, layer: BaseChannelLayer, channel: str) -> None:
        self.layer, self.channel = layer, channel
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            try:
                self.events.put_nowait(await self.layer.receive(self.channel))
            except Exception:  # as the fan-out does: Redis is away, or the layer tripped on it
                logger.warning("receiving from the layer failed", exc_info=True)
                await asyncio.sleep(0.2)

    async def delivered(self, number: int) -> bool:
        """One event sent to the group arrives; False if Redis is not there yet."""
        try:
            await asyncio.wait_for(self.layer.group_send(GROUP, {"type": "note", "n": number}), 5)
            while True:
                event = await asyncio.wait_for(self.events.get(), 2)
                if event["n"] == number:
                    return True
        except LAYER_ERRORS:
            return False

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def _cache_round_trip(cache: RedisCache, number: int) -> bool:
    try:
        cache.set("sentinel-test", number, 60)
        return bool(cache.get("sentinel-test") == number)
    except LAYER_ERRORS:
        return False


async def _layer_and_cache_carry_on(
    servers: Servers,
    monkeypatch: pytest.MonkeyPatch,
    layer_name: str,
    outage: Callable[[], None],
) -> None:
    """A layer and the cache, configured from the environment as in production, work through
    the sentinel; after the outage, the same layer object (its group as it was) and the same
    cache work again, with no restart."""
    values = settings_under(monkeypatch, **servers.env(), CHANNEL_LAYER=layer_name)
    layer_settings = values["CHANNEL_LAYERS"]["default"]
    layer: BaseChannelLayer = import_string(layer_settings["BACKEND"])(**layer_settings["CONFIG"])
    cache_settings = values["CACHES"]["default"]
    cache = RedisCache(cache_settings["LOCATION"], cache_settings)
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    receiver = Receiver(layer, channel)
    try:
        assert await receiver.delivered(1)
        assert await asyncio.to_thread(_cache_round_trip, cache, 1)
        # The URL names no server: the sentinel sent both to the master.
        with redis.Redis(port=servers.master.port) as master:
            assert master.get("chat:1:sentinel-test") == b"1"

        await asyncio.to_thread(outage)

        numbers = iter(range(2, 1000))

        async def layer_recovered() -> bool:
            return await receiver.delivered(next(numbers))

        async def cache_recovered() -> bool:
            return await asyncio.to_thread(_cache_round_trip, cache, next(numbers))

        await wait_until(layer_recovered, timeout=60, what="an event through the layer")
        await wait_until(cache_recovered, timeout=60, what="the cache")
    finally:
        await receiver.stop()
        await layer.flush()
        cache.close()


@pytest.mark.redis
@pytest.mark.parametrize("layer_name", ["pubsub", "core"])
async def test_the_layers_and_the_cache_follow_the_master_through_a_failover(
    sentinel_servers: Servers, monkeypatch: pytest.MonkeyPatch, layer_name: str
) -> None:
    """The master crashes and the sentinel promotes its replica: both layers and the cache go on
    against the new master. The core layer's group (kept in Redis) came with the replica."""
    await _layer_and_cache_carry_on(
        sentinel_servers,
        monkeypatch,
        layer_name,
        sentinel_servers.crash_master_and_wait_for_failover,
    )

    with redis.Redis(port=sentinel_servers.replica.port) as promoted:
        assert promoted.get("chat:1:sentinel-test") is not None


@pytest.mark.redis
async def test_a_restart_of_the_master_is_survived_through_the_sentinel(
    sentinel_servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The master stops and starts again in place, too quickly for a failover: the sentinel
    names it still, and the default layer and the cache reconnect to it. (The core layer would
    need its groups back from a Redis that kept its data: docs/deployment.md.)"""

    def restart() -> None:
        sentinel_servers.master.stop()
        sentinel_servers.master.start()

    await _layer_and_cache_carry_on(sentinel_servers, monkeypatch, "pubsub", restart)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_open_sockets_get_live_events_again_after_the_master_fails_over(
    sentinel_servers: Servers, processes: list[Process], tmp_path: Path
) -> None:
    """A real server configured with the sentinel: bob's socket gets alice's posts live; the
    master crashes and the sentinel promotes the replica; posting goes on meanwhile, bob's socket
    stays open and gets live events again without reconnecting, and his sync from the last seq
    he saw fills in what the push missed."""
    alice = await sync(UserFactory)(login="alice")
    bob = await sync(UserFactory)(login="bob")
    chat = await sync(chat_factory)(alice, [bob])
    port = free_port()
    processes.append(daphne(port, tmp_path, **sentinel_servers.env()))
    alice_api = Http(f"http://127.0.0.1:{port}", (await sync(tokens_issue)(user=alice))["access"])
    bob_token = (await sync(tokens_issue)(user=bob))["access"]
    seen: dict[int, dict[str, Any]] = {}

    async def post(text: str) -> dict[str, Any]:
        status, body = await alice_api.post(f"/api/chats/{chat.pk}/messages/", {"text": text})
        assert status == 201, body
        return dict(body)

    async with ws_client(f"ws://127.0.0.1:{port}/ws/", bob_token) as bob_ws:
        await post("before")
        seen[1] = (await bob_ws.next_of("message.new"))["message"]
        # The server's cache (the rate limits) is on the master too.
        with redis.Redis(port=sentinel_servers.master.port) as master:
            assert master.keys("chat:*")

        await asyncio.to_thread(sentinel_servers.crash_master_and_wait_for_failover)
        during = await post("during")

        async def delivered_live() -> bool:
            message = await post("after")
            while True:
                frame = await bob_ws.next_of("message.new", timeout=3)
                seen[frame["message"]["seq"]] = frame["message"]
                if frame["message"]["seq"] == message["seq"]:
                    return True

        await wait_until(_retrying(delivered_live), timeout=60, what="a live message.new")
        for message in await bob_ws.sync_from(chat.pk, 1):
            seen[message["seq"]] = message

    status, report = await Http(f"http://127.0.0.1:{port}").get("/healthz")
    assert sorted(seen) == list(range(1, max(seen) + 1))
    assert seen[during["seq"]]["text"] == "during"
    with redis.Redis(port=sentinel_servers.replica.port) as promoted:
        assert promoted.keys("chat:*")
    assert (status, report["channel_layer"]) == (200, "ok"), report  # the master it names
