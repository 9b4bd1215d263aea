"""RedisChannelLayer against RedisPubSubChannelLayer on our fan-out: one group of N sockets.

A receiver process holds N channels in one group, as one server process holds N sockets in a
chat. A sender process group_sends messages at a fixed rate (open loop) with the scheduled send
time in the payload. The report gives delivery latency from the scheduled time, and the CPU that
the sender, the receivers and Redis spent per delivered message.

    python bench/channel_layers.py --members 100 --rate 200 --seconds 5 [--redis redis://...]
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import time
from typing import Any

import redis
from loadgen import on_schedule

LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
GROUP = "bench.fanout"


def make_layer(kind: str, url: str) -> Any:
    module_name, class_name = LAYERS[kind].rsplit(".", 1)
    module = __import__(module_name, fromlist=[class_name])
    hosts = [{"address": url, "socket_timeout": 15}]
    if kind == "core":
        return getattr(module, class_name)(hosts=hosts, capacity=100_000, group_expiry=3600)
    return getattr(module, class_name)(hosts=hosts)


def receiver(kind: str, url: str, members: int, expected: int, ready: Any, results: Any) -> None:
    async def main() -> None:
        layer = make_layer(kind, url)
        channels = [await layer.new_channel() for _ in range(members)]
        for channel in channels:
            await layer.group_add(GROUP, channel)
        latencies: list[float] = []
        cpu_start = time.process_time()
        ready.set()

        async def drain(channel: str) -> None:
            for _ in range(expected):
                message = await layer.receive(channel)
                latencies.append(time.time() - message["scheduled"])

        await asyncio.wait_for(asyncio.gather(*(drain(c) for c in channels)), timeout=120)
        results.put({"latencies": latencies, "cpu": time.process_time() - cpu_start})
        for channel in channels:
            await layer.group_discard(GROUP, channel)

    asyncio.run(main())


def sender(kind: str, url: str, count: int, rate: float) -> float:
    async def main() -> float:
        layer = make_layer(kind, url)
        cpu_start = time.process_time()
        async for n, scheduled in on_schedule(time.time() + 0.2, rate, count):
            await layer.group_send(GROUP, {"type": "chat.event", "scheduled": scheduled, "n": n})
        return time.process_time() - cpu_start

    return asyncio.run(main())


def redis_cpu(url: str) -> float:
    info = redis.Redis.from_url(url).info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(kind: str, url: str, members: int, rate: float, seconds: float) -> dict[str, Any]:
    count = int(rate * seconds)
    context = multiprocessing.get_context("spawn")
    ready, results = context.Event(), context.Queue()
    process = context.Process(target=receiver, args=(kind, url, members, count, ready, results))
    process.start()
    ready.wait(60)
    redis_before = redis_cpu(url)
    sender_cpu = sender(kind, url, count, rate)
    outcome = results.get(timeout=180)
    redis_used = redis_cpu(url) - redis_before
    process.join(30)
    delivered = len(outcome["latencies"])
    per_message = 1e6 / delivered
    return {
        "layer": kind,
        "members": members,
        "rate_per_s": rate,
        "sent": count,
        "delivered": delivered,
        "deliveries_per_s": round(delivered / seconds),
        "latency_ms": {
            "p50": round(statistics.median(outcome["latencies"]) * 1000, 2),
            "p99": round(percentile(outcome["latencies"], 0.99) * 1000, 2),
            "max": round(max(outcome["latencies"]) * 1000, 2),
        },
        "cpu_us_per_delivery": {
            "sender": round(sender_cpu * per_message, 1),
            "receiver": round(outcome["cpu"] * per_message, 1),
            "redis": round(redis_used * per_message, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--members", type=int, nargs="+", default=[100])
    parser.add_argument("--rate", type=float, nargs="+", default=[50.0, 200.0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    rows = [
        run(kind, args.redis, members, rate, args.seconds)
        for members in args.members
        for rate in args.rate
        for kind in LAYERS
    ]
    print(json.dumps(rows, indent=2))
    print()
    print("| layer | members | msgs/s | deliveries/s | p50 ms | p99 ms | CPU µs/delivery *")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        cpu, lat = row["cpu_us_per_delivery"], row["latency_ms"]
        cells = [
            row["layer"],
            row["members"],
            f"{row['rate_per_s']:.0f}",
            row["deliveries_per_s"],
            lat["p50"],
            lat["p99"],
            f"{cpu['sender']} / {cpu['receiver']} / {cpu['redis']}",
        ]
        print("| " + " | ".join(str(cell) for cell in cells) + " |")
    print("\n* CPU: sender / receiving process / Redis")


if __name__ == "__main__":
    main()
