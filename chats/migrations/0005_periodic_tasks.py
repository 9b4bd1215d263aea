"""The periodic upkeep, as django-celery-beat rows that admins can edit afterwards.

get_or_create, so running it again (or over rows an admin changed) changes nothing.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

SECOND, DAY = "seconds", "days"
PERIODIC_TASKS = [
    # name, task, every, period
    ("Deliver due scheduled messages", "chats.tasks.scheduled_messages_dispatch", 2, SECOND),
    ("Presence sweep", "chats.tasks.presence_sweep", 30, SECOND),
    ("Purge settled scheduled messages", "chats.tasks.scheduled_messages_purge", 1, DAY),
    ("Flush expired tokens", "chats.tasks.tokens_flush_expired", 1, DAY),
]


def create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, period in PERIODIC_TASKS:
        interval, _ = interval_model.objects.get_or_create(every=every, period=period)
        task_model.objects.get_or_create(name=name, defaults={"task": task, "interval": interval})


def remove(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    task_model.objects.filter(name__in=[name for name, *_ in PERIODIC_TASKS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chats", "0004_scheduled_message"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
