"""Real server and worker processes for end-to-end tests, on the test database.

The processes use tests.settings (the same SECRET_KEY, so tokens from the test are valid) with the
test run's own PostgreSQL database, Redis and broker. Each process's log is printed when it stops,
so a failing test shows what the process saw.

bench/run.py starts and stops its processes with wait_for_port, python_process and terminate, with
no Django settings: those three must not read them.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

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


def python_process(
    args: list[str], env: dict[str, str], stderr: IO[str]
) -> subprocess.Popen[bytes]:
    """`python -m <args>` with our interpreter, from the repository root; its stdout dropped."""
    return subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
        [sys.executable, "-m", *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr
    )


def terminate(popen: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL if the process has not ended 15 s later."""
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            popen.send_signal(signal.SIGKILL)
            popen.wait(timeout=10)


class Process:
    def __init__(self, name: str, args: list[str], log_dir: Path, **env: str) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        self.popen = python_process(args, process_env(**env), self.log.open("w"))

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up, as in a crash."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        terminate(self.popen)
        print(f"--- {self.name}\n{self.log.read_text()}")


@contextmanager
def stopped_at_end(processes: Sequence[Process]) -> Iterator[None]:
    """The processes in the list, those added in the block included, are stopped when the block
    ends, whatever happened, and their logs printed."""
    try:
        yield
    finally:
        for process in processes:
            process.stop()


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


def ws_url(port: int) -> str:
    """Where the daphne on this port serves WebSockets."""
    return f"ws://127.0.0.1:{port}/ws/"


@contextmanager
def daphnes(count: int, log_dir: Path, *flags: str, **env: str) -> Iterator[list[int]]:
    """`count` daphnes (as `daphne`) on free ports, sharing the test database and Redis as
    production's processes do, stopped when the block ends; their ports."""
    started: list[Process] = []
    with stopped_at_end(started):
        ports = [free_port() for _ in range(count)]
        for port in ports:
            started.append(daphne(port, log_dir, *flags, **env))
        yield ports


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
