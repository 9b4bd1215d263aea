"""The transport ceiling: a bare broadcast server on the `websockets` library, no Django.

It speaks just enough of our protocol for the same load generator: `hello` on connect, and every
`message.send` is broadcast to every connection as `message.new` (with a seq) and acked.

    python bench/bare_ws.py PORT
"""

import asyncio
import json
import sys
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve

connections: set[ServerConnection] = set()
seq = 0


async def handler(ws: ServerConnection) -> None:
    global seq
    connections.add(ws)
    try:
        await ws.send(json.dumps({"type": "hello", "user": {}, "chats": []}))
        async for raw in ws:
            frame: dict[str, Any] = json.loads(raw)
            if frame.get("type") != "message.send":
                continue
            seq += 1
            message = {"seq": seq, "chat_id": frame["chat_id"], "text": frame["text"]}
            broadcast(
                connections,
                json.dumps(
                    {"type": "message.new", "chat_id": frame["chat_id"], "message": message}
                ),
            )
            await ws.send(json.dumps({"type": "ack", "ref": frame.get("ref"), "message": message}))
    finally:
        connections.discard(ws)


def select_bearer(connection: ServerConnection, subprotocols: list[str]) -> str | None:
    return "bearer" if "bearer" in subprotocols else None


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, select_subprotocol=select_bearer, max_size=2**20):  # type: ignore[arg-type]
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
