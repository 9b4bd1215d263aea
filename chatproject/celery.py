"""The Celery app. It reads its configuration from Django settings under the CELERY_ namespace."""

import os
import threading

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")

app = Celery("chatproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def start_embedded() -> None:
    """A worker thread and a beat thread inside this process, for the embedded default.

    With the in-memory transport (no broker server) only this process can reach the queue, so the
    server process itself runs them: scheduled messages then arrive live under `make run` too.
    """
    from celery.beat import EmbeddedService
    from celery.worker import WorkController
    from django.conf import settings

    worker = WorkController(
        app=app,
        pool_cls="solo",
        concurrency=1,
        queues=settings.CELERY_WORKER_QUEUES.split(","),
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        loglevel="INFO",
    )
    threading.Thread(target=worker.start, name="celery-worker", daemon=True).start()
    # EmbeddedService does not read beat_scheduler from the config as `celery beat` does.
    EmbeddedService(app, thread=True, scheduler_cls=settings.CELERY_BEAT_SCHEDULER).start()
