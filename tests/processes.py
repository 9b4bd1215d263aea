"""Real server and worker processes for end-to-end tests, on the test database.

The processes use tests.settings (the same SECRET_KEY, so tokens from the test are valid) with the
test run's own PostgreSQL database, Redis and broker. Each process's log is printed when it stops,
so a failing test shows what the process saw.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def process_env(**overrides: str) -> dict[str, str]:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        **overrides,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port}")


class Process:
    def __init__(self, name: str, args: list[str], log_dir: Path, **env: str) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        self.popen = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
            [sys.executable, "-m", *args],
            cwd=ROOT,
            env=process_env(**env),
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
        )

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up, as in a crash."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        print(f"--- {self.name}\n{self.log.read_text()}")


# The flags that production's daphne runs with (the Makefile's `run`, the Procfile's `web`).
DAPHNE_FLAGS = ("--websocket-max-message-size", "65536")
ASGI_APPLICATION = "chatproject.asgi:application"


def daphne(port: int, log_dir: Path, *flags: str, **env: str) -> Process:
    """A daphne with production's flags (and any more given) on the test database, with extra
    environment on top: e.g. DEBUG=true and EMBEDDED_CELERY=true with CELERY_BROKER_URL=memory://
    to serve as `make run` does."""
    process = Process(
        f"daphne-{port}",
        ["daphne", "-b", "127.0.0.1", "-p", str(port), *DAPHNE_FLAGS, *flags, ASGI_APPLICATION],
        log_dir,
        **{"PRESENCE_HEARTBEAT_SECONDS": "1", **env},
    )
    wait_for_port(port)
    return process


def celery_worker(name: str, log_dir: Path, **env: str) -> Process:
    return Process(
        name,
        [
            "celery",
            "-A",
            "chatproject",
            "worker",
            "-Q",
            settings.CELERY_WORKER_QUEUES,
            "--pool",
            "solo",
            "-n",
            f"{name}@%h",
            "--loglevel",
            "INFO",
        ],
        log_dir,
        **env,
    )


def celery_beat(log_dir: Path, **env: str) -> Process:
    return Process(
        "beat",
        [
            "celery",
            "-A",
            "chatproject",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(log_dir / "beat-schedule"),
        ],
        log_dir,
        **env,
    )
