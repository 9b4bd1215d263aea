"""Open-loop WebSocket load: one sender posts at a fixed schedule, receivers time every delivery.

Each message carries its *scheduled* send time in its text ("b:<epoch seconds>:<n>"), so latency
runs from when the message should have gone out to when it arrived: a slow server cannot hide its
slowness by slowing the sender down (no coordinated omission). Latencies go into an HdrHistogram.
Each process reports the CPU it used itself, so a saturated load generator is never mistaken for
a slow server.
"""

import asyncio
import json
import resource
import time
from typing import Any

from hdrh.histogram import HdrHistogram
from websockets.asyncio.client import connect

HISTOGRAM_RANGE = (1, 60_000_000, 3)  # microseconds, 1 µs to 60 s, 3 significant digits


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _receive(
    url: str, token: str, chat_id: int, expected: int, state: dict[str, Any]
) -> None:
    async with connect(url, subprotocols=["bearer", token], max_size=2**20) as ws:  # type: ignore[list-item]
        await ws.recv()  # hello
        state["ready"] += 1
        last_seq = received = 0
        while received < expected:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=state["idle_timeout"])
            except TimeoutError:
                return
            frame = json.loads(raw)
            if frame.get("type") != "message.new" or frame["chat_id"] != chat_id:
                continue
            message = frame["message"]
            parts = message["text"].split(":")
            if parts[0] != "b":
                continue
            now = time.time()
            state["histogram"].record_value(max(1, int((now - float(parts[1])) * 1e6)))
            if message["seq"] <= last_seq:
                state["out_of_order"] += 1
            last_seq = message["seq"]
            received += 1
            state["received"] += 1


def receivers(
    url: str, tokens: list[str], chat_id: int, expected: int, ready: Any, out: Any
) -> None:
    """A process holding len(tokens) sockets; puts its results on `out` when done."""

    async def main() -> dict[str, Any]:
        state: dict[str, Any] = {
            "histogram": HdrHistogram(*HISTOGRAM_RANGE),
            "received": 0,
            "out_of_order": 0,
            "ready": 0,
            "idle_timeout": 15.0,
        }
        cpu_start = cpu_seconds()
        tasks = [asyncio.create_task(_receive(url, t, chat_id, expected, state)) for t in tokens]
        while state["ready"] < len(tokens):
            await asyncio.sleep(0.05)
        ready.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "histogram": state["histogram"].encode().decode(),
            "received": state["received"],
            "out_of_order": state["out_of_order"],
            "cpu_seconds": cpu_seconds() - cpu_start,
        }

    out.put(asyncio.run(main()))


def sender(url: str, token: str, chat_id: int, rate: float, count: int, out: Any) -> None:
    """Posts `count` messages at `rate` a second, on schedule, whatever the acks do."""

    async def main() -> dict[str, Any]:
        acks = HdrHistogram(*HISTOGRAM_RANGE)
        sent_at: dict[int, float] = {}
        errors = 0
        cpu_start = cpu_seconds()
        async with connect(url, subprotocols=["bearer", token], max_size=2**20) as ws:  # type: ignore[list-item]
            await ws.recv()  # hello

            async def read_acks() -> None:
                nonlocal errors
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame["type"] == "ack":
                        scheduled = sent_at.pop(frame["ref"], None)
                        if scheduled is not None:
                            acks.record_value(max(1, int((time.time() - scheduled) * 1e6)))
                    elif frame["type"] == "error":
                        errors += 1
                    if len(sent_at) == 0 and acks.get_total_count() + errors >= count:
                        return

            reader = asyncio.create_task(read_acks())
            start = time.time() + 0.5
            for n in range(count):
                scheduled = start + n / rate
                delay = scheduled - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent_at[n] = scheduled
                text = f"b:{scheduled:.6f}:{n}"
                await ws.send(
                    json.dumps({"type": "message.send", "ref": n, "chat_id": chat_id, "text": text})
                )
            try:
                await asyncio.wait_for(reader, timeout=30)
            except TimeoutError:
                pass
        return {
            "acks": acks.encode().decode(),
            "errors": errors,
            "cpu_seconds": cpu_seconds() - cpu_start,
        }

    out.put(asyncio.run(main()))
