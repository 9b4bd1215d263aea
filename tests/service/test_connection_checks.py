"""A server process keeps its database connection and checks it with a round trip only after it
sat idle (chatproject/overrides/postgresql): in use, a check before every socket's every query
would cost a round trip each; idle, the database may have restarted under it."""

import time

import psycopg2
import pytest
from django.db import connection

from chatproject.overrides.postgresql import base

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_connection_is_checked_only_after_it_sat_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    checks: list[float] = []
    start = time.monotonic() + 3600  # long after the connection's last query
    now = [start]
    monkeypatch.setattr(base, "monotonic", lambda: now[0])

    def is_usable() -> bool:
        checks.append(now[0])
        return True

    monkeypatch.setattr(connection, "is_usable", is_usable)

    def query_at(moment: float) -> None:
        now[0] = moment
        connection.close_if_unusable_or_obsolete()  # as Channels does around each database call
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    query_at(start)  # checked, or new (replaced at CONN_MAX_AGE): either way alive now
    checks.clear()
    for seconds in (0.5, 1.2, 3.0, 3.1):
        query_at(start + seconds)

    assert checks == [start + 3.0]


def test_a_connection_cut_while_idle_is_replaced_before_it_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (first_pid,) = cursor.fetchone()
    terminate(first_pid)  # as a database restart would
    idle_for_long_enough = time.monotonic() + base.CHECK_AFTER_IDLE_SECONDS + 1
    monkeypatch.setattr(base, "monotonic", lambda: idle_for_long_enough)

    connection.close_if_unusable_or_obsolete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (second_pid,) = cursor.fetchone()

    assert second_pid != first_pid


def terminate(backend_pid: int) -> None:
    db = connection.settings_dict
    other = psycopg2.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"],
    )
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
    finally:
        other.close()
