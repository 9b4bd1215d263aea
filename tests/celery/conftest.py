from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.apps import apps

from chatproject.celery import app
from tests.processes import Process, celery_beat, celery_worker
from tests.realtime.conftest import _fresh_channel_layer, connect  # noqa: F401 - fixtures

PERIODIC_TASKS_MIGRATION = "chats.migrations.0005_periodic_tasks"


@pytest.fixture
def processes(transactional_db: None, tmp_path: Path) -> Iterator[dict[str, Process]]:
    """Start workers and beat by name (`start("w1")`, `start("beat")`); all stop at the end.

    The queues start empty, so no task left by an earlier test or run is in the way.
    """
    _periodic_tasks_present()
    app.control.purge()
    running: dict[str, Process] = {}
    yield running
    for process in running.values():
        process.stop()


@pytest.fixture
def start(processes: dict[str, Process], tmp_path: Path) -> Callable[[str], Process]:
    def start_process(name: str) -> Process:
        if name == "beat":
            process = celery_beat(tmp_path)
        else:
            process = celery_worker(name, tmp_path)
        processes[f"{name}-{len(processes)}"] = process
        return process

    return start_process


def _periodic_tasks_present() -> None:
    """A transactional test before this one may have flushed the migration's rows."""
    import importlib

    importlib.import_module(PERIODIC_TASKS_MIGRATION).create(apps, None)
