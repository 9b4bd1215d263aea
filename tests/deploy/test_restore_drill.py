"""The restore drill, run: a backup of the test database with deploy/scripts/backup.sh, restored
with deploy/scripts/restore.sh into a database of its own, holds every row as it was, and the app
reads it and posts on from where it stopped.

These are the commands docs/deployment.md gives operators, run as they are written.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import psycopg2
import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from accounts.models import User
from chats.models import ChatType
from chats.payloads import changes_payload
from chats.selectors import chat_changes
from chats.services.messages import message_delete, message_edit, message_send, read_mark
from chats.services.reactions import reaction_add
from tests.factories import UserFactory, chat_factory, messages_factory
from tests.processes import ROOT, process_env

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SCRIPTS = ROOT / "deploy" / "scripts"

# What must come back exactly: every chat's counters, every message with its seq, version and
# state, every membership with its read marker and versions, every user's version, and the
# reactions; ordered so that two databases compare row for row.
SNAPSHOT = {
    "chats": "SELECT id, chat_type, title, last_seq, version FROM chats_chat ORDER BY id",
    "messages": (
        "SELECT id, chat_id, seq, version, user_id, text, edited, deleted, reply_to_id,"
        " reacted FROM chats_message ORDER BY id"
    ),
    "memberships": (
        "SELECT chat_id, user_id, role, last_read_seq, version, user_version"
        " FROM chats_membership ORDER BY chat_id, user_id"
    ),
    "users": "SELECT id, login, user_version FROM accounts_user ORDER BY id",
    "reactions": "SELECT message_id, user_id, emoji FROM chats_reaction ORDER BY id",
    "migrations": "SELECT app, name FROM django_migrations ORDER BY id",
}


def database_url(name: str) -> str:
    """A libpq URL for a database on the test run's server."""
    source = process_env()["DATABASE_URL"]
    return source.rsplit("/", 1)[0] + f"/{name}"


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """SNAPSHOT's rows, and each table's row count, read over a connection of its own."""
    with psycopg2.connect(url) as db, db.cursor() as cursor:
        rows = {}
        for name, query in SNAPSHOT.items():
            cursor.execute(query)
            rows[name] = cursor.fetchall()
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (table,) in sorted(cursor.fetchall()):
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - the catalog's names
            rows[f"count {table}"] = cursor.fetchall()
    db.close()
    return rows


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our scripts and interpreter, our arguments
        args,
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A new, empty database on the same server (as `createdb` makes one), dropped at the end."""
    name = f"{connection.settings_dict['NAME']}_restored_{os.getpid()}"
    admin = psycopg2.connect(database_url("postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield database_url(name)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# Run by the app on the restored database: what a client's full `sync` of the chat gets (the read
# path clients use), then a post, which needs the sequences and the chat's counters restored.
READ_AND_POST = """
import json, sys
import django
django.setup()
from django.core.serializers.json import DjangoJSONEncoder
from accounts.models import User
from chats.models import Message
from chats.payloads import changes_payload
from chats.selectors import chat_changes
from chats.services.messages import message_send

chat_id = int(sys.argv[1])
alice = User.objects.get(login="alice")
[changes] = chat_changes(user=alice, chat_id=chat_id, since=0, limit=500)
synced = json.loads(json.dumps(changes_payload(changes), cls=DjangoJSONEncoder))
last_id = Message.objects.order_by("-pk").values_list("pk", flat=True)[0]
posted, _ = message_send(chat=changes.chat, user=alice, text="after the restore")
posted = [posted.pk, posted.seq, posted.version]
print(json.dumps({"synced": synced, "last_id": last_id, "posted": posted}))
"""


def synced_here(chat_id: int, login: str) -> Any:
    """The same full sync, read by this process on the source database."""
    user = User.objects.get(login=login)
    [changes] = chat_changes(user=user, chat_id=chat_id, since=0, limit=500)
    return json.loads(json.dumps(changes_payload(changes), cls=DjangoJSONEncoder))


def test_a_backup_restores_whole_and_the_app_carries_on_from_it(
    tmp_path: Path, fresh_database: str
) -> None:
    alice = cast(User, UserFactory(login="alice"))
    bob = cast(User, UserFactory(login="bob"))
    team = chat_factory(alice, [bob])
    direct = chat_factory(alice, [bob], chat_type=ChatType.DIRECT)
    first, second, third = messages_factory(team, alice, 3)
    message_send(chat=team, user=bob, text="a reply", reply_to_id=first.pk)
    message_edit(message=second, actor=alice, text="message 2, edited")
    message_delete(message=third, actor=alice)
    reaction_add(message=first, user=bob, emoji="👍")
    read_mark(chat=team, user=bob, seq=4)
    messages_factory(direct, bob, 2, text="direct")
    source = process_env()["DATABASE_URL"]
    dump = tmp_path / "chat.dump"

    backup = run([str(SCRIPTS / "backup.sh"), str(dump)], DATABASE_URL=source)
    assert backup.returncode == 0, backup.stderr
    assert backup.stdout.strip() == str(dump)
    assert not Path(f"{dump}.partial").exists()

    restore = run([str(SCRIPTS / "restore.sh"), str(dump), fresh_database])
    assert restore.returncode == 0, restore.stderr

    # Row for row the same, read over a second connection to each.
    restored = snapshot(fresh_database)
    assert restored == snapshot(source)
    assert len(restored["messages"]) == 6
    assert len(restored["reactions"]) == 1

    # The app finds its schema complete (no migration left to apply) and syncs the chat from
    # the restored database exactly as from the source...
    app_env = process_env(DATABASE_URL=fresh_database, REDIS_URL="", DEBUG="true")
    app_env["DJANGO_SETTINGS_MODULE"] = "chatproject.settings"
    check = run([sys.executable, "manage.py", "migrate", "--check", "--noinput"], **app_env)
    assert check.returncode == 0, check.stdout + check.stderr
    app = run([sys.executable, "-c", READ_AND_POST, str(team.pk)], **app_env)
    assert app.returncode == 0, app.stderr
    seen = json.loads(app.stdout.strip().splitlines()[-1])
    assert seen["synced"] == synced_here(team.pk, "alice")
    assert sorted((m["seq"], m["text"], m["deleted"]) for m in seen["synced"]["messages"]) == [
        (1, "message 1", False),
        (2, "message 2, edited", False),
        (3, "", True),
        (4, "a reply", False),
    ]
    # ...and posts on from where it stopped: the chat's next seq and version, the next id.
    team.refresh_from_db()
    assert seen["posted"][1:] == [team.last_seq + 1, team.version + 1]
    assert seen["posted"][0] > seen["last_id"]

    # A second restore into the same database (now with tables) is refused and changes nothing.
    before = snapshot(fresh_database)
    again = run([str(SCRIPTS / "restore.sh"), str(dump), fresh_database])
    assert again.returncode != 0
    assert "already has" in again.stderr
    assert snapshot(fresh_database) == before
