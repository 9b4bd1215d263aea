"""A real daphne on the production settings module, behind a (pretend) TLS-terminating proxy.

The test speaks plain http to it and sends `X-Forwarded-Proto: https` where the proxy would, so
the server sees what it sees in production. It logs everything at DEBUG to its log file and
writes daphne's access log next to it, for the tests that read the logs.
"""

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.processes import Process, free_port, wait_for_port

HTTPS = {"X-Forwarded-Proto": "https"}


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def cookies(self) -> dict[str, str]:
        """Set-Cookie headers by cookie name."""
        return {line.split("=", 1)[0]: line for line in self.headers.get_all("Set-Cookie") or []}


@dataclass
class Server:
    port: int
    process: Process
    access_log: Path

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = dict(headers or {})
        data = None
        if isinstance(body, dict):
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()

    def logs(self) -> str:
        return self.process.log.read_text() + self.access_log.read_text()


@pytest.fixture(scope="module")
def production_server(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    log_dir = tmp_path_factory.mktemp("production")
    port = free_port()
    access_log = log_dir / "access.log"
    process = Process(
        f"daphne-production-{port}",
        [
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "--access-log",
            str(access_log),
            "chatproject.asgi:application",
        ],
        log_dir,
        DJANGO_SETTINGS_MODULE="chatproject.settings",
        DEBUG="false",
        # The test run's own environment turns these off for the test servers; production has
        # them on.
        SECURE_SSL_REDIRECT="true",
        SECURE_COOKIES="true",
        BEHIND_TLS_PROXY="true",
        SECRET_KEY=settings.SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="DEBUG",
    )
    wait_for_port(port)
    yield Server(port, process, access_log)
    process.stop()
