"""Open reports take a copy of their message's text as evidence, and then the text of every
message its author deleted is erased: a delete now erases, where it used to only hide."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def erase_deleted_texts(apps, schema_editor):
    Message = apps.get_model("chats", "Message")
    Report = apps.get_model("chats", "Report")
    Report.objects.filter(status="open").update(
        message_text=Subquery(Message.objects.filter(pk=OuterRef("message_id")).values("text")[:1])
    )
    # A moderator's removal keeps the text, so that it can be restored.
    Message.objects.filter(deleted=True, removed_at__isnull=True).exclude(text="").update(text="")


class Migration(migrations.Migration):
    dependencies = [
        ("chats", "0007_moderators_group"),
    ]

    operations = [
        migrations.AddField(
            model_name="report",
            name="message_text",
            field=models.TextField(blank=True, max_length=10000),
        ),
        migrations.RunPython(erase_deleted_texts, migrations.RunPython.noop),
    ]
