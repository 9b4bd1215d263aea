"""The hourly purge of Idempotency-Key answers older than a day, as a django-celery-beat row."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

NAME, TASK = "Purge idempotency records", "chats.tasks.idempotency_records_purge"


def create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    hourly, _ = interval_model.objects.get_or_create(every=1, period="hours")
    task_model.objects.get_or_create(name=NAME, defaults={"task": TASK, "interval": hourly})


def remove(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chats", "0008_report_evidence_and_erased_deletes"),
        ("accounts", "0003_idempotency_record"),
    ]

    operations = [migrations.RunPython(create, remove)]
