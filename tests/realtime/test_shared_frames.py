"""Under daphne, an event's frame is built once per process and written straight to each socket's
protocol (chatproject.overrides.daphne.SharedFrames). The frames themselves, and the limit on what
a peer that does not read is sent, are checked end to end (test_two_processes.py and
tests/hostile/test_slow_readers.py); here, that daphne's sockets get the shared send."""

from typing import Any

from autobahn.websocket.protocol import WebSocketProtocol
from daphne.server import Server
from twisted.internet.testing import StringTransport

from chatproject.overrides.daphne import BoundedWebSocketProtocol, SharedFrames


async def test_each_socket_daphne_serves_gets_the_shared_send_of_its_protocol():
    scopes: list[dict[str, Any]] = []

    async def consumer(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scopes.append(scope)

    server = Server(application=SharedFrames(consumer), endpoints=["tcp:port=0"])
    protocol = BoundedWebSocketProtocol()
    server.connections = {protocol: {}}  # as Server.run and protocol_connected would set it

    server.create_application(protocol, {"type": "websocket"})
    await server.connections[protocol]["application_instance"]

    assert scopes[0]["send_shared"] == protocol.send_shared


def test_nothing_is_sent_once_the_socket_is_closing():
    protocol = BoundedWebSocketProtocol()
    protocol.transport = transport = StringTransport()
    protocol.state = WebSocketProtocol.STATE_CLOSING

    protocol.send_shared("late")

    assert transport.value() == b""
