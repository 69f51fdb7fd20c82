"""Health views. `/livez` is a trivial JSON view (the process answers): the benchmarks use it as
the bare baseline. `/healthz` is what load balancers and operators poll.

`/healthz` answers `{"ok", "database", "cache", "broker"}`, each dependency "ok", "down" or
"not configured" (the cache without REDIS_URL is the in-process one: "not configured"; the
broker without CELERY_BROKER_URL: delivery runs in the web process). HTTP 200 while the database
answers, because the service can serve (Redis and the broker are accelerators: throttles fall
back to per-process limits, messages wait in the outbox); 503 when the database does not, and
then "ok" is false. "ok" is true only when everything configured answers. Each probe has a short
timeout (REDIS_CONNECT_TIMEOUT / REDIS_SOCKET_TIMEOUT, HEALTH_BROKER_TIMEOUT).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import cache as shared_cache

log = logging.getLogger(__name__)


@require_GET
def livez(request):
    return JsonResponse({"ok": True})


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure to answer is "down"
        log.warning("health: database unreachable (%s)", exc.__class__.__name__)
        return "down"
    return "ok"


def broker_status() -> str:
    url = settings.CELERY_BROKER_URL
    if not url:
        return "not configured"
    timeout = settings.HEALTH_BROKER_TIMEOUT
    try:
        if urlsplit(url).scheme in ("redis", "rediss"):
            import redis

            client = redis.Redis.from_url(
                url, socket_connect_timeout=timeout, socket_timeout=timeout
            )
            try:
                client.ping()
            finally:
                client.close()
        else:
            from kombu import Connection

            with Connection(url, connect_timeout=timeout) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - any failure to answer is "down"
        log.warning("health: broker unreachable (%s)", exc.__class__.__name__)
        return "down"
    return "ok"


@never_cache
@require_GET
def healthz(request):
    checks = {
        "database": database_status(),
        "cache": shared_cache.redis_status(),
        "broker": broker_status(),
    }
    ok = all(value in ("ok", "not configured") for value in checks.values())
    status = 200 if checks["database"] == "ok" else 503
    return JsonResponse({"ok": ok, **checks}, status=status)
