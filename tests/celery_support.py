"""Helpers for the Celery tests: a notification backend a worker process can use, and the
Redis broker they need. (No tests here.)

`FileBackend` appends one line per message it sends to the file named by NOTIFY_FILE, opened
with O_APPEND so the lines of several worker processes never interleave:
`<notification id> <parent pid> <unix time>`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from workflows.notify import BaseBackend


def _broker_url() -> str:
    """CELERY_TEST_BROKER_URL, else the run's Redis (REDIS_URL, the cache) one database up, so a
    run that owns a Redis database for its cache owns the next one for its broker (.ci/run: 9
    and 10); else database 14 on this machine. The tests only touch queues named for the run."""
    if os.environ.get("CELERY_TEST_BROKER_URL"):
        return os.environ["CELERY_TEST_BROKER_URL"]
    cache = urlsplit(os.environ.get("REDIS_URL") or os.environ.get("CACHE_URL") or "")
    if cache.scheme != "redis":
        return "redis://127.0.0.1:6379/14"
    db = int(cache.path.strip("/") or 0)
    return urlunsplit(cache._replace(path=f"/{(db + 1) % 16}"))


BROKER_URL = _broker_url()
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


class FileBackend(BaseBackend):
    def send(self, notification) -> None:
        line = f"{notification.pk} {os.getppid()} {time.time():.6f}\n".encode()
        fd = os.open(os.environ["NOTIFY_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def sent_lines(path: Path) -> list[tuple[int, int, float]]:
    """(notification id, worker pid, unix time) for each message the FileBackend sent."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        pk, ppid, at = line.split()
        rows.append((int(pk), int(ppid), float(at)))
    return rows


def broker_or_skip(url: str = BROKER_URL):
    """A redis-py client of the broker's database. Skips, saying why, when Redis is not
    there; fails instead when CI is set (.ci/run starts Redis, so a missing one is a fault)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"Redis broker unreachable at {url} ({exc}); start redis-server to run this test"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI needs it")
        pytest.skip(reason)
    return client


def drop_queue(client, queue: str) -> None:
    """The queue's messages and kombu's bindings for it (never the whole database: another
    run may share it)."""
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
