"""The systemd units in deploy/systemd, checked as far as this machine allows.

No systemd runs here (a container), so the units are never started by systemd itself. Instead:
`systemd-analyze verify` reads them as systemd would, with the install directory /srv/chat
mapped onto this checkout, and finds every command executable; each unit's command line is what
the Procfile and the settings say; and each command, run as the unit would run it (its working
directory, the example environment file with this machine's servers, the instance's port),
starts a web server that answers /healthz, a worker that is ready, and a beat that schedules.
"""

import http.client
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.celery.conftest import _periodic_tasks_present
from tests.faults.servers import PrivateRedis, started
from tests.processes import (
    ASGI_APPLICATION,
    DAPHNE_FLAGS,
    ROOT,
    free_port,
    process_env,
    terminate,
)

UNITS = ROOT / "deploy" / "systemd"
INSTALL_DIR = "/srv/chat"
ENVIRONMENT_FILE = "/etc/chat/chat.env"
STATE_DIR = "/var/lib/chat"
SERVICES = ("chat-web@.service", "chat-worker.service", "chat-beat.service")


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections and their settings (a key may repeat), comments dropped."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def exec_start(name: str) -> list[str]:
    [command] = unit(name)["Service"]["ExecStart"]
    return shlex.split(command)


def here(path: str) -> str:
    """A path of the installed layout, in this checkout."""
    return path.replace(INSTALL_DIR, str(ROOT))


def procfile(process: str) -> list[str]:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name == process:
            return shlex.split(command)
    raise AssertionError(f"no {process} in the Procfile")


def environment_file() -> dict[str, str]:
    """The example environment file as systemd reads it: KEY=value lines, comments skipped."""
    values = {}
    for line in (UNITS / "chat.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def test_systemd_reads_the_units_without_a_complaint(tmp_path: Path) -> None:
    """`systemd-analyze verify`, with /srv/chat here: every setting known, every command
    executable, no warning at all."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("needs systemd-analyze (apt-get install systemd)")
    env_file = tmp_path / "chat.env"
    shutil.copy(UNITS / "chat.env.example", env_file)
    for path in UNITS.glob("chat*.service"):
        text = here(path.read_text()).replace(ENVIRONMENT_FILE, str(env_file))
        (tmp_path / path.name).write_text(text)
    for name in ("chat.target", "chat-backup.timer"):
        shutil.copy(UNITS / name, tmp_path / name)

    names = [
        "chat-web@8001.service",
        "chat-worker.service",
        "chat-beat.service",
        "chat.target",
        "chat-backup.service",
        "chat-backup.timer",
    ]
    result = subprocess.run(  # noqa: S603 - a fixed program, our files
        [analyze, "verify", "--man=no", *(f"./{name}" for name in names)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


def test_each_unit_runs_what_the_procfile_runs() -> None:
    web, worker, beat = (exec_start(name) for name in SERVICES)

    # Web: daphne from the venv, on the instance's port on loopback only, with production's flags.
    assert web[0] == f"{INSTALL_DIR}/.venv/bin/daphne"
    assert web[1:3] == ["-e", "tcp:port=%i:interface=127.0.0.1:backlog=4096"]
    assert web[3:] == [*DAPHNE_FLAGS, ASGI_APPLICATION]
    assert web[3:] == procfile("web")[3:]
    # Worker: every queue the settings route to. Its concurrency is left to the settings
    # (WORKER_CONCURRENCY), which the Procfile passes as a flag instead.
    assert worker[0] == f"{INSTALL_DIR}/.venv/bin/celery"
    assert worker[worker.index("-Q") + 1] == settings.CELERY_WORKER_QUEUES
    from_procfile = procfile("worker")
    at = from_procfile.index("--concurrency")
    assert worker[1:] == from_procfile[1:at] + from_procfile[at + 2 :]
    # Beat: the settings' DatabaseScheduler (no -S of its own).
    assert beat[0] == f"{INSTALL_DIR}/.venv/bin/celery"
    assert beat[1:] == procfile("beat")[1:]


def test_the_commands_and_files_the_units_name_exist_here() -> None:
    for name in SERVICES:
        service = unit(name)["Service"]
        assert Path(here(exec_start(name)[0])).is_file(), name
        assert os.access(here(exec_start(name)[0]), os.X_OK), name
        assert service["WorkingDirectory"] == [INSTALL_DIR], name
        assert service["EnvironmentFile"] == [ENVIRONMENT_FILE], name
        assert service["StateDirectory"] == ["chat"], name  # /var/lib/chat, writable
        assert service["ProtectSystem"] == ["strict"], name  # and nothing else is
        assert unit(name)["Install"]["WantedBy"] == ["chat.target"], name
    # Files go where the units may write.
    assert environment_file()["ATTACHMENT_ROOT"].startswith(f"{STATE_DIR}/")


def test_the_nightly_backup_runs_the_script_the_restore_drill_tests() -> None:
    """tests/deploy/test_restore_drill.py restores what deploy/scripts/backup.sh makes; the
    timer's service runs that very script, into its own state directory."""
    service = unit("chat-backup.service")["Service"]
    assert exec_start("chat-backup.service") == [f"{INSTALL_DIR}/deploy/scripts/backup.sh"]
    assert os.access(here(exec_start("chat-backup.service")[0]), os.X_OK)
    assert service["Environment"] == ["BACKUP_DIR=/var/lib/chat-backups"]
    assert service["StateDirectory"] == ["chat-backups"]
    assert service["EnvironmentFile"] == [ENVIRONMENT_FILE]
    assert unit("chat-backup.timer")["Timer"]["Persistent"] == ["true"]


def test_only_beat_is_a_single_unit_and_web_is_a_template() -> None:
    """Web processes are instances (chat-web@8001, @8002 …); beat is one unit, never a template:
    two beats would run every periodic task twice (docs/celery.md)."""
    assert "%i" in unit("chat-web@.service")["Service"]["ExecStart"][0]
    assert not list(UNITS.glob("chat-beat@*"))
    assert "ONE machine" in (UNITS / "chat-beat.service").read_text()


def test_every_variable_of_the_environment_file_is_documented() -> None:
    """The example names only variables the README's configuration table describes, and every
    one the settings require in production."""
    documented = {
        name
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([A-Z0-9_]+)`", line.split("|")[1])
    }
    text = (UNITS / "chat.env.example").read_text()
    named = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))

    assert named - documented == set()
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"} <= set(
        environment_file()
    )


def test_the_environment_file_has_the_settings_nginx_needs() -> None:
    """deploy/stack.env is what the app needs behind deploy/README.md's nginx; the units'
    environment file says the same."""
    stack = {}
    for line in (ROOT / "deploy" / "stack.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            stack[key.strip()] = value.strip()

    assert stack
    assert {key: environment_file().get(key) for key in stack} == stack


# --- The commands, run as the units run them -------------------------------------------------


class Started:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        self.popen = subprocess.Popen(  # noqa: S603 - the unit's own command line
            args, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
        )

    def wait_for_log(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log.read_text():
            assert self.popen.poll() is None, f"{self.name} exited:\n{self.log.read_text()}"
            assert time.monotonic() < deadline, f"{self.name}: no {text!r}:\n{self.log.read_text()}"
            time.sleep(0.2)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    with started(PrivateRedis()) as server:
        yield server


@pytest.fixture
def unit_processes(private_redis: PrivateRedis) -> Iterator[list[Started]]:
    """Processes started like the units; each stops at the end, before the private Redis."""
    running: list[Started] = []
    try:
        yield running
    finally:
        for process in running:
            terminate(process.popen)
            print(f"--- {process.name}\n{process.log.read_text()}")


def healthz(port: int, host: str, timeout: float = 30) -> tuple[int, bytes]:
    """GET /healthz on the port with this Host, once the server listens."""
    deadline = time.monotonic() + timeout
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/healthz", headers={"Host": host})
            answer = connection.getresponse()
            return answer.status, answer.read()
        except OSError:
            assert time.monotonic() < deadline, f"nothing answered on port {port}"
            time.sleep(0.2)
        finally:
            connection.close()


def unit_command(name: str, instance: str, env: dict[str, str]) -> list[str]:
    """ExecStart as systemd would run it: %i is the instance, ${VAR} from the environment, and
    /srv/chat and /var/lib/chat this machine's."""
    args = []
    for arg in exec_start(name):
        arg = arg.replace("%i", instance)
        arg = re.sub(r"\$\{(\w+)\}", lambda match: env[str(match.group(1))], arg)
        args.append(here(arg).replace(STATE_DIR, env["STATE_DIRECTORY"]))
    return args


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_units_commands_start_a_server_a_worker_and_a_beat(
    tmp_path: Path, private_redis: PrivateRedis, unit_processes: list[Started]
) -> None:
    """Production settings (no DEBUG), the example environment file with this machine's servers
    in it: a private Redis as the channel layer, cache and broker, so that this worker takes no
    task of another test run's."""
    _periodic_tasks_present()
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        **environment_file(),
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": process_env()["DATABASE_URL"],
        "REDIS_URL": private_redis.url,
        "CELERY_BROKER_URL": private_redis.url.rsplit("/", 1)[0] + "/1",
        "ATTACHMENT_ROOT": str(tmp_path / "attachments"),
        "STATE_DIRECTORY": str(tmp_path),  # what StateDirectory= gives the unit
    }
    for name, instance in (("chat-web@.service", str(port)), ("chat-worker.service", "")):
        unit_processes.append(
            Started(name, unit_command(name, instance, env), env, tmp_path / f"{name}.log")
        )
    beat = Started("beat", unit_command("chat-beat.service", "", env), env, tmp_path / "beat.log")
    unit_processes.append(beat)

    # The worker takes WORKER_CONCURRENCY from the environment file, through the settings.
    unit_processes[1].wait_for_log(f"concurrency: {env['WORKER_CONCURRENCY']} (prefork)")
    unit_processes[1].wait_for_log("ready.")
    # Beat reads its schedule from the database and sends what is due; the worker runs it.
    beat.wait_for_log("(chats.tasks.scheduled_messages_dispatch)")
    unit_processes[1].wait_for_log("Task chats.tasks.scheduled_messages_dispatch[")
    unit_processes[1].wait_for_log("] succeeded in ")
    # Probed on its own port as docs/deployment.md's rolling restart does: with the site's
    # name as Host, since ALLOWED_HOSTS holds no other.
    site = env["ALLOWED_HOSTS"].split(",")[0]
    assert healthz(port, site) == (200, b'{"db": "ok", "channel_layer": "ok", "broker": "ok"}')
    assert healthz(port, "127.0.0.1")[0] == 400
