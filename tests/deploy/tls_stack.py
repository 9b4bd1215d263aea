"""The production shape for real: nginx with the shipped configuration (deploy/nginx.conf.template,
rendered and started by deploy/proxy.py as deploy/Procfile's `proxy` does) terminating TLS with a
certificate made at start, in front of two daphne processes on the production settings module
with deploy/stack.env's settings, on the test run's PostgreSQL and Redis.

The test speaks https and wss to nginx and checks the certificate against the one nginx was
given, as a browser with that CA would. It can connect from another loopback address (127.0.0.2,
...): nginx sees that as the client's address, as it would see a remote client's.
"""

import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from websockets.asyncio.client import connect
from websockets.typing import Origin, Subprotocol

from tests.clients import RECEIVED_FRAME_MAX, Client
from tests.deploy.conftest import Answer
from tests.processes import (
    ASGI_APPLICATION,
    DAPHNE_FLAGS,
    ROOT,
    Process,
    free_port,
    process_env,
    terminate,
    wait_for_port,
)

DEPLOY = ROOT / "deploy"
# The register budget per client address on these servers: small, so a test can spend it.
REGISTER_RATE = 3


def stack_env() -> dict[str, str]:
    """deploy/stack.env: the app's settings behind the proxy."""
    values = {}
    for line in (DEPLOY / "stack.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, value = line.split("=", 1)
            values[name] = value
    return values


def nginx_binary() -> str | None:
    """Debian's nginx: /usr/sbin is not on every user's PATH."""
    if os.access("/usr/sbin/nginx", os.X_OK):
        return "/usr/sbin/nginx"
    return shutil.which("nginx")


def require_stack() -> None:
    """Skip (under CI=true: fail) with the reason when what the stack needs is missing."""
    missing = []
    if connection.vendor != "postgresql":
        missing.append("PostgreSQL: set DATABASE_URL=postgres://...")
    if not settings.REDIS_URL:
        missing.append("Redis: set REDIS_URL=redis://...")
    if nginx_binary() is None:
        missing.append("nginx: apt-get install nginx")
    if shutil.which("openssl") is None:
        missing.append("openssl: apt-get install openssl")
    if not missing:
        return
    reason = "needs " + " and ".join(missing)
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def multipart(name: str, content: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with one file field `file`; the body and its Content-Type."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


class Stack:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.logs = work / "logs"
        self.logs.mkdir()
        self.cert = work / "tls" / "cert.pem"
        self.static_root = work / "static"
        self.attachment_root = work / "attachments"
        self.attachment_root.mkdir()
        self.nginx_prefix = work / "nginx"
        self.https_port = free_port()
        self.http_port = free_port()
        self.daphne_ports = [free_port(), free_port()]
        self.daphnes: dict[int, Process] = {}
        self.restarts = 0
        self.nginx: subprocess.Popen[bytes] | None = None
        self.app_env = {
            **stack_env(),
            "DJANGO_SETTINGS_MODULE": "chatproject.settings",
            # The test's own, so that tokens it issues in-process hold on these servers.
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # The test run's environment turns these off for its servers; production has them on.
            "SECURE_SSL_REDIRECT": "true",
            "SECURE_COOKIES": "true",
            "ATTACHMENT_ROOT": str(self.attachment_root),
            "THROTTLE_REGISTER": f"{REGISTER_RATE}/min",
            "PRESENCE_HEARTBEAT_SECONDS": "1",
        }
        self.context = ssl.create_default_context()  # the certificate is made when nginx starts

    # --- starting and stopping ------------------------------------------------------------------

    def start(self) -> None:
        collect = self._collectstatic()
        for port in self.daphne_ports:
            self._start_daphne(port)
        assert collect.wait(timeout=60) == 0, (self.logs / "collectstatic.log").read_text()
        for port in self.daphne_ports:
            wait_for_port(port)
        nginx_log = (self.logs / "nginx.log").open("w")
        self.nginx = subprocess.Popen(  # noqa: S603 - our interpreter, our script
            [sys.executable, str(DEPLOY / "proxy.py"), "run"],
            cwd=ROOT,
            env=self.proxy_env(),
            stdout=nginx_log,
            stderr=nginx_log,
        )
        wait_for_port(self.https_port)
        wait_for_port(self.http_port)
        # Checked against the certificate nginx serves, as a CA: no verify=False anywhere.
        self.context = ssl.create_default_context(cafile=str(self.cert))

    def proxy_env(self) -> dict[str, str]:
        """What deploy/proxy.py reads: the stack's settings, and this test's ports and paths."""
        return {
            "PATH": os.environ.get("PATH", ""),
            **stack_env(),
            "NGINX_PREFIX": str(self.nginx_prefix),
            "TLS_CERT": str(self.cert),
            "TLS_KEY": str(self.work / "tls" / "key.pem"),
            "SERVER_NAME": "localhost",
            "HTTPS_PORT": str(self.https_port),
            "HTTP_PORT": str(self.http_port),
            "UPSTREAMS": ",".join(f"127.0.0.1:{port}" for port in self.daphne_ports),
            "STATIC_ROOT": str(self.static_root),
            "ATTACHMENT_ROOT": str(self.attachment_root),
            "ACME_ROOT": str(self.work / "acme"),
            "WORKER_CONNECTIONS": "512",
            "NGINX_BIN": nginx_binary() or "nginx",
        }

    def _collectstatic(self) -> subprocess.Popen[bytes]:
        """collectstatic with the production storage (compressed copies included) into the
        test's own STATIC_ROOT, which nginx serves."""
        code = (
            "import sys, django; django.setup(); "
            "from django.core.management import call_command; "
            "from django.test import override_settings\n"
            "with override_settings(STATIC_ROOT=sys.argv[1]):\n"
            "    call_command('collectstatic', interactive=False, verbosity=0)"
        )
        return subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
            [sys.executable, "-c", code, str(self.static_root)],
            cwd=ROOT,
            env=process_env(**self.app_env),
            stdout=subprocess.DEVNULL,
            stderr=(self.logs / "collectstatic.log").open("w"),
        )

    def _start_daphne(self, port: int) -> None:
        name = f"daphne-{port}" + (f"-restart-{self.restarts}" if port in self.daphnes else "")
        self.daphnes[port] = Process(
            name,
            [
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                *DAPHNE_FLAGS,
                "--access-log",
                str(self.logs / f"{name}.access.log"),
                ASGI_APPLICATION,
            ],
            self.logs,
            **self.app_env,
        )

    def kill(self, port: int) -> None:
        """SIGKILL: the process dies as in a crash, with its sockets open."""
        self.daphnes[port].kill()

    def restart(self, port: int) -> None:
        self.restarts += 1
        self._start_daphne(port)
        wait_for_port(port)

    def revive(self) -> None:
        """Every daphne running again, whatever an earlier test did to them."""
        for port, process in list(self.daphnes.items()):
            if process.popen.poll() is not None:
                self.restart(port)

    def stop(self) -> None:
        if self.nginx is not None:
            terminate(self.nginx)
            print(f"--- nginx\n{self.nginx_log()}")
            if (self.nginx_prefix / "logs" / "access.log").exists():
                print(f"--- nginx access log\n{self.nginx_access_log()}")
        for process in self.daphnes.values():
            process.stop()

    # --- what the app's processes saw ---------------------------------------------------------

    def metric(self, port: int, name: str) -> int:
        """A counter of one daphne, asked directly on its own port (nginx does not serve
        /metrics)."""
        answer = self.request_plain(port, "GET", "/metrics", {"X-Forwarded-Proto": "https"})
        match = re.search(rf"^{name} (\d+)$", answer.body.decode(), re.MULTILINE)
        assert match is not None, answer.body
        return int(match.group(1))

    def sockets(self) -> dict[int, int]:
        """Open WebSockets on each daphne, by port."""
        return {
            port: self.metric(port, "chat_ws_connections")
            for port, process in self.daphnes.items()
            if process.popen.poll() is None
        }

    def nginx_log(self) -> str:
        """What nginx wrote to stderr: its error log."""
        return (self.logs / "nginx.log").read_text()

    def nginx_access_log(self) -> str:
        return (self.nginx_prefix / "logs" / "access.log").read_text()

    def app_access_logs(self) -> str:
        return "".join(path.read_text() for path in self.logs.glob("*.access.log"))

    # --- a client -------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        source: str = "127.0.0.1",
        token: str | None = None,
    ) -> Answer:
        """One https request to nginx, from the given loopback address."""
        connection = http.client.HTTPSConnection(
            "127.0.0.1",
            self.https_port,
            context=self.context,
            timeout=30,
            source_address=(source, 0),
        )
        return _exchange(connection, method, path, body, headers, token)

    def request_http(self, method: str, path: str) -> Answer:
        """One plain-http request to nginx's http port."""
        connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        return _exchange(connection, method, path, None, None, None)

    def request_plain(
        self, port: int, method: str, path: str, headers: dict[str, str] | None = None
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        return _exchange(connection, method, path, None, headers, None)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @asynccontextmanager
    async def socket(
        self,
        token: str | None = None,
        *,
        source: str = "127.0.0.1",
        origin: str | None = None,
        cookie: str | None = None,
    ) -> AsyncIterator[Client]:
        """A wss socket through nginx, signed in with the token (bearer subprotocol) or a
        session cookie, its hello read."""
        subprotocols = None if token is None else [Subprotocol("bearer"), Subprotocol(token)]
        async with connect(
            f"wss://127.0.0.1:{self.https_port}/ws/",
            ssl=self.context,
            subprotocols=subprotocols,
            origin=None if origin is None else Origin(origin),
            additional_headers={"Cookie": cookie} if cookie else None,
            proxy=None,
            compression=None,
            max_size=RECEIVED_FRAME_MAX,
            local_addr=(source, 0),
        ) as ws:
            opened = Client(ws)
            opened.hello = await opened.next_of("hello")
            yield opened


def _exchange(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: dict[str, Any] | bytes | None,
    headers: dict[str, str] | None,
    token: str | None,
) -> Answer:
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data: bytes | None = None if isinstance(body, dict) else body
    if isinstance(body, dict):
        data = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def announce_only(stack: Stack, path: str, length: int, content_type: str) -> Answer:
    """A request whose headers announce a body of `length` bytes, none of which is sent: a limit
    on Content-Length answers at once."""
    connection = http.client.HTTPSConnection(
        "127.0.0.1", stack.https_port, context=stack.context, timeout=30
    )
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", content_type)
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def query_of(url: str) -> str:
    """The path and query of a URL the app gave (absolute or not)."""
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def wait_until(predicate: Any, timeout: float = 10, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


@contextmanager
def running_stack(work: Path) -> Iterator[Stack]:
    stack = Stack(work)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
