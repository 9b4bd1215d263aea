"""Private PostgreSQL, Redis and RabbitMQ servers, for tests that stop, kill and restart them.

The machine's own servers carry other test runs and benchmarks, so a test that breaks a service
starts an instance of its own: on a free port, with its data in a temporary directory, removed at
the end. `stop()` is an orderly shutdown, `kill()` a crash (SIGKILL), and `start()` brings the same
instance back on the same port with the data it kept.
"""

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from tests.processes import ROOT, free_port, process_env, wait_for_port


def _run(args: list[str], log: Path, **env: str) -> None:
    with log.open("a") as out:
        subprocess.run(  # noqa: S603 - fixed programs, our arguments
            args, check=True, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env}
        )


def _wait_until_closed(port: int, timeout: float = 30) -> None:
    """An orderly stop returns before the kernel has let go of every socket; a test that
    expects the outage must see the port closed."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} still answers")


class PrivateServer:
    name = "server"

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"faults-{self.name}-"))
        self.log = self.dir / f"{self.name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def _spawn(self, args: list[str], **env: str) -> None:
        self.popen = subprocess.Popen(  # noqa: S603 - fixed programs, our arguments
            args,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            cwd=self.dir,
            # Its own process group, so that kill() reaches the children of a wrapper script.
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to close its connections, as in a crash."""
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)
        _wait_until_closed(self.port)

    def remove(self) -> None:
        """Stop if running and delete the data. Safe to call in any state."""
        try:
            if self.running:
                self.stop()
        finally:
            self.kill()
            print(f"--- {self.name} on port {self.port}\n{self.log.read_text(errors='replace')}")
            shutil.rmtree(self.dir, ignore_errors=True)

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


Server = TypeVar("Server", bound=PrivateServer)


@contextmanager
def started(server: Server) -> Iterator[Server]:
    """The server, started, and removed when the block ends, whatever happened."""
    try:
        server.start()
        yield server
    finally:
        server.remove()


class PrivateRedis(PrivateServer):
    name = "redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._spawn(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.dir),
            ]
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(timeout=30)
        _wait_until_closed(self.port)


class PrivatePostgres(PrivateServer):
    """A PostgreSQL cluster of its own, with the project's schema migrated into database `chat`.

    As root (as on CI), the cluster belongs to the `postgres` user: PostgreSQL refuses root."""

    name = "postgres"

    def __init__(self) -> None:
        super().__init__()
        versions = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4])
        )
        if not versions:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = Path(versions[-1])
        self.data = self.dir / "data"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        _run(
            [*self.as_owner, str(self.bin / "initdb"), "-D", str(self.data)]
            + ["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"],
            self.log,
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/chat"

    def _pg_ctl(self, *args: str) -> None:
        _run([*self.as_owner, str(self.bin / "pg_ctl"), "-D", str(self.data), *args], self.log)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-l", str(self.dir / "server.log"), "-w", "-t", "60", "-o", options, "start")
        wait_for_port(self.port)
        self.popen = None  # pg_ctl daemonizes; `running` asks pg_ctl instead

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_schema(self) -> None:
        """Database `chat` with every migration applied, as a deployment would have it."""
        _run(
            [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port)]
            + ["-U", "postgres", "chat"],
            self.log,
        )
        _run(
            [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "migrate", "--noinput", "-v0"],
            self.log,
            **process_env(DATABASE_URL=self.url),
        )

    def stop(self) -> None:
        """`pg_ctl stop -m fast`: open connections are cut and their transactions rolled back."""
        if self.running:
            self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop")
        _wait_until_closed(self.port)

    def kill(self) -> None:
        if self.running:
            self._pg_ctl("-m", "immediate", "-w", "-t", "60", "stop")
        _wait_until_closed(self.port)


class PrivateRabbitMQ(PrivateServer):
    """A RabbitMQ node of its own: its own node name, ports, cookie, config and Mnesia directory.

    It registers with the machine's epmd like any node; nothing else is shared."""

    name = "rabbitmq"
    SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
    CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"

    def __init__(self) -> None:
        super().__init__()
        self.node = f"faults{self.port}@localhost"
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.dir / "enabled_plugins").write_text("[].\n")
        cookie = self.dir / ".erlang.cookie"
        cookie.write_text(f"faults-{self.port}-cookie")
        cookie.chmod(0o400)
        self.env = {
            "HOME": str(self.dir),  # where the Erlang cookie is read, by server and CLI alike
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),  # none: ignore /etc's
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self) -> None:
        if not Path(self.SERVER).exists():
            raise RuntimeError(f"RabbitMQ is not installed ({self.SERVER})")
        self._spawn([self.SERVER], **self.env)
        wait_for_port(self.port, timeout=90)

    def stop(self) -> None:
        """`rabbitmqctl shutdown`: the node closes its connections and keeps durable queues and
        persistent messages on disk for the next start."""
        if self.running:
            _run([self.CTL, "-n", self.node, "shutdown"], self.log, **self.env)
            assert self.popen is not None
            self.popen.wait(timeout=60)
        _wait_until_closed(self.port)
