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

import pytest

from workflows.notify import BaseBackend

# Redis database 14 of this machine's Redis is the broker of the Celery tests (13 their cache).
BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/14")
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
    """A redis-py client of the broker's database, emptied. Skips, saying why, when Redis is not
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
    client.flushdb()
    return client
