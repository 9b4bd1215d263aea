"""Times the versions migration (accounts 0004, chats 0010) on PostgreSQL with many messages.

    .venv/bin/python bench/migration_versions.py                    # 1 x 1,000,000 and 10 x 100,000
    .venv/bin/python bench/migration_versions.py --scenarios 1x1000000
    .venv/bin/python bench/migration_versions.py --alternatives     # and two other ways to backfill

For each scenario (CHATSxMESSAGES) it creates the scratch database BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/bench_migration; its name must contain "bench", since it is
dropped), migrates it to the state before the versions migration (accounts 0003, chats 0009, every
other app to its latest), seeds users, chats of a few members and their messages in bulk by SQL
(seqs 1..N, 60-100 characters of words, a client_id on each as the web client sends), runs VACUUM
ANALYZE and a CHECKPOINT, and then times `manage.py migrate` forward to the latest: Django's migrate
command in a child process, each SQL statement timed through a connection execute wrapper. It prints
the total, each migration, each statement over 10 ms, the WAL written, the messages table before and
after (and after a VACUUM, which autovacuum would run later), and drops the database.

With --alternatives, on copies of the first scenario's seeded database, it also times the backfill
of chats_message.version by an UPDATE of every row (how the migration first did it) against the
table rewrite it now does (ALTER COLUMN ... TYPE bigint USING seq), each followed by the
(chat, version) index.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_migration"
)
MEMBERS = 5
SHOWN_STATEMENT_SECONDS = 0.01
WORDS = (
    "the a to and I you it is that of in on for this we be have at with just so can not but what"
    " are do was will get if all my me your they there now know one time about like think good"
    " yes no ok okay sure thanks today tomorrow yesterday morning tonight meeting call later soon"
    " please check send see look update deploy release build test fix bug issue ticket branch"
    " review merge server database message chat team project plan doc docs link file report"
    " number figure lunch coffee weekend monday friday week month back home office remote working"
    " done again still already maybe probably really great nice cool agree right wrong problem"
    " question answer idea change version migration index query slow fast minute hour"
).split()


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def child_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatproject.settings",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdef0123456789abcdef",
        "DEBUG": "false",
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
    }


def run(args: list[str], url: str) -> str:
    done = subprocess.run(  # noqa: S603
        args, capture_output=True, text=True, cwd=ROOT, env=child_env(url)
    )
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        done.check_returncode()
    return done.stdout


def manage(url: str, *args: str) -> str:
    return run([sys.executable, "manage.py", *args], url)


@contextmanager
def connect(url: str) -> Iterator[Any]:
    import psycopg2

    connection = psycopg2.connect(url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def database_create(url: str, template: str | None = None) -> None:
    name = database_name(url)
    if "bench" not in name:
        raise SystemExit(f"refusing to drop and create {name!r}: its name must contain 'bench'")
    with connect(with_database(url, "postgres")) as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template:
            cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        else:
            cursor.execute(f'CREATE DATABASE "{name}"')


def database_drop(url: str) -> None:
    with connect(with_database(url, "postgres")) as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def planned(url: str) -> list[str]:
    """The migrations `migrate` would apply, in order."""
    output = manage(url, "migrate", "--plan")
    return [line.strip() for line in output.splitlines()[1:] if line and not line[0].isspace()]


def migrate_before_versions(url: str) -> list[str]:
    manage(url, "migrate", "accounts", "0003")
    manage(url, "migrate", "chats", "0009")
    for app in sorted({name.split(".")[0] for name in planned(url)} - {"accounts", "chats"}):
        manage(url, "migrate", app)
    plan = planned(url)
    if plan[:2] != ["accounts.0004_user_version", "chats.0010_versions"]:
        raise SystemExit(f"unexpected plan before the timed migrate: {plan}")
    return plan


def seed(url: str, chats: int, messages: int) -> float:
    start = time.perf_counter()
    with connect(url) as cursor:
        cursor.execute(
            "INSERT INTO accounts_user (password, is_superuser, login, name, status, is_active,"
            " is_staff, created, updated)"
            " SELECT '!', false, 'bench-' || n, 'Bench ' || n, 'offline', true, false, now(), now()"
            " FROM generate_series(1, %s) AS n RETURNING id",
            [chats * MEMBERS],
        )
        users = sorted(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT setseed(0.42)")
        for n in range(chats):
            members = users[n * MEMBERS : (n + 1) * MEMBERS]
            cursor.execute(
                "INSERT INTO chats_chat (title, description, chat_type, last_seq, last_activity,"
                " created, updated, creator_id)"
                " VALUES (%s, '', 'group', %s, now(), now(), now(), %s) RETURNING id",
                [f"bench {n}", messages, members[0]],
            )
            chat_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO chats_membership (role, joined, last_read_seq, chat_id, user_id)"
                " SELECT CASE WHEN ord = 1 THEN 'owner' ELSE 'member' END, now(), %s, %s, member"
                " FROM unnest(%s::bigint[]) WITH ORDINALITY AS m(member, ord)",
                [messages, chat_id, members],
            )
            # 11-17 words from WORDS, trimmed to 100 characters: 60-100 characters each.
            cursor.execute(
                "INSERT INTO chats_message (chat_id, seq, user_id, text, client_id, created,"
                " updated, edited, deleted, removal_reason)"
                " SELECT %(chat)s, s, (%(members)s::bigint[])[1 + s %% %(size)s],"
                " (SELECT left(string_agg("
                "   (%(words)s::text[])[1 + floor(random() * %(vocabulary)s)::int], ' '), 100)"
                "  FROM generate_series(1, 11 + s %% 7)),"
                " gen_random_uuid()::text, at, at, false, false, ''"
                " FROM generate_series(1, %(count)s) AS s,"
                " LATERAL (SELECT now() - (%(count)s - s) * interval '30 seconds' AS at) AS t",
                {
                    "chat": chat_id,
                    "members": members,
                    "size": len(members),
                    "words": list(WORDS),
                    "vocabulary": len(WORDS),
                    "count": messages,
                },
            )
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")
    return time.perf_counter() - start


def table_sizes(url: str) -> dict[str, Any]:
    with connect(url) as cursor:
        cursor.execute(
            "SELECT pg_relation_size('chats_message'), pg_indexes_size('chats_message'),"
            " pg_total_relation_size('chats_message'),"
            " (SELECT count(*) FROM chats_message),"
            " (SELECT avg(length(text)) FROM chats_message)"
        )
        heap, indexes, total, rows, text = cursor.fetchone()
    return {"heap": heap, "indexes": indexes, "total": total, "rows": rows, "text": float(text)}


def wal_lsn(url: str) -> str:
    with connect(url) as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        return str(cursor.fetchone()[0])


def wal_since(url: str, lsn: str) -> int:
    with connect(url) as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [lsn])
        return int(cursor.fetchone()[0])


def message_updates(url: str) -> tuple[int, int]:
    with connect(url) as cursor:
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
            " WHERE relname = 'chats_message'"
        )
        updated, hot = cursor.fetchone()
    return int(updated), int(hot)


def timed_migrate() -> None:
    """The child: Django's migrate command, as `manage.py migrate` runs it, every statement timed.
    Prints one JSON line last (post_migrate handlers print to stdout at verbosity 2)."""
    import io

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    statements: list[tuple[str, float]] = []

    def timer(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((sql, time.perf_counter() - start))

    output = io.StringIO()
    start = time.perf_counter()
    with connection.execute_wrapper(timer):
        call_command("migrate", interactive=False, verbosity=2, stdout=output)
    total = time.perf_counter() - start
    migrations = [
        (name, float(seconds))
        for name, seconds in re.findall(r"Applying (\S+)\.\.\. OK \(([\d.]+)s\)", output.getvalue())
    ]
    print(json.dumps({"total": total, "migrations": migrations, "statements": statements}))


def measure(url: str, chats: int, messages: int) -> dict[str, Any]:
    database_create(url)
    try:
        plan = migrate_before_versions(url)
        seeded = seed(url, chats, messages)
        before = table_sizes(url)
        updates = message_updates(url)
        lsn = wal_lsn(url)
        start = time.perf_counter()
        output = run([sys.executable, __file__, "--child"], url)
        wall = time.perf_counter() - start
        wal = wal_since(url, lsn)
        updated, hot = (a - b for a, b in zip(message_updates(url), updates, strict=True))
        after = table_sizes(url)
        with connect(url) as cursor:
            start = time.perf_counter()
            cursor.execute("VACUUM chats_message")
            vacuum = time.perf_counter() - start
        vacuumed = table_sizes(url)
    finally:
        database_drop(url)
    return {
        "scenario": f"{chats} x {messages:,}",
        "plan": plan,
        "seed_s": seeded,
        "wall_s": wall,
        "wal_bytes": wal,
        "message_updates": updated,
        "message_hot_updates": hot,
        "vacuum_s": vacuum,
        "sizes": {"before": before, "after": after, "after VACUUM": vacuumed},
        **json.loads(output.splitlines()[-1]),
    }


# The backfill of chats_message.version and its index, two ways, on copies of a seeded database.
ALTERNATIVES = {
    "ADD COLUMN, UPDATE (as the migration)": [
        "ALTER TABLE chats_message ADD COLUMN version bigint DEFAULT 0 NOT NULL",
        "ALTER TABLE chats_message ALTER COLUMN version DROP DEFAULT",
        "UPDATE chats_message SET version = seq",
        "CREATE INDEX message_chat_version ON chats_message (chat_id, version)",
    ],
    "ADD COLUMN, rewrite with ALTER TYPE USING seq": [
        "ALTER TABLE chats_message ADD COLUMN version bigint DEFAULT 0 NOT NULL",
        "ALTER TABLE chats_message ALTER COLUMN version DROP DEFAULT",
        "ALTER TABLE chats_message ALTER COLUMN version TYPE bigint USING seq",
        "CREATE INDEX message_chat_version ON chats_message (chat_id, version)",
    ],
}


def alternatives(url: str, chats: int, messages: int) -> dict[str, Any]:
    template = with_database(url, f"{database_name(url)}_template")
    database_create(template)
    results: dict[str, Any] = {}
    try:
        migrate_before_versions(template)
        seed(template, chats, messages)
        for name, statements in ALTERNATIVES.items():
            database_create(url, template=database_name(template))
            try:
                with connect(url) as cursor:
                    cursor.execute("CHECKPOINT")
                    timings = []
                    start = time.perf_counter()
                    cursor.execute("BEGIN")
                    for sql in statements:
                        step = time.perf_counter()
                        cursor.execute(sql)
                        timings.append((sql, time.perf_counter() - step))
                    step = time.perf_counter()
                    cursor.execute("COMMIT")
                    timings.append(("COMMIT", time.perf_counter() - step))
                    total = time.perf_counter() - start
                results[name] = {"total": total, "statements": timings, "sizes": table_sizes(url)}
            finally:
                database_drop(url)
    finally:
        database_drop(template)
    return {"scenario": f"{chats} x {messages:,}", "alternatives": results}


def mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def short(sql: str) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= 90 else sql[:87] + "..."


def print_result(result: dict[str, Any]) -> None:
    print(f"\n## {result['scenario']} messages: migrate {', '.join(result['plan'][:2])}, ...\n")
    print(f"seeded in {result['seed_s']:.1f} s (VACUUM ANALYZE and CHECKPOINT included)\n")
    print("| step | seconds |\n|---|---:|")
    print(f"| manage.py migrate, process wall time | {result['wall_s']:.2f} |")
    print(f"| migrate command (call_command) | {result['total']:.2f} |")
    for name, seconds in result["migrations"]:
        print(f"| - {name} | {seconds:.2f} |")
    shown = [(sql, s) for sql, s in result["statements"] if s >= SHOWN_STATEMENT_SECONDS]
    for sql, seconds in shown:
        print(f"| -- `{short(sql)}` | {seconds:.2f} |")
    rest = [s for _, s in result["statements"] if s < SHOWN_STATEMENT_SECONDS]
    print(f"| -- {len(rest)} other statements | {sum(rest):.2f} |")
    print(f"| VACUUM chats_message afterwards (not part of migrate) | {result['vacuum_s']:.2f} |")
    print(
        f"\nWAL written by the migrate: {mib(result['wal_bytes'])}; chats_message rows updated:"
        f" {result['message_updates']:,}, of which HOT: {result['message_hot_updates']:,}\n"
    )
    print_sizes(result["sizes"])


def print_sizes(sizes: dict[str, dict[str, Any]]) -> None:
    print("| chats_message | rows | avg text chars | heap | indexes | total |")
    print("|---|---:|---:|---:|---:|---:|")
    for when, size in sizes.items():
        print(
            f"| {when} | {size['rows']:,} | {size['text']:.0f} | {mib(size['heap'])}"
            f" | {mib(size['indexes'])} | {mib(size['total'])} |"
        )


def print_alternatives(result: dict[str, Any]) -> None:
    print(f"\n## Backfilling chats_message.version, {result['scenario']} messages, two ways\n")
    print("| way | statement | seconds |\n|---|---|---:|")
    for name, found in result["alternatives"].items():
        for sql, seconds in found["statements"]:
            print(f"| {name} | `{short(sql)}` | {seconds:.2f} |")
        print(f"| {name} | **total** | **{found['total']:.2f}** |")
    print()
    print_sizes({name: found["sizes"] for name, found in result["alternatives"].items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scenarios", default="1x1000000,10x100000", help="CHATSxMESSAGES, comma-separated"
    )
    parser.add_argument("--alternatives", action="store_true", help="time two ways to backfill")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        timed_migrate()
        return
    with connect(with_database(DATABASE_URL, "postgres")) as cursor:
        cursor.execute("SHOW server_version")
        print(f"PostgreSQL {cursor.fetchone()[0]}, database {database_name(DATABASE_URL)}")
    scenarios = [tuple(int(n) for n in s.split("x")) for s in args.scenarios.split(",")]
    results = []
    for chats, messages in scenarios:
        result = measure(DATABASE_URL, chats, messages)
        print_result(result)
        results.append(result)
    if args.alternatives:
        chats, messages = scenarios[0]
        result = alternatives(DATABASE_URL, chats, messages)
        print_alternatives(result)
        results.append(result)
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
