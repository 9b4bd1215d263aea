"""A GIN index for full-text message search, on PostgreSQL only.

The index is built on exactly the expression that `chats.selectors.message_search_vector()` queries,
so the planner uses it. SQLite has no GIN; its search falls back to substring matching. The index
is kept out of the model's Meta so that makemigrations sees the same state on both databases.
"""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

INDEX_NAME = "message_text_search"


def _index() -> GinIndex:
    from chats.selectors import message_search_vector

    return GinIndex(message_search_vector(), name=INDEX_NAME)


def create_index(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("chats", "Message"), _index())


def drop_index(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("chats", "Message"), _index())


class Migration(migrations.Migration):
    dependencies = [("chats", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
