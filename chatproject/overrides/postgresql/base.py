"""Django's PostgreSQL backend, checking a persistent connection only after it sat idle.

Written against Django 5.2.19. It relies on close_if_health_check_failed skipping its round trip
when health_check_done is set; tests/overrides checks it.

Django checks a persistent connection with a round trip (SELECT 1) before its first query after
every close_old_connections(), and Channels calls that around every database_sync_to_async call:
a round trip before every post, read mark and presence write of every socket, which was 15% of the
database thread's time in the fan-out profile (bench/README.md). A connection that served a query
moments ago is alive; one idle for longer may have been cut by a database restart, and is checked
as before. One that fails anyway fails that query (503, or an error frame), and Django replaces it
before the next, as after any error.
"""

from time import monotonic

from django.db.backends.postgresql import base

CHECK_AFTER_IDLE_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    last_used = float("-inf")

    def close_if_health_check_failed(self) -> None:
        now = monotonic()
        if now - self.last_used < CHECK_AFTER_IDLE_SECONDS:
            self.health_check_done = True
        super().close_if_health_check_failed()
        self.last_used = now
