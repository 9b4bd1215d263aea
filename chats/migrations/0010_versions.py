import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def messages_at_their_seq(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """On PostgreSQL, one rewrite of the table that rebuilds its indexes in bulk: an UPDATE of
    every row writes each row and each index entry a second time, which on a chat of 1,000,000
    messages took twice as long and left the table twice its size (bench/migration_versions.py)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE chats_message ALTER COLUMN version TYPE bigint USING seq"
        )
    else:
        schema_editor.execute("UPDATE chats_message SET version = seq")


class Migration(migrations.Migration):
    dependencies = [
        ("chats", "0009_idempotency_purge_task"),
        ("accounts", "0004_user_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Departure",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("chat_id", models.BigIntegerField()),
                ("version", models.BigIntegerField(null=True)),
                ("user_version", models.BigIntegerField()),
            ],
        ),
        migrations.AddField(
            model_name="chat",
            name="version",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="membership",
            name="user_version",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="membership",
            name="version",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="message",
            name="version",
            field=models.BigIntegerField(default=0),
        ),
        # Existing data starts at one version past its newest message: each message at its
        # seq, each chat, member and user at the state the migration found. A client that knew
        # nothing of versions asks from 0 and gets everything.
        migrations.RunSQL(
            [
                "UPDATE chats_chat SET version = last_seq + 1",
                "UPDATE chats_membership SET user_version = 1, version = ("
                " SELECT chats_chat.last_seq + 1 FROM chats_chat"
                " WHERE chats_chat.id = chats_membership.chat_id)",
                "UPDATE accounts_user SET user_version = 1",
            ],
            migrations.RunSQL.noop,
        ),
        migrations.RunPython(messages_at_their_seq, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(fields=["chat", "version"], name="membership_chat_version"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["chat", "version"], name="message_chat_version"),
        ),
        migrations.AddField(
            model_name="departure",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="departure",
            index=models.Index(fields=["chat_id", "version"], name="departure_chat_version"),
        ),
        migrations.AddIndex(
            model_name="departure",
            index=models.Index(fields=["user", "user_version"], name="departure_user_version"),
        ),
        migrations.AddConstraint(
            model_name="departure",
            constraint=models.UniqueConstraint(fields=("chat_id", "user"), name="departure_unique"),
        ),
    ]
