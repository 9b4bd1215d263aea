"""`/healthz`: whether the database, the channel layer and the broker answer right now."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _channel_layer() -> None:
    """A PING to Redis as the cache reaches it: behind Sentinel, to the master it names."""
    if settings.REDIS_URL:
        import redis
        from django.utils.module_loading import import_string

        timeout = settings.BROKER_HEALTH_TIMEOUT
        options = {
            **settings.REDIS_CACHE_OPTIONS,
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
        }
        pool_class = import_string(options.pop("pool_class", "redis.ConnectionPool"))
        pool = pool_class.from_url(settings.REDIS_URL, **options)
        client = redis.Redis(connection_pool=pool)
        try:
            client.ping()
        finally:
            client.close()
            pool.disconnect()


def _broker() -> None:
    from chatproject.celery import app

    timeout = settings.BROKER_HEALTH_TIMEOUT
    # One attempt, bounded by the timeout; kombu would otherwise sleep 2 s before each retry.
    with app.connection_for_write(connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=0, timeout=timeout)


CHECKS: dict[str, Callable[[], None]] = {
    "db": _database,
    "channel_layer": _channel_layer,
    "broker": _broker,
}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = {}
    for name, check in CHECKS.items():
        try:
            check()
            report[name] = "ok"
        except Exception as exc:
            logger.warning("health check %s failed: %s", name, exc.__class__.__name__)
            report[name] = "down"
    healthy = all(state == "ok" for state in report.values())
    return JsonResponse(report, status=200 if healthy else 503)
