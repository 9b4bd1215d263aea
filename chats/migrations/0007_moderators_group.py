"""The "Moderators" group, with just what moderation needs (docs/moderation.md says why each).

Idempotent: running it again, or over a group a superuser has changed, only adds what is missing.
Permissions are normally created after all migrations have run; this creates the ones it needs
first, so that it works on a fresh database too.
"""

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS, migrations

GROUP = "Moderators"
PERMISSIONS = {
    # Custom ban_user, not change_user: the user form edits is_staff, is_superuser and groups.
    "accounts": ["view_user", "ban_user"],
    # Custom remove_message, not change_message: the form would rewrite text past the services.
    # change_report lets them close reports, which they do only through the queue's actions.
    "chats": [
        "view_chat",
        "view_membership",
        "view_message",
        "remove_message",
        "view_report",
        "change_report",
        "view_auditentry",
    ],
}


def moderators_group_create(apps: Any, schema_editor: Any) -> None:
    using = schema_editor.connection.alias if schema_editor is not None else DEFAULT_DB_ALIAS
    for label in PERMISSIONS:
        app_config = apps.get_app_config(label)
        # A migration's app configs have no models module, which create_permissions skips.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        try:
            create_permissions(app_config, verbosity=0, using=using, apps=apps)
        finally:
            app_config.models_module = models_module
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    group, _ = group_model.objects.using(using).get_or_create(name=GROUP)
    for label, codenames in PERMISSIONS.items():
        permissions = permission_model.objects.using(using).filter(
            content_type__app_label=label, codename__in=codenames
        )
        found = {permission.codename for permission in permissions}
        if found != set(codenames):
            raise RuntimeError(f"Missing permissions: {sorted(set(codenames) - found)}")
        group.permissions.add(*permissions)


def moderators_group_remove(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_ban_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("chats", "0006_moderation"),
    ]

    operations = [migrations.RunPython(moderators_group_create, moderators_group_remove)]
