"""Every place where the project reaches into a library's internals, one module per library.

Each names the version it was written against and says what it relies on; tests/overrides pins
those shapes, so an upgrade that changes one fails a test instead of misbehaving in production:

- daphne.py: daphne, autobahn and Twisted: bounded per-socket memory, frames built once.
- django.py: Django's ASGI handler: one hop per request onto the process's database thread.
- postgresql/: Django's PostgreSQL backend: a kept connection is checked only after it idled.
- channels.py: Channels: dispatch without a database hop; the in-memory layer counts drops.
- channels_redis.py: channels-redis: its over-capacity log line counted as a metric.
- asgiref.py: asgiref: which server loop a sync thread works for, to publish events on it.
"""
