"""The one who opened a direct chat was its owner, with power over the other person's messages and
the chat (SECURITY.md). Both are plain members now; the change moves each such chat's version, so a
client that caught up before it sees the role change in the feed."""

from django.db import migrations
from django.db.models import F, OuterRef, Subquery


def direct_owners_to_members(apps, schema_editor):  # type: ignore[no-untyped-def]
    Chat = apps.get_model("chats", "Chat")
    Membership = apps.get_model("chats", "Membership")
    owned = Membership.objects.filter(chat__chat_type="direct", role="owner")
    Chat.objects.filter(pk__in=owned.values("chat_id")).update(version=F("version") + 1)
    owned.update(
        role="member",
        version=Subquery(Chat.objects.filter(pk=OuterRef("chat_id")).values("version")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [("chats", "0010_versions")]

    operations = [migrations.RunPython(direct_owners_to_members, migrations.RunPython.noop)]
