"""Django's Redis cache, keeping one redis client per connection pool (`core.compat` holds the
part that reaches into Django's client), and surviving a Redis that does not answer.

The stock `RedisCacheClient.get_client` builds a new `redis.Redis` for every call, and building
one costs more CPU than the round trip itself: the public status lookup makes about eight cache
calls, so this was most of its time.

Redis is an accelerator, not a dependency of correctness. When a call fails to reach it
(connection refused, a timeout, the connection dropped mid-run), the call is answered by a
per-process in-memory cache instead, and Redis is skipped for `BREAKER_SECONDS` (a circuit
breaker: each request does not pay the timeout again); the first call after that tries Redis
again and, if it answers, closes the breaker. A warning is logged at most once a minute per
process while Redis stays away. `degraded()` tells callers the shared cache is not there, so
throttles can apply their stricter per-process limit (`degraded_limit`) and the public status
answer can skip caching (another process could not drop a stale copy kept here). With Redis up,
the fast path costs one timestamp comparison: no ping per request.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis.exceptions
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import default_key_func
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from core import compat

log = logging.getLogger(__name__)

#: What "Redis did not answer" raises (BusyLoadingError is a ConnectionError too).
UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
WARNING_EVERY = 60.0  # seconds between two "Redis unreachable" warnings of one process
MAX_PENDING_DELETES = 10000  # beyond this, the TTLs bound what a lost delete leaves behind


def _now() -> float:
    return time.monotonic()


class _Breaker:
    """Per-process state of one Redis location, shared by every thread's cache instance
    (Django builds one cache object per thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = 0.0  # monotonic; Redis is skipped before this
        self.down_since: float | None = None
        self.last_warning = float("-inf")
        self.failures = 0
        self.pending_deletes: set[str] = set()  # made keys deleted while Redis was away

    def open(self, seconds: float, error: BaseException, location: str) -> None:
        now = _now()
        with self.lock:
            self.down_until = now + seconds
            self.failures += 1
            if self.down_since is None:
                self.down_since = now
            warn = now - self.last_warning >= WARNING_EVERY
            if warn:
                self.last_warning = now
        if warn:
            log.warning(
                "Redis at %s unreachable (%s: %s); throttles and lock-outs use this process's "
                "stricter limits and the cache is per-process until it answers",
                location,
                error.__class__.__name__,
                error,
            )

    def close(self, location: str) -> list[str]:
        """Mark Redis back; returns the keys deleted meanwhile, for the caller to delete there."""
        with self.lock:
            was_down, self.down_since, self.down_until = self.down_since, None, 0.0
            pending, self.pending_deletes = list(self.pending_deletes), set()
        if was_down is not None:
            log.warning("Redis at %s answers again after %.1f s", location, _now() - was_down)
        return pending

    def remember_deletes(self, keys: list[str]) -> None:
        with self.lock:
            if len(self.pending_deletes) < MAX_PENDING_DELETES:
                self.pending_deletes.update(keys)


_offline = False  # set by manage.py for commands that don't need Redis (OFFLINE_COMMANDS)

#: Management commands that never need the shared cache: they run on the per-process one and
#: don't open a connection to Redis at all (manage.py). Others (runserver, shell, the delivery
#: and reminder commands, axes' resets) use Redis like the web processes, surviving its absence.
OFFLINE_COMMANDS = frozenset(
    {
        "audit_ledgers",
        "changepassword",
        "check",
        "collectstatic",
        "compilemessages",
        "create_center",
        "create_staff",
        "createsuperuser",
        "import_serials",
        "makemigrations",
        "migrate",
        "print_ticket",
        "seed_demo",
        "showmigrations",
        "sqlmigrate",
    }
)


def stay_offline() -> None:
    """Never reach Redis in this process (a management command in OFFLINE_COMMANDS). Cached
    public status answers its changes would drop expire with their TTL (workflows/public_cache)."""
    global _offline
    _offline = True


_breakers: dict[str, _Breaker] = {}
_breakers_lock = threading.Lock()


def _breaker_for(location: str) -> _Breaker:
    with _breakers_lock:
        return _breakers.setdefault(location, _Breaker())


class PooledRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        compat.use_pooled_clients(self)
        self.breaker_seconds = float(params.get("BREAKER_SECONDS", 5))
        self._location = server if isinstance(server, str) else ",".join(server)
        self._breaker = _breaker_for(self._location)
        self._fallback = LocMemCache(
            "redis-fallback:" + self._location,
            {"TIMEOUT": params.get("TIMEOUT", 300), "OPTIONS": {"MAX_ENTRIES": 10000}},
        )
        self._fallback.key_prefix = self.key_prefix
        self._fallback.version = self.version
        self._fallback.key_func = self.key_func

    # --- the breaker -------------------------------------------------------------------------

    def degraded(self) -> bool:
        """True while Redis is being skipped after a failure (or never used: `stay_offline`)."""
        return _offline or _now() < self._breaker.down_until

    def redis_failed(self, error: BaseException) -> None:
        """Record a failure seen by a caller that used the redis client directly."""
        self._breaker.open(self.breaker_seconds, error, self._location)

    def redis_answered(self) -> None:
        if self._breaker.down_since is None:
            return
        pending = self._breaker.close(self._location)
        if pending:
            # A delete made while Redis was away (a public status answer dropped after a
            # change) is made there now, so a copy cached before the outage is not served.
            try:
                compat.redis_client(self).delete(*pending)
            except UNREACHABLE as error:
                self._breaker.remember_deletes(pending)
                self.redis_failed(error)

    def redis_client(self) -> Any:
        """The pooled redis client for a pipelined fast path, or None while degraded. Coming
        back from an outage, the deletes made meanwhile are made first, so the caller's first
        read cannot see a copy they dropped."""
        if self.degraded():
            return None
        self._catch_up()
        return None if self.degraded() else compat.redis_client(self)

    def _catch_up(self) -> None:
        if self._breaker.pending_deletes:
            self.redis_answered()

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if not self.degraded():
            self._catch_up()
        if not self.degraded():
            try:
                result = getattr(super(), name)(*args, **kwargs)
            except UNREACHABLE as error:
                self.redis_failed(error)
            else:
                self.redis_answered()
                return result
        # A key deleted here while Redis is away is deleted there when it is back, so a copy
        # cached before the outage is not served after it. So is a key written by set_many:
        # generation stamps use it (workflows/detail_cache), and a stamp moved on in this
        # process alone must not leave Redis with the old one, under which old bodies are kept
        # (the board's cards use it too: deleting one of those is only a miss).
        if name in ("delete", "delete_many", "set_many"):
            keys = [args[0]] if name == "delete" else list(args[0])
            at = 2 if name == "set_many" else 1  # set_many(data, timeout, version)
            version = kwargs.get("version", args[at] if len(args) > at else None)
            self._breaker.remember_deletes(
                [self.make_and_validate_key(key, version=version) for key in keys]
            )
        return getattr(self._fallback, name)(*args, **kwargs)

    # --- every method RedisCache implements (BaseCache's others are built on these) ----------

    def add(self, *args, **kwargs):
        return self._call("add", *args, **kwargs)

    def get(self, *args, **kwargs):
        return self._call("get", *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._call("set", *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._call("touch", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args, **kwargs):
        return self._call("get_many", *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args, **kwargs):
        return self._call("incr", *args, **kwargs)

    def set_many(self, *args, **kwargs):
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._call("delete_many", *args, **kwargs)

    def clear(self):
        self._fallback.clear()
        return self._call("clear")


# --- for callers -------------------------------------------------------------------------------


def degraded(cache: Any = None) -> bool:
    """True while the shared cache is Redis and Redis is being skipped after a failure."""
    cache = caches["default"] if cache is None else cache
    return isinstance(cache, PooledRedisCache) and cache.degraded()


def degraded_limit(limit: int) -> int:
    """A throttle's limit while the shared cache is down: counts are then per process, so the
    limit is divided by THROTTLE_DIVISOR_WITHOUT_REDIS (stricter, never below 1, never off)."""
    return max(1, int(limit) // max(1, settings.THROTTLE_DIVISOR_WITHOUT_REDIS))


def limit_now(limit: int) -> int:
    """`limit`, or its stricter per-process form while the shared cache is down."""
    return degraded_limit(limit) if degraded() else limit


def pipelined(run: Callable[[Any], Any], cache: Any = None) -> Any:
    """`run(redis client)` on the shared Redis, or None when the cache is not Redis, Redis is
    being skipped, or it fails now (the failure opens the breaker): the caller then takes its
    in-process path through the cache API."""
    cache = caches["default"] if cache is None else cache
    if not isinstance(cache, PooledRedisCache):
        return None
    client = cache.redis_client()
    if client is None:
        return None
    try:
        result = run(client)
    except UNREACHABLE as error:
        cache.redis_failed(error)
        return None
    cache.redis_answered()
    return result


class Script:
    """A Lua script run by its SHA1 (EVALSHA): one round trip. A Redis that lost it (restarted,
    or new behind the same address) answers NoScriptError; it is then loaded once and run
    again."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis's script id

    def __call__(self, client: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            client.script_load(self.source)
            return client.evalsha(self.sha, len(keys), *keys, *args)


def key_function(cache: Any = None) -> Callable[[str], str]:
    """`cache.make_key` for many keys a request: with the default KEY_FUNCTION a concatenation
    with the prefix and version (what make_key computes), else make_key itself."""
    cache = caches["default"] if cache is None else cache
    if cache.key_func is not default_key_func:
        return cache.make_key
    prefix = cache.make_key("")
    return prefix.__add__


def decode(raw: bytes, cache: Any = None) -> Any:
    """A value read raw from Redis (a script's reply, an MGET), as the cache API would return
    it: the cache's own serializer."""
    cache = caches["default"] if cache is None else cache
    return cache._cache._serializer.loads(raw)


def get_in_order(keys: list[str], cache: Any = None) -> list[Any]:
    """The cached values of `keys`, in their order, None for a miss. On Redis one MGET without
    the cache API's per-key checks (the repair detail's body and stamps, each request);
    otherwise, or while Redis is away, the cache API's `get_many`."""
    cache = caches["default"] if cache is None else cache  # not the proxy, looked up per key

    def run(client: Any) -> list[Any]:
        loads, make_key = cache._cache._serializer.loads, key_function(cache)
        raw = client.mget([make_key(key) for key in keys])
        return [None if value is None else loads(value) for value in raw]

    got = pipelined(run, cache)
    if got is None:
        found = cache.get_many(keys)
        got = [found.get(key) for key in keys]
    return got


def redis_status(cache: Any = None) -> str:
    """For /healthz: "ok", "down" or "not configured" (a cheap PING with the short timeouts;
    a failure opens the breaker, an answer closes it)."""
    cache = caches["default"] if cache is None else cache
    if not isinstance(cache, PooledRedisCache):
        return "not configured"
    try:
        compat.redis_client(cache).ping()
    except UNREACHABLE as error:
        cache.redis_failed(error)
        return "down"
    cache.redis_answered()
    return "ok"
