"""The benchmark harness: the full stack on this machine, open-loop load from separate processes,
and the machine's raw ceilings measured in the same run.

    python bench/run.py            # make bench
    python bench/run.py --quick    # make bench-quick

It needs PostgreSQL, Redis and RabbitMQ on 127.0.0.1 (as in CI), creates its own database
`chat_bench`, starts daphne processes and a Celery worker, and writes bench/results/<date>.json and
bench/results/<date>.md. What it measures so far: fan-out (one chat of N members, rising rates)
against the transport ceiling of a bare `websockets` broadcast server driven by the same load
generator, plus redis-benchmark and pgbench single-row INSERT commits. See bench/README.md.
"""

import argparse
import datetime
import json
import multiprocessing
import os
import queue
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PG = "postgres://postgres@127.0.0.1:5432"
CDF_PERCENTILES = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 100]
DB = "chat_bench"


def bench_env() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatproject.settings",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdef0123456789abcdef",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"{PG}/{DB}",
        "CONN_MAX_AGE": "60",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7"),
        "CELERY_BROKER_URL": os.environ.get(
            "BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"
        ),
        "ACCESS_TOKEN_SECONDS": "7200",
        "THROTTLE_MESSAGE_SEND": "1000000/min",
        "WS_MESSAGE_RATE": "100000,100000",
        "WS_FRAME_RATE": "100000,100000",
        "LOG_LEVEL": "WARNING",
    }


def run(args: list[str], **kwargs: Any) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs).stdout  # noqa: S603


def database_fresh() -> None:
    run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", DB])
    run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB])
    run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=bench_env())


def wait_for_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def start(args: list[str], port: int | None = None) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env=bench_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if port is not None:
        wait_for_port(port)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def seed(members: int, tag: str) -> dict[str, Any]:
    return dict(
        json.loads(
            run([sys.executable, "bench/seed.py", str(members), tag], cwd=ROOT, env=bench_env())
        )
    )


def fanout(
    urls: list[str], chat_id: int, tokens: list[str], rate: float, seconds: float
) -> dict[str, Any]:
    """One sender posts at `rate`; every member's socket (spread over the servers and over two
    receiver processes) times every message."""
    count = int(rate * seconds)
    receiving = tokens[1:]
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    groups = [receiving[i::2] for i in range(2)]
    processes, events = [], []
    for n, group in enumerate(groups):
        ready = context.Event()
        url = urls[n % len(urls)]
        process = context.Process(
            target=loadgen.receivers, args=(url, group, chat_id, count, ready, out)
        )
        process.start()
        processes.append(process)
        events.append(ready)
    for ready in events:
        ready.wait(60)
    sender = context.Process(
        target=loadgen.sender, args=(urls[0], tokens[0], chat_id, rate, count, out)
    )
    sender.start()
    try:
        results = [out.get(timeout=seconds + 120) for _ in range(len(processes) + 1)]
    except queue.Empty:
        results = []
    for process in [*processes, sender]:
        process.join(10)
        if process.is_alive():
            process.kill()
    if len(results) < len(processes) + 1:
        return {
            "members": len(tokens),
            "rate_msgs_per_s": rate,
            "error": "the load generator did not finish: the server fell behind",
        }
    histogram = HdrHistogram(*loadgen.HISTOGRAM_RANGE)
    received = out_of_order = 0
    load_cpu = 0.0
    ack = None
    for result in results:
        load_cpu += result["cpu_seconds"]
        if "acks" in result:
            ack = HdrHistogram.decode(result["acks"])
            continue
        histogram.add(HdrHistogram.decode(result["histogram"]))
        received += result["received"]
        out_of_order += result["out_of_order"]
    expected = count * len(receiving)
    return {
        "members": len(tokens),
        "rate_msgs_per_s": rate,
        "sent": count,
        "deliveries_expected": expected,
        "deliveries": received,
        "lost": expected - received,
        "out_of_order": out_of_order,
        "deliveries_per_s": round(received / seconds),
        "latency_ms": {
            "p50": histogram.get_value_at_percentile(50) / 1000,
            "p99": histogram.get_value_at_percentile(99) / 1000,
            "max": histogram.get_max_value() / 1000,
        },
        "ack_p99_ms": ack.get_value_at_percentile(99) / 1000 if ack else None,
        "cdf_ms": [
            [percentile, histogram.get_value_at_percentile(percentile) / 1000]
            for percentile in CDF_PERCENTILES
        ],
        "load_generator_cpu_s_per_s": round(load_cpu / seconds, 2),
    }


def ceiling_redis() -> dict[str, float]:
    """redis-benchmark's SET, and PUBLISH (not one of its -t tests, so run as a command)."""
    rates = {}
    for name, command in (("set", ["-t", "set"]), ("publish", ["publish", "bench", "hello"])):
        output = run(["redis-benchmark", "-h", "127.0.0.1", "-q", "-n", "100000", *command])
        match = re.search(r"([\d.]+) requests per second", output.replace("\r", "\n"))
        rates[name] = float(match.group(1)) if match else 0.0
    return rates


def ceiling_pgbench(seconds: int) -> dict[str, float]:
    script = ROOT / "bench" / "insert.sql"
    run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            DB,
            "-c",
            "CREATE TABLE IF NOT EXISTS bench_insert"
            " (id bigserial PRIMARY KEY, chat bigint, body text)",
        ]
    )
    output = run(
        [
            "pgbench",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-n",
            "-c",
            "4",
            "-j",
            "2",
            "-T",
            str(seconds),
            "-f",
            str(script),
            DB,
        ]
    )
    match = re.search(r"tps = ([\d.]+)", output)
    return {"single_row_insert_commits_per_s": float(match.group(1)) if match else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short runs, fewer rates")
    parser.add_argument("--servers", type=int, default=2)
    args = parser.parse_args()
    seconds = 3.0 if args.quick else 10.0
    rates = [20.0, 50.0] if args.quick else [20.0, 50.0, 100.0, 200.0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(),
        "quick": args.quick,
    }

    database_fresh()
    ports = [18100 + n for n in range(args.servers)]
    servers = [
        start(["daphne", "-b", "127.0.0.1", "-p", str(port), "chatproject.asgi:application"], port)
        for port in ports
    ]
    worker = start(
        ["celery", "-A", "chatproject", "worker", "--concurrency", "1", "--loglevel", "WARNING"]
    )
    try:
        urls = [f"ws://127.0.0.1:{port}/ws/" for port in ports]
        seeded = seed(100, "f100")
        report["fanout_100"] = [
            fanout(urls, seeded["chat_id"], seeded["tokens"], rate, seconds) for rate in rates
        ]
        if not args.quick:
            seeded = seed(1000, "f1000")
            report["fanout_1000"] = [
                fanout(urls, seeded["chat_id"], seeded["tokens"], rate, seconds)
                for rate in (2.0, 5.0, 10.0)
            ]
    finally:
        for process in [*servers, worker]:
            stop(process)

    bare_port = 18200
    bare = subprocess.Popen([sys.executable, "bench/bare_ws.py", str(bare_port)], cwd=ROOT)  # noqa: S603
    try:
        wait_for_port(bare_port)
        tokens = ["x"] * 100
        report["transport_ceiling_100"] = [
            fanout([f"ws://127.0.0.1:{bare_port}/"], 1, tokens, rate, seconds) for rate in rates
        ]
    finally:
        stop(bare)

    report["ceilings"] = {"redis": ceiling_redis(), "postgres": ceiling_pgbench(int(seconds))}
    stamp = datetime.datetime.now(datetime.UTC).date().isoformat()
    (RESULTS / f"{stamp}.json").write_text(json.dumps(report, indent=2))
    plots(report, stamp)
    (RESULTS / f"{stamp}.md").write_text(markdown(report, stamp))
    print(markdown(report, stamp))


def plots(report: dict[str, Any], stamp: str) -> None:
    """A latency CDF per offered rate, and delivered throughput against offered load, ours
    beside the bare-websockets ceiling."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4))
    for row in report["fanout_100"]:
        if "error" in row:
            continue
        points = row["cdf_ms"]
        axes.plot(
            [ms for _, ms in points],
            [p for p, _ in points],
            marker=".",
            label=f"{row['rate_msgs_per_s']:.0f} msg/s",
        )
    axes.set_xscale("log")
    axes.set_xlabel("send-to-delivery latency, ms (log)")
    axes.set_ylabel("percentile")
    axes.set_title("Fan-out to 100 members: latency CDF")
    axes.legend()
    figure.tight_layout()
    figure.savefig(RESULTS / f"{stamp}-latency-cdf.png", dpi=100)

    figure, axes = pyplot.subplots(figsize=(7, 4))
    for key, label in (("fanout_100", "chat server"), ("transport_ceiling_100", "bare websockets")):
        rows = [row for row in report[key] if "error" not in row]
        offered = [row["rate_msgs_per_s"] * (row["members"] - 1) for row in rows]
        axes.plot(offered, [row["deliveries_per_s"] for row in rows], marker="o", label=label)
    axes.set_xlabel("offered deliveries/s")
    axes.set_ylabel("delivered deliveries/s")
    axes.set_title("Fan-out to 100 members: throughput against load")
    axes.legend()
    figure.tight_layout()
    figure.savefig(RESULTS / f"{stamp}-throughput.png", dpi=100)
    pyplot.close("all")


def markdown(report: dict[str, Any], stamp: str) -> str:
    lines = [f"# Benchmark {report['date']}{' (quick)' if report['quick'] else ''}", ""]
    lines += ["## Fan-out: one chat of 100 members, beside the bare-websockets ceiling", ""]
    header = [
        "msgs/s",
        "deliveries/s",
        "lost",
        "out of order",
        "p50 ms",
        "p99 ms",
        "ack p99 ms",
        "load-gen CPU s/s",
        "ceiling deliveries/s",
        "ceiling p99 ms",
    ]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for ours, bare in zip(report["fanout_100"], report["transport_ceiling_100"], strict=True):
        if "error" in ours or "error" in bare:
            lines.append(
                f"| {ours['rate_msgs_per_s']:.0f} | {ours.get('error') or bare['error']} |"
            )
            continue
        cells = [
            f"{ours['rate_msgs_per_s']:.0f}",
            ours["deliveries_per_s"],
            ours["lost"],
            ours["out_of_order"],
            f"{ours['latency_ms']['p50']:.1f}",
            f"{ours['latency_ms']['p99']:.1f}",
            f"{ours['ack_p99_ms'] or 0:.1f}",
            ours["load_generator_cpu_s_per_s"],
            bare["deliveries_per_s"],
            f"{bare['latency_ms']['p99']:.1f}",
        ]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    for row in report.get("fanout_1000", []):
        if "error" in row:
            lines.append(f"\n1,000 members at {row['rate_msgs_per_s']:.0f} msg/s: {row['error']}")
            continue
        latency = row["latency_ms"]
        lines.append(
            f"\n1,000 members at {row['rate_msgs_per_s']:.0f} msg/s: {row['deliveries_per_s']} "
            f"deliveries/s, p50 {latency['p50']:.1f} ms, p99 {latency['p99']:.1f} ms, "
            f"lost {row['lost']}, out of order {row['out_of_order']}"
        )
    lines += [
        "",
        f"![latency CDF]({stamp}-latency-cdf.png)",
        f"![throughput]({stamp}-throughput.png)",
    ]
    redis, postgres = report["ceilings"]["redis"], report["ceilings"]["postgres"]
    inserts = postgres["single_row_insert_commits_per_s"]
    lines += ["", "## Raw ceilings of this machine (same run)", ""]
    lines += [f"- redis-benchmark SET: {redis.get('set', 0):,.0f}/s"]
    lines += [f"- redis-benchmark PUBLISH: {redis.get('publish', 0):,.0f}/s"]
    lines += [f"- pgbench single-row INSERT commits: {inserts:,.0f}/s"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
