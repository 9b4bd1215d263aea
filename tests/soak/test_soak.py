"""The soak: many users chatting for minutes across two server processes lose nothing.

40 users in 12 group chats of 4 to 10 members post over the socket and over REST (and schedule
messages, which a Celery worker posts seconds later), drop their sockets and reconnect to either
daphne process, leave chats and get added to others, all at random (seeded, so a run does the same
things, in whatever order the machine lets them happen). Each one follows the documented client
protocol: remember the highest seq of each chat, `sync` after every reconnect or join. At the end
every member has every message of every chat for as long as they belonged to it, each once and,
on each connection, in order; every post made exactly one message, however often it was retried;
no socket crashed or stayed open on the server; and neither server process grew after warming up.

SOAK_SECONDS sets the length (240 by default, so `make test` stays short; `make soak` runs 1800).
"""

import asyncio
import os
import random
import statistics
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import pytest
from django.conf import settings

from accounts.models import User
from tests.factories import UserFactory, chat_factory
from tests.processes import Process, celery_worker, daphne, free_port
from tests.realtime.conftest import sync
from tests.soak.driver import SoakClient, World, check, scheduled_pending

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "240"))
SEED = int(os.environ.get("SOAK_SEED", "20240611"))
USERS, CHATS = 40, 12
RSS_EVERY_SECONDS = 3.0
# The first quarter of the run (at least 20 s) fills what a server process keeps for good: the
# imported modules' lazy parts, Django's URL and serializer caches, the DB connection, the
# layer's Redis connections, a first full set of sockets. Memory is judged after it.
WARM_UP_FRACTION, WARM_UP_MIN_SECONDS = 0.25, 20.0
# How much a process may grow from the window after warm-up to the last third of the run. RSS is
# a coarse measure: CPython's allocator keeps freed arenas and glibc's malloc keeps freed pages,
# so the figure moves in steps with the traffic's peaks (1-2 MiB in runs on a quiet box, from a
# base of about 115 MiB), more on a loaded one; hence eight times that. A leak of what the soak
# repeats grows with it: between the two windows (half the run) each process opens some 250
# sockets and sends some 4,000 message frames in a 240 s run, so a leak of 64 KiB a socket (a
# consumer kept with its buffers) or of 4 KiB a frame reaches the bound. A smaller leak shows in
# a longer run: `make soak` (1800 s) brings 7.5 times the traffic to the same bound.
RSS_GROWTH_MAX_MIB = 16.0

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.redis,
    # The soak's own length, plus setup, the final catch-up and the check, with room to spare.
    pytest.mark.timeout(SOAK_SECONDS + 600),
]


@pytest.fixture
def servers(transactional_db: None, tmp_path: Path) -> Iterator[list[Process]]:
    """Two daphne processes and a Celery worker (which posts the scheduled messages) on the test
    database and Redis. Redis is the broker too, the test's own database of it, so the worker
    shares its queues with no other test run on the machine."""
    broker = {"CELERY_BROKER_URL": settings.REDIS_URL}
    processes = [daphne(free_port(), tmp_path, **broker), daphne(free_port(), tmp_path, **broker)]
    worker = celery_worker("worker", tmp_path, **broker)
    try:
        yield processes
    finally:
        for process in [*processes, worker]:
            process.stop()


def port_of(process: Process) -> str:
    return process.name.removeprefix("daphne-")


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def sample_rss(pids: list[int], until: float, samples: list[tuple[float, list[float]]]):
    loop = asyncio.get_running_loop()
    start = loop.time()
    while loop.time() < until:
        samples.append((loop.time() - start, [rss_mib(pid) for pid in pids]))
        await asyncio.sleep(RSS_EVERY_SECONDS)


def metrics_of(http_url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{http_url}/metrics", timeout=30) as response:  # noqa: S310
        text = response.read().decode()
    return {
        name: int(value)
        for name, value in (line.split() for line in text.splitlines() if line[:1] != "#")
    }


def build_world(world: World) -> None:
    """The users and chats, made through the services like any other test's world."""
    rng = random.Random(world.seed)  # noqa: S311 - a seeded world, not a secret
    users = [cast(User, UserFactory(login=f"soak{n}")) for n in range(USERS)]
    for index, user in enumerate(users):
        world.clients[user.pk] = SoakClient(world, user.pk, user.login, index)
    for _ in range(CHATS):
        owner = rng.choice(users)
        others = rng.sample([u for u in users if u != owner], rng.randint(4, 10) - 1)
        chat = chat_factory(owner, others, title=f"Soak {owner.login}")
        world.owner[chat.pk] = owner.pk
        world.members[chat.pk] = {owner.pk, *(u.pk for u in others)}
        for user_id in world.members[chat.pk]:
            world.ranges[(user_id, chat.pk)].append([0, None])


def memory_figures(samples: list[tuple[float, list[float]]], length: float) -> list[dict[str, Any]]:
    """Per process: the mean RSS in the window right after warm-up, and over the last third."""
    warm_end = max(WARM_UP_MIN_SECONDS, length * WARM_UP_FRACTION)
    last_third = length * 2 / 3
    figures = []
    for index in range(len(samples[0][1])):
        after_warm_up = [s[1][index] for s in samples if warm_end <= s[0] < last_third]
        # The baseline is the first half of what lies between warm-up and the last third.
        baseline = after_warm_up[: max(1, len(after_warm_up) // 2)]
        end = [s[1][index] for s in samples if s[0] >= last_third]
        figures.append(
            {
                "warm": statistics.mean(baseline),
                "end": statistics.mean(end),
                "max": max(s[1][index] for s in samples),
            }
        )
    return figures


async def test_many_users_for_minutes_lose_nothing_and_servers_do_not_grow(servers):
    loop = asyncio.get_running_loop()
    # REST calls go through urllib in threads; 40 users need more than the default handful.
    loop.set_default_executor(ThreadPoolExecutor(max_workers=24))
    ports = [port_of(process) for process in servers]
    world = World(
        http_urls=[f"http://127.0.0.1:{port}" for port in ports],
        ws_urls=[f"ws://127.0.0.1:{port}/ws/" for port in ports],
        seed=SEED,
    )
    await sync(build_world)(world)

    started = loop.time()
    until = started + SOAK_SECONDS
    samples: list[tuple[float, list[float]]] = []
    pids = [process.popen.pid for process in servers]
    try:
        # A task group: if one client fails, the others stop too, and the test reports it.
        async with asyncio.TaskGroup() as group:
            group.create_task(sample_rss(pids, until, samples))
            for client in world.clients.values():
                group.create_task(client.run(until))
        length = loop.time() - started

        # Wind down: every post answered, in-flight frames delivered, then each user opens the
        # app once more and catches up as the protocol says.
        async with asyncio.TaskGroup() as group:
            for client in world.clients.values():
                group.create_task(client.settle())
        for _ in range(120):  # the last scheduled messages fall due within seconds
            if not await scheduled_pending(world):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)
        async with asyncio.TaskGroup() as group:
            for client in world.clients.values():
                group.create_task(client.final_catch_up())
    finally:
        world.abandon()
    report = await check(world)
    memory = memory_figures(samples, length)
    # Every socket has closed by now: a process that still counts one open leaked it (a consumer
    # that crashed never runs its disconnect, and keeps its groups in the layer).
    await asyncio.sleep(2)
    counters = [await asyncio.to_thread(metrics_of, url) for url in world.http_urls]

    f = world.figures
    lines = [
        f"soak: {length:.0f} s, {USERS} users, {CHATS} chats, seed {SEED}",
        f"sent {report['sent']} ({f.sent_ws} socket, {f.sent_rest} REST; retried "
        f"{f.retried_sends}, REST repeats {f.rest_repeats}), scheduled {f.scheduled} "
        f"({report['scheduled']}); messages in the database {report['messages']}",
        f"delivered live {f.delivered_live}, by sync {f.delivered_sync}; "
        f"required {report['required']}",
        f"lost {len(report['lost'])}, duplicated {f.duplicated_live} live + "
        f"{f.duplicated_client_id} by client_id, out of order {f.out_of_order}, "
        f"wrong message {f.wrong_message}",
        f"connects {f.connects} (failed {f.connect_failures}), joins {f.joins}, "
        f"leaves {f.leaves}, closed by the server {dict(f.server_closes)}; database out of "
        f"reach {f.unavailable} times (tried again)",
        *(
            f"daphne {ports[i]}: RSS {m['warm']:.1f} MiB after warm-up, {m['end']:.1f} MiB "
            f"over the last third (max {m['max']:.1f}); sockets open at the end "
            f"{c['chat_ws_connections']}, gaps filled {c['chat_ws_gap_fills_total']}, failed "
            f"publishes {c['chat_channel_layer_send_failures_total']}"
            for i, (m, c) in enumerate(zip(memory, counters, strict=True))
        ),
    ]
    problems = {
        "lost": report["lost"][:20],
        "what the losers saw": report["stories"],
        "gaps in the database": report["gaps"],
        "client_id twice": report["client_id_twice"],
        "confirmed but missing": report["confirmed_missing"],
        "never confirmed": report["unconfirmed"],
        "scheduled and not posted": report["scheduled_lost"],
        "stalls": f.stalls,
        "connect failures": [f"{n} x {error}" for error, n in f.connect_errors.items()],
        "errors": f.errors[:20],
    }
    print("\n".join(lines))
    for name, items in problems.items():
        if items:
            print(f"{name}:", *items, sep="\n  ")

    assert report["lost"] == []
    assert f.duplicated_live == 0
    assert f.duplicated_client_id == 0
    assert f.out_of_order == 0
    assert f.wrong_message == 0
    assert report["gaps"] == []
    assert report["confirmed_missing"] == []
    assert report["unconfirmed"] == []
    assert report["scheduled_lost"] == []
    assert f.stalls == []
    # 1011: a consumer raised and its socket died. The client recovers, so only this shows it.
    assert f.server_closes[1011] == 0
    assert f.errors == []
    assert [c["chat_ws_connections"] for c in counters] == [0, 0]
    for m in memory:
        assert m["end"] - m["warm"] <= RSS_GROWTH_MAX_MIB
