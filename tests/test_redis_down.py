"""Redis is an accelerator, not a dependency of correctness (core/cache.py).

With REDIS_URL at a closed port: the public lookup, the token, the sign-in page, intake and a
transition answer without a 5xx; the throttles still refuse a flood, with their stricter
per-process limits; the warning is logged once a minute, not per request; /healthz says the
cache is down; commands that don't need Redis don't touch it. With a private redis-server that
goes away mid-run: the app degrades, and uses Redis again when it is back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import redis
from django.core.cache import cache, caches
from django.db import connection
from django.db.utils import OperationalError
from django.test import Client
from django.test.utils import CaptureQueriesContext
from redis.backoff import NoBackoff
from redis.retry import Retry

from core import cache as shared_cache
from tests.conftest import PASSWORD
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import get, post, transition

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
CLOSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once
HOME = "192.0.2.10"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_caches(url: str, breaker_seconds: float = 5.0) -> dict:
    return {
        "default": {
            "BACKEND": "core.cache.PooledRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "redis-down-test",
            "BREAKER_SECONDS": breaker_seconds,
            "OPTIONS": {
                "socket_connect_timeout": 0.25,
                "socket_timeout": 0.5,
                "retry": Retry(NoBackoff(), 1),  # as in settings
            },
        }
    }


def _forget_breakers() -> None:
    shared_cache._breakers.clear()


@pytest.fixture
def redis_down(settings):
    """The shared cache is Redis at a closed port; fresh breaker state."""
    _forget_breakers()
    settings.CACHES = _redis_caches(CLOSED)
    cache.clear()  # only the per-process stand-in: Redis is not there
    yield
    cache.clear()
    _forget_breakers()


def lookup(client, ticket, last4="6789", address=HOME):
    body = {"ticket_number": ticket, "phone_last4": last4}
    return post(client, "/public/status/", body, REMOTE_ADDR=address)


def test_the_cache_backend_falls_back_without_raising(redis_down):
    cache.set("k", 1)
    assert cache.get("k") == 1 and cache.incr("k") == 2 and cache.add("k", 5) is False
    assert cache.get_many(["k", "none"]) == {"k": 2}
    cache.delete("k")
    assert cache.get("k") is None
    assert shared_cache.degraded()


def test_the_breaker_skips_redis_after_a_failure(settings):
    """A Redis that accepts and drops every connection: ten cache calls connect at most twice
    (the first call and its one immediate retry), the others skip Redis for BREAKER_SECONDS."""
    listener = _CountingListener()
    try:
        _forget_breakers()
        settings.CACHES = _redis_caches(f"redis://127.0.0.1:{listener.port}/0")
        for n in range(10):
            cache.set(f"k{n}", n)
            assert cache.get(f"k{n}") == n
        assert 1 <= listener.accepted <= 2
        assert shared_cache.degraded()
    finally:
        listener.close()
        _forget_breakers()


def test_public_lookup_token_signin_intake_and_transition_answer_without_5xx(
    redis_down, anon_api, desk_api, desk, tech, intake
):
    ticket = intake()
    assert shared_cache.degraded()
    found = lookup(anon_api, ticket)
    assert found.status_code == 200 and found.json()["ticket_number"] == ticket
    assert lookup(anon_api, ticket, "0000").status_code == 404
    # The token link, too.
    token_link = get(desk_api, f"/repairs/{ticket}/").json()["status_token"]
    assert post(anon_api, "/public/status/", {"token": token_link}).status_code == 200
    # A transition, with an Idempotency-Key (its replay store is the per-process stand-in).
    assigned = transition(
        desk_api, ticket, "assign", {"technician": "tech"}, HTTP_IDEMPOTENCY_KEY="assign-1"
    )
    assert assigned.status_code == 200, assigned.json()
    # The public answer follows the change at once: it is computed from the database.
    assert lookup(anon_api, ticket).json()["state"] == assigned.json()["state"]
    # The API token.
    api_token = post(anon_api, "/auth/token/", {"username": "desk", "password": PASSWORD})
    assert api_token.status_code == 200 and api_token.json()["token"]
    # The sign-in page and a session.
    client = Client()
    assert client.get("/login/").status_code == 200
    signed = client.post("/login/", {"username": "desk", "password": PASSWORD}, REMOTE_ADDR=HOME)
    assert signed.status_code == 302 and "_auth_user_id" in client.session
    assert client.get(signed["Location"], follow=True).status_code == 200


def test_the_public_lookup_costs_the_same_queries_on_every_repeat(redis_down, anon_api, intake):
    ticket = intake()
    counts = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            assert lookup(anon_api, ticket).status_code == 200
        counts.append(len(queries))
    assert counts[1] == counts[2] and counts[0] >= counts[1]


def test_the_per_ip_throttle_refuses_a_flood_with_its_stricter_limit(
    redis_down, anon_api, intake, settings
):
    ticket = intake()
    settings.PUBLIC_LOOKUP_RATE_PER_IP = 10
    settings.THROTTLE_DIVISOR_WITHOUT_REDIS = 2
    settings.PUBLIC_LOOKUP_FAILURES_PER_TICKET = 100  # refused lookups count there too
    answers = [lookup(anon_api, ticket).status_code for _ in range(7)]
    assert answers == [200] * 5 + [429] * 2
    # Another address is not affected.
    assert lookup(anon_api, ticket, address="198.51.100.20").status_code == 200


def test_the_ticket_lock_out_holds_with_its_stricter_limit(redis_down, anon_api, intake, settings):
    ticket = intake()
    settings.PUBLIC_LOOKUP_FAILURES_PER_TICKET = 4
    settings.THROTTLE_DIVISOR_WITHOUT_REDIS = 2
    guesses = [
        lookup(anon_api, ticket, f"{n:04d}", address=f"203.0.113.{n}").status_code for n in range(3)
    ]
    assert guesses == [404, 404, 429]
    # Locked for everyone now, the right digits too.
    refused = lookup(anon_api, ticket, address="198.51.100.99")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0


def test_the_token_sign_in_locks_with_its_stricter_limit(redis_down, anon_api, desk, settings):
    settings.AXES_FAILURE_LIMIT = 4
    settings.THROTTLE_DIVISOR_WITHOUT_REDIS = 2
    body = {"username": "desk", "password": "wrong"}
    answers = [post(anon_api, "/auth/token/", body, REMOTE_ADDR=HOME).status_code for _ in range(3)]
    assert answers == [400, 429, 429]
    right = {"username": "desk", "password": PASSWORD}
    locked = post(anon_api, "/auth/token/", right, REMOTE_ADDR=HOME)
    assert locked.status_code == 429 and locked.json()["code"] == "throttled"


def test_the_warning_is_logged_once_a_minute_not_per_request(
    settings, anon_api, intake, caplog, monkeypatch
):
    _forget_breakers()
    settings.CACHES = _redis_caches(CLOSED, breaker_seconds=0.001)  # every call tries Redis
    clock = [1000.0]
    monkeypatch.setattr(shared_cache, "_now", lambda: clock[0])
    ticket = intake()
    caplog.set_level(logging.WARNING, logger="core.cache")

    def warnings() -> int:
        return sum("unreachable" in r.getMessage() for r in caplog.records)

    for _ in range(5):
        clock[0] += 1
        assert lookup(anon_api, ticket).status_code == 200
    assert warnings() == 1
    clock[0] += 61
    assert lookup(anon_api, ticket).status_code == 200
    assert warnings() == 2
    _forget_breakers()


def test_healthz_reports_each_dependency(redis_down, settings, monkeypatch):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/1"
    client = Client()
    health = client.get("/healthz")
    assert health.status_code == 200  # the database answers: the service can serve
    assert health.json() == {"ok": False, "database": "ok", "cache": "down", "broker": "down"}
    settings.CELERY_BROKER_URL = ""
    assert client.get("/healthz").json()["broker"] == "not configured"

    class Dead:
        def cursor(self):
            raise OperationalError("server closed the connection")

    from service_center import views_health

    monkeypatch.setattr(views_health, "connection", Dead())
    down = client.get("/healthz")
    assert down.status_code == 503 and down.json()["database"] == "down"
    assert down.json()["ok"] is False
    assert client.get("/livez").json() == {"ok": True}  # unchanged, whatever is down


def test_healthz_without_redis_configured(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.CELERY_BROKER_URL = ""
    assert client.get("/healthz").json() == {
        "ok": True,
        "database": "ok",
        "cache": "not configured",
        "broker": "not configured",
    }


# --- management commands -----------------------------------------------------------------------


def _command_env(workdir: Path, redis_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL",)}
    env.update(
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="service_center.settings",
    )
    return env


class _CountingListener:
    """A TCP port that accepts connections and counts them (a stand-in for Redis)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


def test_commands_that_dont_need_redis_succeed_and_never_connect_to_it():
    workdir = Path(tempfile.mkdtemp(prefix="redis-down-"))
    listener = _CountingListener()
    try:
        python = sys.executable
        # seed_demo with Redis at a closed port: it succeeds, with no traceback.
        closed = _command_env(workdir, CLOSED)
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=closed, check=True)
        seeded = subprocess.run(
            [python, "manage.py", "seed_demo"],
            cwd=ROOT,
            env=closed,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert seeded.returncode == 0, seeded.stderr
        assert "Traceback" not in seeded.stderr and "Redis" not in seeded.stderr
        # A Redis that answers the TCP connect: audit_ledgers and check never open one.
        listening = _command_env(workdir, f"redis://127.0.0.1:{listener.port}/0")
        for command in (["audit_ledgers"], ["check"]):
            done = subprocess.run(
                [python, "manage.py", *command],
                cwd=ROOT,
                env=listening,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
        assert listener.accepted == 0
    finally:
        listener.close()
        shutil.rmtree(workdir, ignore_errors=True)


# --- Redis going away mid-run ------------------------------------------------------------------


class _RedisServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def private_redis(settings, monkeypatch):
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed, and CI needs it for this test")
        pytest.skip("redis-server is not installed")
    server = _RedisServer(_free_port())
    server.start()
    _forget_breakers()
    # The breaker's clock is the test's: a loaded machine must not let its 0.2 s pass unseen.
    server.clock = [1000.0]
    monkeypatch.setattr(shared_cache, "_now", lambda: server.clock[0])
    settings.CACHES = _redis_caches(f"redis://127.0.0.1:{server.port}/0", breaker_seconds=0.2)
    try:
        yield server
    finally:
        server.stop()
        caches["default"]._fallback.clear()
        _forget_breakers()


def _keys(port: int) -> list[bytes]:
    return redis.Redis(port=port).keys("redis-down-test:*")


def test_redis_stopped_mid_run_degrades_and_recovers(private_redis, anon_api, intake, caplog):
    ticket = intake()
    client = Client()
    assert lookup(anon_api, ticket).status_code == 200
    assert not shared_cache.degraded() and client.get("/healthz").json()["cache"] == "ok"
    assert any(b"pubstatus" in key for key in _keys(private_redis.port))  # cached there

    private_redis.stop()
    caplog.set_level(logging.WARNING, logger="core.cache")
    assert lookup(anon_api, ticket).status_code == 200  # the pooled connection is dead now
    assert shared_cache.degraded()
    for _ in range(3):
        assert lookup(anon_api, ticket).status_code == 200
    assert client.get("/healthz").json()["cache"] == "down"

    private_redis.start()  # empty: --save ''
    private_redis.clock[0] += 0.25  # the breaker's few seconds (0.2 here) go by
    assert lookup(anon_api, ticket).status_code == 200
    assert not shared_cache.degraded()
    assert client.get("/healthz").json()["cache"] == "ok"
    keys = _keys(private_redis.port)
    assert any(b"pub:ip:" in key for key in keys) and any(b"pubstatus" in key for key in keys)
    assert any("answers again" in r.getMessage() for r in caplog.records)


@contextlib.contextmanager
def unreachable_from_here(monkeypatch):
    """Redis keeps running and keeps its data; only this process cannot connect to it."""
    shared_cache.compat.redis_client(caches["default"]).connection_pool.disconnect()

    def refuse(self):
        raise redis.exceptions.ConnectionError("refused (test)")

    with monkeypatch.context() as patch:
        patch.setattr(redis.connection.AbstractConnection, "connect", refuse)
        yield


def test_a_delete_made_while_redis_was_unreachable_is_made_there_when_it_is_back(
    private_redis, anon_api, desk_api, tech, intake, monkeypatch
):
    """The public answer cached in Redis before an outage is dropped by a change made during it,
    once Redis answers again (here Redis keeps its data: only this process cannot reach it)."""
    ticket = intake()
    before = lookup(anon_api, ticket).json()["state"]
    assert any(b"pubstatus" in key for key in _keys(private_redis.port))

    with unreachable_from_here(monkeypatch):
        changed = transition(desk_api, ticket, "assign", {"technician": "tech"})
        assert changed.status_code == 200 and changed.json()["state"] != before
        assert shared_cache.degraded()
    private_redis.clock[0] += 0.25  # the breaker's 0.2 s go by
    # Back: the stale copy in Redis was dropped, so the answer is the new state.
    assert lookup(anon_api, ticket).json()["state"] == changed.json()["state"]
    assert not shared_cache.degraded()


def test_with_redis_up_a_repeat_lookup_costs_one_round_trip_and_no_ping(
    private_redis, anon_api, intake, monkeypatch
):
    """The fast path: both throttle counters, the remembered ticket, the right answer's give-back
    and the cached answer in one script, sent as one command. Nothing else: no ping."""
    ticket = intake()
    assert lookup(anon_api, ticket).status_code == 200
    sent: list[bytes] = []
    original = redis.connection.AbstractConnection.send_packed_command

    def spy(self, command, check_health=True):
        sent.append(b"".join(command) if isinstance(command, list) else command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", spy)
    assert lookup(anon_api, ticket).status_code == 200
    assert len(sent) == 1
    assert b"EVALSHA" in sent[0] and b"6789" not in sent[0]  # the digits go as a keyed hash
    assert not any(b"PING" in packet for packet in sent)


def test_a_detail_cached_before_an_outage_is_not_served_after_a_change_made_during_it(
    private_redis, desk_api, intake, monkeypatch
):
    """The repair detail's body cached in Redis, a note written while this process cannot reach
    Redis (the new generation stamp lands in the per-process stand-in only), then Redis answers
    again: the first read after the outage shows the note, not the body cached before it."""
    ticket = intake()
    first = get(desk_api, f"/repairs/{ticket}/")
    assert first.status_code == 200
    assert any(b"repdetail:v1" in key for key in _keys(private_redis.port))

    with unreachable_from_here(monkeypatch):
        note = post(desk_api, f"/repairs/{ticket}/notes/", {"text": "outage note"})
        assert note.status_code == 201, note.content
        assert shared_cache.degraded()
    private_redis.clock[0] += 0.25  # the breaker's 0.2 s go by
    after = get(desk_api, f"/repairs/{ticket}/")
    assert not shared_cache.degraded()
    assert "outage note" in after.content.decode()
