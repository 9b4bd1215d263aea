"""The benchmark harness: the full stack on this machine, open-loop load from separate processes,
and the machine's raw ceilings measured in the same run.

    python bench/run.py            # make bench: all eight scenarios, on daphne and on uvicorn
    python bench/run.py --quick    # make bench-quick: smaller and shorter, daphne only

It needs PostgreSQL, Redis and RabbitMQ on 127.0.0.1 (as in CI), creates its own database
`chat_bench`, starts server processes and a Celery worker, and writes bench/results/<date>.json,
<date>.md and the plots. bench/README.md says what each scenario does.
"""

import argparse
import contextlib
import datetime
import json
import multiprocessing
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

ROOT = Path(__file__).resolve().parents[1]
# Run as a script: the harness's own modules, and the process helpers it shares with the tests.
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
import loadgen  # noqa: E402
import report  # noqa: E402

from tests.processes import python_process, terminate, wait_for_port  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LOGS = RESULTS / "logs"
PG = "postgres://postgres@127.0.0.1:5432"
DB = "chat_bench"
CDF_PERCENTILES = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 100]
SPAWN = multiprocessing.get_context("spawn")
# Another application object can be measured against ours, e.g. before and after a change.
APPLICATION = os.environ.get("BENCH_APPLICATION", "chatproject.asgi:application")
# What "sustained" means in the fan-out scenario: every delivery, in order, p99 within this.
SUSTAINED_P99_MS = 100.0
SCENARIOS = {1, 2, 3, 4, 5, 6, 7, 8}
# The ways a client comes up to date in the catch-up scenario, each run once per round.
CATCH_UP_WAYS = ("socket", "rest", "full")
# Where the servers store uploads (ATTACHMENT_ROOT): a temporary directory of the run's own, made
# and removed by main(), never the repository's var/attachments.
attachment_root: Path | None = None
# Scenario 8's file: just under ATTACHMENT_MAX_BYTES (25 MiB), random bytes (no image).
UPLOAD_BYTES = 25 * 1024 * 1024 - 1024
MIB = 1024 * 1024


def bench_env() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatproject.settings",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdef0123456789abcdef",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"{PG}/{DB}",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7"),
        "CELERY_BROKER_URL": os.environ.get(
            "BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"
        ),
        "ACCESS_TOKEN_SECONDS": "7200",
        "THROTTLE_MESSAGE_SEND": "1000000/min",
        "THROTTLE_READ": "1000000/min",
        "THROTTLE_REACTION": "1000000/min",
        # Each upload is by a user of its own all the same; a run right after another must not
        # meet the previous run's counts (user ids start again in a fresh database).
        "THROTTLE_UPLOAD": "1000000/hour",
        "WS_MESSAGE_RATE": "100000,100000",
        "WS_FRAME_RATE": "100000,100000",
        "LOG_LEVEL": "WARNING",
        **({"ATTACHMENT_ROOT": str(attachment_root)} if attachment_root else {}),
    }


def run(args: list[str], **kwargs: Any) -> str:
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)  # noqa: S603
    if done.returncode:
        sys.stderr.write(done.stderr)
        done.check_returncode()
    return done.stdout


def seed(*args: str) -> dict[str, Any]:
    output = run([sys.executable, "bench/seed.py", *args], cwd=ROOT, env=bench_env())
    return dict(json.loads(output))


def database_fresh() -> None:
    run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", DB])
    run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB])
    run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=bench_env())


def start(args: list[str], port: int | None = None) -> subprocess.Popen[bytes]:
    """A server or worker process; its output goes to bench/results/logs/<name>.log."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{args[0]}-{port or 'worker'}.log"
    process = python_process(args, bench_env(), log.open("a"))
    if port is not None:
        wait_for_port(port)
    return process


SERVER_COMMANDS = {
    # As the Procfile runs it.
    "daphne": [
        "daphne",
        "-e",
        "tcp:port={port}:interface=127.0.0.1:backlog=4096",
        "--websocket-max-message-size",
        "65536",
    ],
    # uvicorn's fastest configuration: uvloop, httptools, and the websockets implementation.
    "uvicorn": [
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--backlog",
        "4096",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--ws",
        "websockets",
        "--ws-max-size",
        "65536",
        "--ws-per-message-deflate",
        "false",
        "--no-access-log",
        "--log-level",
        "warning",
    ],
}


class Servers:
    """Server processes listening on `ports`, with the memory and CPU they use."""

    def __init__(self, processes: list[subprocess.Popen[bytes]], ports: list[int], ws_path: str):
        self.processes, self.ports = processes, ports
        self.urls = [f"ws://127.0.0.1:{port}{ws_path}" for port in ports]

    def rss_mib(self) -> float:
        return sum(status_kib(process.pid, "VmRSS") for process in self.processes) / 1024

    def wait_idle(self, timeout: float = 300) -> float:
        """Waits until the servers use under a quarter of a core (what thousands of idle sockets'
        heartbeats and pings cost stays below it): sockets that connect set off presence events
        to every member of their chats (for 1,000 members, a million frames), which must not
        count as the load under measurement. Returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            before = self.cpu_seconds()
            time.sleep(1)
            if self.cpu_seconds() - before < 0.25:
                break
        return time.monotonic() - started

    def cpu_seconds(self) -> float:
        """User and system CPU of the server processes so far: CPU per delivery or request is
        the figure a busy machine (or a busy load generator) disturbs least."""
        return sum(cpu_ticks(process.pid) for process in self.processes) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, field: str) -> int:
    """A field of /proc/<pid>/status in KiB: VmRSS (resident now), VmHWM (its peak so far)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


class MemoryPeak:
    """Samples the resident memory (VmRSS) of processes every `interval` seconds in a thread
    while the block runs: the peak of each, and of their sum at one instant."""

    def __init__(self, pids: list[int], interval: float = 0.02) -> None:
        self.pids, self.interval = pids, interval
        self.peak_kib = dict.fromkeys(pids, 0)
        self.peak_total_kib = self.samples = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while not self.stopped.is_set():
            now = {pid: status_kib(pid, "VmRSS") for pid in self.pids}
            for pid, kib in now.items():
                self.peak_kib[pid] = max(self.peak_kib[pid], kib)
            self.peak_total_kib = max(self.peak_total_kib, sum(now.values()))
            self.samples += 1
            self.stopped.wait(self.interval)

    def __enter__(self) -> "MemoryPeak":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


def cpu_ticks(pid: int) -> int:
    """A process's user and system CPU so far, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def database_cpu() -> dict[int, int]:
    """Each of this machine's PostgreSQL processes' user and system CPU so far, in clock ticks,
    by pid: a request's queries run there, not in the server process."""
    ticks = {}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                ticks[int(comm.parent.name)] = cpu_ticks(int(comm.parent.name))
        except OSError:  # the process ended since the listing
            continue
    return ticks


def database_cpu_seconds_since(before: dict[int, int]) -> float:
    """The CPU PostgreSQL used since `before` was read. A process that ended in between is left
    out (summing totals, an autovacuum worker that ended would count as negative CPU); one that
    started counts in full. Anything else using the database shows in it too."""
    after = database_cpu()
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) / os.sysconf(
        "SC_CLK_TCK"
    )


class Stack(Servers):
    """Server processes of one kind on consecutive ports, and a Celery worker."""

    def __init__(self, kind: str, count: int) -> None:
        self.kind = kind
        ports = [18100 + n for n in range(count)]
        command = SERVER_COMMANDS[kind]
        servers = [
            start([arg.format(port=port) for arg in command] + [APPLICATION], port)
            for port in ports
        ]
        super().__init__(servers, ports, "/ws/")
        self.worker = start(
            ["celery", "-A", "chatproject", "worker", "--concurrency", "1", "--loglevel", "WARNING"]
        )

    def stop(self) -> None:
        for process in [*self.processes, self.worker]:
            terminate(process)


def spawn(target: Any, *args: Any) -> Any:
    process = SPAWN.Process(target=target, args=args)
    process.start()
    return process


def collect(out: Any, count: int, timeout: float, processes: list[Any]) -> list[dict[str, Any]]:
    """Every process's result, or fewer if some never finished (the server fell behind)."""
    results = []
    deadline = time.monotonic() + timeout
    try:
        for _ in range(count):
            results.append(out.get(timeout=max(1.0, deadline - time.monotonic())))
    except queue.Empty:
        pass
    for process in processes:
        process.join(10)
        if process.is_alive():
            process.kill()
    return results


def latency_summary(histogram: HdrHistogram) -> dict[str, Any]:
    return {
        "p50": histogram.get_value_at_percentile(50) / 1000,
        "p99": histogram.get_value_at_percentile(99) / 1000,
        "max": histogram.get_max_value() / 1000,
        "cdf": [[p, histogram.get_value_at_percentile(p) / 1000] for p in CDF_PERCENTILES],
    }


def deliveries(
    servers: Servers,
    chats: list[dict[str, Any]],
    rate_per_chat: float,
    seconds: float,
    receiver_processes: int = 2,
) -> dict[str, Any]:
    """The first member of each chat posts at `rate_per_chat` with `message.send`; every other
    member's socket, spread over the servers and the receiver processes, times each delivery."""
    urls = servers.urls
    count = max(1, int(rate_per_chat * seconds))
    sockets = [(token, count) for chat in chats for token in chat["tokens"][1:]]
    out = SPAWN.Queue()
    ready = [SPAWN.Event() for _ in range(receiver_processes)]
    processes = [
        spawn(loadgen.receivers, urls[n % len(urls)], sockets[n::receiver_processes], ready[n], out)
        for n in range(receiver_processes)
    ]
    for event in ready:
        event.wait(300)
    settle_seconds = servers.wait_idle()
    all_ready = SPAWN.Event()
    all_ready.set()
    sender_processes = min(2, len(chats))
    jobs = [(chat["tokens"][0], chat["chat_id"]) for chat in chats]
    processes += [
        spawn(
            loadgen.senders,
            urls[n % len(urls)],
            jobs[n::sender_processes],
            rate_per_chat,
            count,
            all_ready,
            out,
        )
        for n in range(sender_processes)
    ]
    cpu_start = servers.cpu_seconds()
    results = collect(out, len(processes), seconds + 180, processes)
    server_cpu = servers.cpu_seconds() - cpu_start
    offered = rate_per_chat * len(chats)
    row: dict[str, Any] = {"members": len(chats[0]["tokens"]), "chats": len(chats)}
    row["rate_msgs_per_s"] = offered
    if len(results) < len(processes):
        return {**row, "error": "the load generator did not finish: the server fell behind"}
    delivered, acks = HdrHistogram(*loadgen.HISTOGRAM_RANGE), HdrHistogram(*loadgen.HISTOGRAM_RANGE)
    received = out_of_order = errors = failed_sockets = 0
    socket_errors: set[str] = set()
    cpu = 0.0
    for result in results:
        cpu += result["cpu_seconds"]
        if "acks" in result:
            acks.add(HdrHistogram.decode(result["acks"]))
            errors += result["errors"]
        else:
            delivered.add(HdrHistogram.decode(result["histogram"]))
            received += result["received"]
            out_of_order += result["out_of_order"]
            failed_sockets += result["failed_sockets"]
            socket_errors.update(result["errors"])
    expected = sum(n for _, n in sockets)
    first_scheduled = min(r["first_scheduled"] for r in results if "first_scheduled" in r)
    last_arrival = max(r["last_arrival"] for r in results if "last_arrival" in r)
    latency = latency_summary(delivered)
    row |= {
        "sent": count * len(chats),
        "send_errors": errors,
        "deliveries_expected": expected,
        "deliveries": received,
        "lost": expected - received,
        "out_of_order": out_of_order,
        "receivers_failed": failed_sockets,
        "receiver_errors": sorted(socket_errors)[:5],
        "offered_deliveries_per_s": round(offered * (row["members"] - 1)),
        # From the first scheduled send to the last arrival: what the server really delivered.
        "delivered_per_s": round(received / max(0.001, last_arrival - first_scheduled)),
        "latency_ms": latency,
        "ack_ms": latency_summary(acks),
        "load_generator_cpu_s_per_s": round(cpu / seconds, 2),
        "server_cpu_ms_per_delivery": round(1000 * server_cpu / max(1, received), 3),
        "seconds_to_settle_after_connecting": round(settle_seconds, 1),
    }
    row["sustained"] = (
        row["lost"] == 0
        and out_of_order == 0
        and errors == 0
        and latency["p99"] <= SUSTAINED_P99_MS
    )
    return row


def fanout_rates(servers: Servers, chat: dict[str, Any], rates: list[float], seconds: float) -> Any:
    """Rising rates until one falls well behind: higher ones would only take longer to fail."""
    rows = []
    for rate in rates:
        row = deliveries(servers, [chat], rate, seconds)
        rows.append(row)
        if "error" in row or row["latency_ms"]["p50"] > 10 * SUSTAINED_P99_MS:
            break
    return rows


# How many members of the chat write in the busy-chat scenario; the others hold sockets that count.
BUSY_WRITERS = 20


def busy_chat_writes(
    servers: Servers, chat: dict[str, Any], rates: list[float], seconds: float
) -> list[dict[str, Any]]:
    """Reactions and read markers, the most frequent writes in a busy chat: BUSY_WRITERS members
    of a 100-member chat toggle a 👍 and move their read marker at a rising total rate, over
    REST, while the other members' sockets count the `reaction` and `read` events. Each row: the
    writes' latency from when they were due, the events delivered, and the servers' CPU per write
    (its fan-out included)."""
    writers = [(token, chat["chat_id"]) for token in chat["tokens"][1 : BUSY_WRITERS + 1]]
    counters = chat["tokens"][BUSY_WRITERS + 1 :]
    rows, read_from = [], 0
    for rate in rates:
        per_member = rate / len(writers)
        count = max(2, int(per_member * seconds))
        out, ready = SPAWN.Queue(), SPAWN.Event()
        expected = count * len(writers)
        processes = [spawn(loadgen.event_counts, servers.urls[0], counters, expected, ready, out)]
        ready.wait(300)
        servers.wait_idle()
        cpu_start = servers.cpu_seconds()
        processes += [
            spawn(
                loadgen.busy_writes,
                servers.ports[n % len(servers.ports)],
                writers[n::2],
                per_member,
                count,
                read_from,
                ready,
                out,
            )
            for n in range(2)
        ]
        results = collect(out, len(processes), seconds + 120, processes)
        server_cpu = servers.cpu_seconds() - cpu_start
        read_from += count // 2 + 1
        row: dict[str, Any] = {"rate_writes_per_s": rate, "writers": len(writers)}
        if len(results) < len(processes):
            rows.append({**row, "error": "the load generator did not finish"})
            break
        counted = next(result for result in results if "received" in result)
        written = [result for result in results if "latency" in result]
        latency = HdrHistogram(*loadgen.HISTOGRAM_RANGE)
        statuses: dict[str, int] = {}
        for result in written:
            latency.add(HdrHistogram.decode(result["latency"]))
            for status, n in result["statuses"].items():
                statuses[str(status)] = statuses.get(str(status), 0) + n
        first = min(result["first_scheduled"] for result in written)
        row |= {
            "writes": expected,
            "statuses": statuses,
            "latency_ms": latency_summary(latency),
            "events_expected": expected * len(counters),
            "events_delivered": counted["received"],
            "failed_sockets": counted["failed_sockets"],
            "drained_s": round(counted["last_arrival"] - first - seconds, 2),
            "deliveries_per_s": round(counted["received"] / seconds),
            "server_cpu_ms_per_write": round(server_cpu * 1000 / expected, 2),
        }
        rows.append(row)
        if row["latency_ms"]["p50"] > 10 * SUSTAINED_P99_MS:
            break
    return rows


def ingest(
    servers: Servers, chats: list[dict[str, Any]], rates: list[float], seconds: float
) -> Any:
    rows = []
    for rate in rates:
        row = deliveries(servers, chats, rate / len(chats), seconds)
        if "error" not in row:
            row["acked_msgs_per_s"] = round(row["sent"] / seconds)
        rows.append(row)
        if "error" in row or row["ack_ms"]["p50"] > 1000:
            break
    return rows


def history(
    servers: Servers, token: str, chat_id: int, before: int | None, rate: float, seconds: float
) -> dict[str, Any]:
    path = f"/api/chats/{chat_id}/messages/?limit=50" + (f"&before={before}" if before else "")
    count = int(rate * seconds)
    out = SPAWN.Queue()
    clients = 2
    processes = [
        spawn(
            loadgen.http_gets,
            servers.ports[n % len(servers.ports)],
            token,
            path,
            rate / clients,
            count // 2,
            16,
            out,
        )
        for n in range(clients)
    ]
    cpu_start = servers.cpu_seconds()
    results = collect(out, clients, seconds + 120, processes)
    server_cpu = servers.cpu_seconds() - cpu_start
    row: dict[str, Any] = {"before": before, "rate_req_per_s": rate}
    if len(results) < clients:
        return {**row, "error": "the load generator did not finish"}
    latency = HdrHistogram(*loadgen.HISTOGRAM_RANGE)
    statuses: dict[str, int] = {}
    for result in results:
        latency.add(HdrHistogram.decode(result["latency"]))
        for status, n in result["statuses"].items():
            statuses[str(status)] = statuses.get(str(status), 0) + n
    elapsed = max(result["elapsed_s"] for result in results)
    return row | {
        "requests": latency.get_total_count(),
        "statuses": statuses,
        "achieved_req_per_s": round(latency.get_total_count() / elapsed),
        "latency_ms": latency_summary(latency),
        "load_generator_cpu_s_per_s": round(sum(r["cpu_seconds"] for r in results) / elapsed, 2),
        "server_cpu_ms_per_request": round(
            1000 * server_cpu / max(1, latency.get_total_count()), 2
        ),
    }


def connections(
    stack: Stack, sockets: int, storm_clients: int, tag: str = "idle"
) -> dict[str, Any]:
    """`sockets` idle authenticated sockets in chats of 10, then the first `storm_clients` of them
    drop at once, miss messages, and reconnect together, each syncing from the seq it had. `tag`
    names the seeded users, new for each call."""
    seeded = seed("chats", str(sockets // 10), "10", tag)["chats"]
    storm_chats = seeded[: storm_clients // 10]
    held = seed("post", *(str(chat["chat_id"]) for chat in storm_chats))["last_seq"]
    tokens = [token for chat in seeded for token in chat["tokens"]]
    processes_count = 4
    share = len(tokens) // processes_count
    baseline = stack.rss_mib()
    out = SPAWN.Queue()
    plans = [SPAWN.Queue() for _ in range(processes_count)]
    ready = [SPAWN.Event() for _ in range(processes_count)]
    release = SPAWN.Event()
    started = time.time()
    processes = [
        spawn(
            loadgen.idle_sockets,
            stack.urls[n % len(stack.urls)],
            tokens[n * share : (n + 1) * share],
            ready[n],
            release,
            plans[n],
            out,
        )
        for n in range(processes_count)
    ]
    for event in ready:
        event.wait(600)
    connect_seconds = time.time() - started
    stack.wait_idle()  # the presence fan-out of the connects, before reading memory
    loaded = stack.rss_mib()
    release.set()
    time.sleep(3)  # every socket closed: the messages below are missed, not delivered live
    newest = seed("post", *(str(chat["chat_id"]) for chat in storm_chats))["last_seq"]
    plan = {
        token: {chat["chat_id"]: (held[str(chat["chat_id"])], newest[str(chat["chat_id"])])}
        for chat in storm_chats
        for token in chat["tokens"]
    }
    for n, queue_ in enumerate(plans):
        queue_.put(
            {token: plan[token] for token in tokens[n * share : (n + 1) * share] if token in plan}
        )
    results = collect(out, processes_count, 300, processes)
    storms = [result["storm"] for result in results if "storm" in result]
    row: dict[str, Any] = {
        "sockets": sockets,
        "connected": sum(result["connected"] for result in results),
        "connect_failed": sum(result["failed"] for result in results),
        "connect_seconds": round(connect_seconds, 1),
        "connect_errors": sorted({e for result in results for e in result.get("errors", [])})[:5],
        "server_rss_mib_before": round(baseline),
        "server_rss_mib_loaded": round(loaded),
        "kib_per_socket": round((loaded - baseline) * 1024 / sockets, 1),
        "storm_clients": sum(storm["clients"] for storm in storms),
        "storm_settled": sum(storm["settled"] for storm in storms),
        "storm_failed": sum(storm["failed"] for storm in storms),
        "storm_missing_messages": sum(storm["missing_messages"] for storm in storms),
        "storm_errors": sorted({e for storm in storms for e in storm["errors"]})[:5],
        "load_generator_cpu_s": round(sum(result["cpu_seconds"] for result in results), 1),
    }
    if storms:
        row["storm_settle_seconds"] = round(
            max(s["last_settled"] for s in storms) - min(s["started"] for s in storms), 2
        )
    return row


def catch_up(stack: Stack, changes: int, history_count: int, rounds: int) -> dict[str, Any]:
    """A member who saw none of a group's last `changes` changes (posts, edits, deletes, read
    markers, members added, removed and changing role, through the services) comes up to date,
    one client at a time: by `sync` on its socket, by the REST changes pages, and, for
    comparison, by loading the chat afresh (the chat, every history page, every members page).
    Each way runs once per round, in turn, after warm-up rounds; the server's and PostgreSQL's
    CPU is read around each run."""
    seeded = seed("catch-up", "200", str(history_count), str(changes), "catch-up")
    # The server process the client talks to, whose CPU is the run's.
    server = Servers(stack.processes[:1], stack.ports[:1], "/ws/")
    ways, out = SPAWN.Queue(), SPAWN.Queue()
    client = spawn(
        loadgen.catch_ups,
        server.urls[0],
        server.ports[0],
        seeded["token"],
        seeded["chat_id"],
        seeded["since_version"],
        ways,
        out,
    )
    server.wait_idle()
    warmup = 3  # the first runs fill caches (PostgreSQL's buffers, the server's imports)
    runs: dict[str, list[dict[str, Any]]] = {way: [] for way in CATCH_UP_WAYS}
    try:
        for round_ in range(warmup + rounds):
            for way in CATCH_UP_WAYS:
                server_cpu, database_cpu_before = server.cpu_seconds(), database_cpu()
                ways.put(way)
                result = out.get(timeout=300)
                result["server_cpu_s"] = server.cpu_seconds() - server_cpu
                result["database_cpu_s"] = database_cpu_seconds_since(database_cpu_before)
                if round_ >= warmup:
                    runs[way].append(result)
    finally:
        ways.put(None)
        client.join(30)
        if client.is_alive():
            client.kill()
    owed = seeded["owed"]
    expected = {
        "socket": {"version": seeded["version"], **owed},
        "rest": {"version": seeded["version"], **owed},
        "full": {
            "version": seeded["version"],
            "messages": seeded["last_seq"],
            "last_seq": seeded["last_seq"],
            "members": seeded["members"],
        },
    }
    row: dict[str, Any] = {key: seeded[key] for key in ("changes", "owed", "members", "last_seq")}
    row |= {
        "changes_behind": changes,
        "seed_seconds": seeded["seed_seconds"],
        "rounds": rounds,
        "warmup_rounds": warmup,
    }
    for way, results in runs.items():
        latency = HdrHistogram(*loadgen.HISTOGRAM_RANGE)
        complete = 0
        errors: set[str] = set()
        for result in results:
            if "error" in result:
                errors.add(result["error"])
                continue
            latency.record_value(max(1, int(result["seconds"] * 1e6)))
            # Brought exactly what the feed owed, or loaded the chat as it is: a fast answer
            # that left something out would otherwise pass for a good one.
            complete += all(result[key] == value for key, value in expected[way].items())
        good = [result for result in results if "error" not in result]
        row[way] = {
            "runs": len(results),
            "complete": complete,
            "errors": sorted(errors)[:5],
            "requests": good[0]["requests"] if good else None,
            "latency_ms": latency_summary(latency),
            "server_cpu_ms": round(
                1000 * sum(r["server_cpu_s"] for r in good) / max(1, len(good)), 1
            ),
            "database_cpu_ms": round(
                1000 * sum(r["database_cpu_s"] for r in good) / max(1, len(good)), 1
            ),
        }
    return row


def uploads(stack: Stack, count: int) -> dict[str, Any]:
    """`count` users of one chat each upload a file of UPLOAD_BYTES at the same instant, spread
    over the server processes, one client process per server streaming its share of the bodies.
    The servers' resident memory is sampled throughout (and their VmHWM read before and after):
    a server that streams uploads to disk holds a buffer per upload, not the file. Then the
    ceiling: the same bytes written to the same directory, without the server."""
    assert attachment_root is not None  # noqa: S101 - main() makes it before any scenario
    seeded = seed("chats", "1", str(count), "uploads")["chats"][0]
    jobs = [(token, seeded["chat_id"]) for token in seeded["tokens"]]
    clients = min(count, len(stack.ports))
    out = SPAWN.Queue()
    ready = [SPAWN.Event() for _ in range(clients)]
    go = [SPAWN.Queue() for _ in range(clients)]
    processes = [
        spawn(loadgen.uploads, stack.ports[n], jobs[n::clients], UPLOAD_BYTES, ready[n], go[n], out)
        for n in range(clients)
    ]
    for event in ready:
        event.wait(120)
    os.sync()  # nothing written before (the seeding) is flushed during the uploads
    stack.wait_idle()
    pids = [process.pid for process in stack.processes]
    before = {pid: status_kib(pid, "VmRSS") for pid in pids}
    hwm_before = {pid: status_kib(pid, "VmHWM") for pid in pids}
    cpu_start = stack.cpu_seconds()
    with MemoryPeak(pids) as peak:
        start = time.time() + 0.5
        for queue_ in go:
            queue_.put(start)
        results = collect(out, clients, 900, processes)
    server_cpu = stack.cpu_seconds() - cpu_start
    hwm_after = {pid: status_kib(pid, "VmHWM") for pid in pids}
    stack.wait_idle()
    after = {pid: status_kib(pid, "VmRSS") for pid in pids}
    done = [upload for result in results for upload in result["uploads"]]
    good = [u for u in done if u.get("status") == 201 and u.get("size") == UPLOAD_BYTES]
    statuses: dict[str, int] = {}
    for upload in done:
        key = str(upload.get("status", "failed"))
        statuses[key] = statuses.get(key, 0) + 1
    # The store keeps a chat's files under its id; they go once counted (a run's second kind of
    # server, on a fresh database, makes a chat of the same id).
    chat_files = attachment_root / str(seeded["chat_id"])
    stored = [path.stat().st_size for path in chat_files.glob("*") if path.is_file()]
    seconds = sorted(u["seconds"] for u in good)
    sent = sorted(u["sent_s"] for u in good)
    wall = max(seconds) if seconds else None
    # A process's peak: what the sampler saw, or its VmHWM if that rose past it in between.
    peak_kib = {
        pid: max(peak.peak_kib[pid], hwm_after[pid] if hwm_after[pid] > hwm_before[pid] else 0)
        for pid in pids
    }
    peak_total_kib = max(peak.peak_total_kib, sum(before.values()))
    row: dict[str, Any] = {
        "uploads": count,
        "bytes_each": UPLOAD_BYTES,
        "server_processes": len(pids),
        "client_processes": clients,
        "statuses": statuses,
        "complete": len(good),
        "errors": sorted({u["error"] for u in done if "error" in u})[:5],
        "stored_files": len(stored),
        "stored_files_of_the_right_size": sum(size == UPLOAD_BYTES for size in stored),
        "seconds_all": round(wall, 2) if wall else None,
        "mib_per_s": round(len(good) * UPLOAD_BYTES / MIB / wall, 1) if wall else None,
        "upload_seconds": {
            "p50": round(seconds[len(seconds) // 2], 2) if seconds else None,
            "min": round(seconds[0], 2) if seconds else None,
            "max": round(seconds[-1], 2) if seconds else None,
        },
        # When the client had written the whole body: the server takes it as fast as it comes,
        # and answers once it has parsed and stored it.
        "body_sent_seconds": {
            "p50": round(sent[len(sent) // 2], 2) if sent else None,
            "max": round(sent[-1], 2) if sent else None,
        },
        "server_rss_mib": {
            "before": round(sum(before.values()) / 1024, 1),
            "peak": round(peak_total_kib / 1024, 1),
            "after": round(sum(after.values()) / 1024, 1),
            "per_process_before": [round(before[pid] / 1024, 1) for pid in pids],
            "per_process_peak": [round(peak_kib[pid] / 1024, 1) for pid in pids],
            "per_process_after": [round(after[pid] / 1024, 1) for pid in pids],
            "per_process_hwm_before": [round(hwm_before[pid] / 1024, 1) for pid in pids],
            "per_process_hwm_after": [round(hwm_after[pid] / 1024, 1) for pid in pids],
            "samples": peak.samples,
        },
        "rss_growth_mib_per_upload": round(
            (peak_total_kib - sum(before.values())) / 1024 / count, 2
        ),
        "rss_kept_mib_after": round((sum(after.values()) - sum(before.values())) / 1024, 1),
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_ms_per_mib": round(
            1000 * server_cpu / max(1.0, len(good) * UPLOAD_BYTES / MIB), 2
        ),
        "load_generator_cpu_s": round(sum(result["cpu_seconds"] for result in results), 2),
    }
    row["disk_ceiling"] = ceiling_disk(attachment_root / "ceiling", count, UPLOAD_BYTES)
    shutil.rmtree(chat_files, ignore_errors=True)
    return row


def ceiling_disk(directory: Path, count: int, size: int) -> dict[str, float]:
    """The same bytes as the uploads (`count` files of `size`) written into the same file system
    in 1 MiB writes, one file after another, without the server: the time to hand them to the
    page cache (what the server does: neither daphne nor Django syncs an upload), and with every
    file fsynced (to the disk itself). The files go again afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    block = os.urandom(MIB)
    os.sync()
    started = time.perf_counter()
    paths = []
    for n in range(count):
        path = directory / f"file-{n}"
        with path.open("wb") as file:
            for offset in range(0, size, MIB):
                file.write(block[: min(MIB, size - offset)])
        paths.append(path)
    written = time.perf_counter() - started
    for path in paths:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    synced = time.perf_counter() - started
    shutil.rmtree(directory)
    total_mib = count * size / MIB
    return {
        "mib": round(total_mib, 1),
        "page_cache_seconds": round(written, 2),
        "page_cache_mib_per_s": round(total_mib / written),
        "fsynced_seconds": round(synced, 2),
        "fsynced_mib_per_s": round(total_mib / synced),
    }


@contextlib.contextmanager
def profiled(stack: Stack, seconds: int, name: str) -> Iterator[None]:
    """py-spy samples the first server process while the block runs; the collapsed stacks land
    in bench/results/profile-<name>.txt and the hottest functions in the report."""
    target = RESULTS / f"profile-{name}.txt"
    recorder = subprocess.Popen(  # noqa: S603
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--format",
            "raw",
            "--nonblocking",
            "--gil",  # only the thread holding the GIL: where the CPU goes, not where it waits
            "--rate",
            "200",
            "--duration",
            str(seconds),
            "--pid",
            str(stack.processes[0].pid),
            "--output",
            str(target),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        recorder.wait(seconds + 30)


def ceiling_redis() -> dict[str, float]:
    """redis-benchmark's SET, and PUBLISH (not one of its -t tests, so run as a command)."""
    rates = {}
    for name, command in (("set", ["-t", "set"]), ("publish", ["publish", "bench", "hello"])):
        output = run(["redis-benchmark", "-h", "127.0.0.1", "-q", "-n", "100000", *command])
        match = re.search(r"([\d.]+) requests per second", output.replace("\r", "\n"))
        rates[name] = float(match.group(1)) if match else 0.0
    return rates


def ceiling_postgres(seconds: int) -> dict[str, float]:
    """Single-row INSERT commits: pgbench with bench/insert.sql over 4 clients, and a psycopg2
    loop of INSERT and COMMIT on one connection, the path one Django request takes."""
    import psycopg2

    table = (
        "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, chat bigint, body text)"
    )
    run(["psql", "-h", "127.0.0.1", "-U", "postgres", DB, "-c", table])
    output = run(
        ["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-n", "-c", "4", "-j", "2"]
        + ["-T", str(seconds), "-f", str(ROOT / "bench" / "insert.sql"), DB]
    )
    match = re.search(r"tps = ([\d.]+)", output)
    connection = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=DB)
    commits = 0
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("INSERT INTO bench_insert (chat, body) VALUES (1, 'hello')")
            connection.commit()
            commits += 1
    connection.close()
    return {
        "pgbench_insert_commits_per_s": float(match.group(1)) if match else 0.0,
        "psycopg2_insert_commits_per_s": round(commits / seconds),
    }


def transport_ceiling(rates: list[float], seconds: float) -> list[dict[str, Any]]:
    port = 18200
    bare = subprocess.Popen([sys.executable, "bench/bare_ws.py", str(port)], cwd=ROOT)  # noqa: S603
    try:
        wait_for_port(port)
        chat = {"chat_id": 1, "tokens": ["x"] * 100}
        return fanout_rates(Servers([bare], [port], "/"), chat, rates, seconds)
    finally:
        terminate(bare)


def server_scenarios(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Scenarios 1 to 4, 7 and 8 (and 5 and 6 on daphne) on two server processes of one kind."""
    quick, only = args.quick, args.only
    seconds = 3.0 if quick else 8.0
    results: dict[str, Any] = {"server": kind}
    database_fresh()
    stack = Stack(kind, args.servers)
    try:
        chat100 = seed("chats", "1", "100", "f100")["chats"][0]
        if {1, 2} & only:
            rates = [5.0, 20.0, 50.0]
            if not quick:
                rates = [5.0, 10.0, 20.0, 40.0, 60.0, 80.0, 120.0, 160.0]
            results["fanout_100"] = fanout_rates(stack, chat100, rates, seconds)
            best = report.capacity(results["fanout_100"])
            half = (best["rate_msgs_per_s"] if best else rates[0]) / 2
            results["half_load_100"] = deliveries(stack, [chat100], half, seconds * 2)
        if 1 in only and not quick and kind == "daphne":
            chat1000 = seed("chats", "1", "1000", "f1000")["chats"][0]
            results["fanout_1000"] = fanout_rates(stack, chat1000, [1.0, 2.0, 5.0], seconds)
        if 7 in only:
            seed("history", str(chat100["chat_id"]), "2000")  # for read markers to move through
            rates = [100.0, 200.0] if quick else [100.0, 200.0, 400.0, 800.0]
            results["busy_chat_writes"] = busy_chat_writes(stack, chat100, rates, seconds)
        chats = seed("chats", "20" if quick else "50", "10", "ingest")["chats"]
        if 3 in only:
            results["send_queries"] = seed("send-queries")["queries"]
            ingest_rates = [100.0, 300.0] if quick else [100.0, 250.0, 500.0, 1000.0]
            results["ingest"] = ingest(stack, chats, ingest_rates, seconds)
        if 4 in only:
            hist = seed("chats", "1", "2", "history")["chats"][0]
            newest = seed("history", str(hist["chat_id"]), str(100_000 if quick else 1_000_000))
            last = newest["last_seq"]
            results["history_messages"] = last
            results["history"] = [
                history(stack, hist["tokens"][0], hist["chat_id"], before, rate, seconds)
                for before in (None, last // 2, 100)
                for rate in ([200.0] if quick else [250.0, 500.0])
            ]
        # Before the connections, one client at a time on a quiet server: run after them, it
        # timed what their 10,000 sockets left behind too (p99 twice that of a run alone), and
        # run first it leaves them as they were (both measured, bench/README.md).
        if 6 in only and kind == "daphne":
            results["catch_up"] = catch_up(
                stack,
                changes=2_000 if quick else 10_000,
                history_count=2_000 if quick else 10_000,
                rounds=10 if quick else 40,
            )
        if 5 in only and kind == "daphne":
            sockets = 1000 if quick else 10_000
            results["connections"] = connections(stack, sockets, sockets // 2)
        if args.profile and kind == "daphne":
            with profiled(stack, 10, "fanout"):
                deliveries(stack, [chat100], 40.0, 10)
            with profiled(stack, 10, "ingest"):
                deliveries(stack, chats, 250.0 / len(chats), 10)
            profiles = ["fanout", "ingest"]
            if 4 in only:
                with profiled(stack, 8, "history"):
                    history(stack, hist["tokens"][0], hist["chat_id"], None, 250.0, 8)
                profiles.append("history")
            with profiled(stack, 20, "connect"):
                connections(stack, 2000, 1000, tag="idle-profile")
            profiles.append("connect")
            results["profiles"] = {
                name: report.profile_top(RESULTS / f"profile-{name}.txt") for name in profiles
            }
        if 8 in only:
            # Last, on server processes started afresh: the heap the uploads leave behind (glibc
            # keeps what daphne freed) held scenario 5's 1,000 sockets at 0 KiB each in a quick
            # run, and what earlier scenarios left would hide the uploads' growth the same way.
            stack.stop()
            stack = Stack(kind, args.servers)
            results["uploads"] = uploads(stack, 5 if quick else 20)
    finally:
        stack.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller, shorter, daphne only")
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--server", choices=["daphne", "uvicorn"], help="one kind only")
    parser.add_argument(
        "--only",
        type=lambda text: {int(n) for n in text.split(",")},
        default=SCENARIOS,
        help="scenario numbers, e.g. 3,4: prints their figures as JSON, writes no report",
    )
    parser.add_argument(
        "--no-profile", dest="profile", action="store_false", help="skip the py-spy profiles"
    )
    args = parser.parse_args()
    args.profile = args.profile and not args.quick
    global attachment_root
    attachment_root = Path(tempfile.mkdtemp(prefix="chat-bench-attachments-"))
    try:
        measure(args)
    finally:
        shutil.rmtree(attachment_root, ignore_errors=True)


def measure(args: argparse.Namespace) -> None:
    kinds = [args.server] if args.server else ["daphne"] if args.quick else ["daphne", "uvicorn"]
    if args.only != SCENARIOS:
        for kind in kinds:
            print(json.dumps(server_scenarios(kind, args), indent=2))
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(),
        "quick": args.quick,
        "cpus": os.cpu_count(),
    }
    seconds = 3.0 if args.quick else 8.0
    results["transport_ceiling_100"] = transport_ceiling(
        [50.0, 200.0] if args.quick else [50.0, 100.0, 200.0, 400.0, 800.0], seconds
    )
    results["ceilings"] = {"redis": ceiling_redis()}
    results["servers"] = {kind: server_scenarios(kind, args) for kind in kinds}
    results["ceilings"]["postgres"] = ceiling_postgres(3 if args.quick else 10)
    stamp = datetime.datetime.now(datetime.UTC).date().isoformat() + (
        "-quick" if args.quick else ""
    )
    (RESULTS / f"{stamp}.json").write_text(json.dumps(results, indent=2))
    report.plots(results, RESULTS, stamp)
    text = report.markdown(results, stamp)
    (RESULTS / f"{stamp}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
