"""PostgreSQL faults: connections terminated between requests and inside a transition, a process
killed with SIGKILL inside one, and a backup restored into a fresh database.

Real connections and real processes: a gunicorn worker that keeps its connection
(CONN_MAX_AGE), `pg_terminate_backend` from the test's own connection, a child process held
inside a transition by the `before_commit` seam of workflows/services/core.py and then killed.
Skipped on SQLite (saying why); with CI set, a missing server program fails instead.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from parts.models import StockMovement
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import client_for, transition
from tests.test_audit_ledgers import busy  # noqa: F401 - a database with every kind of ledger row
from workflows import notify
from workflows import services as s
from workflows.choices import NotificationStatus
from workflows.models import Notification, Payment, Repair
from workflows.services import core

requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
    reason="needs PostgreSQL: these tests terminate server backends (pg_terminate_backend), kill "
    "a process holding a transaction and restore a pg_dump (run with DATABASE_URL=postgres://...; "
    ".ci/run does)",
)
pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
NOTIFY = "repair_notify_ready_for_pickup"


def program(name: str) -> str:
    """A server program's path; skipped when missing, failing under CI (.ci/run has them)."""
    path = shutil.which(name)
    if not path:
        if os.environ.get("CI"):
            pytest.fail(f"{name} not found, and CI needs it")
        pytest.skip(f"{name} not found")
    return path


def database_url(name: str | None = None) -> str:
    """The test database (or `name` on the same server) as another process must see it."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{name or db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "service_center.settings_test",
        "PYTHONPATH": str(ROOT),
        "NOTIFICATION_BACKEND": "workflows.notify.LocmemBackend",
        "NOTIFICATION_EMAIL_BACKEND": "workflows.notify.LocmemBackend",
        **extra,
    }
    for name in ("DEBUG", "CELERY_BROKER_URL"):
        env.pop(name, None)
    return env


def sql(query: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchall() if cursor.description else []


def wait_gone(pids: list[int]) -> None:
    """Until the server has ended those backends (termination is asynchronous)."""
    deadline = time.monotonic() + 30
    while sql("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])[0][0]:
        assert time.monotonic() < deadline, f"backends {pids} still alive after 30 s"
        time.sleep(0.02)


def terminate_others() -> list[int]:
    """pg_terminate_backend for every other connection to the test database; their pids."""
    pids = [
        pid
        for (pid,) in sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
    ]
    for pid in pids:
        sql("SELECT pg_terminate_backend(%s)", [pid])
    wait_gone(pids)
    return pids


@pytest.fixture
def repaired(make_repair, tech, in_warranty, diagnose) -> Repair:
    """A repair one step from `notify_ready_for_pickup`, the transition that writes a message."""
    repair = make_repair(serial_number=in_warranty.serial_number)
    diagnose(repair, "ok")
    s.repair_start(repair=repair, actor=tech)
    return s.repair_complete(repair=repair, actor=tech)


def snapshot(repair: Repair) -> tuple:
    """Everything a transition writes: the row, its timeline, its outbox, what was sent."""
    row = Repair.objects.values_list("state", "version").get(pk=repair.pk)
    events = list(repair.events.order_by("pk").values_list("pk", flat=True))
    messages = list(Notification.objects.filter(repair=repair).values_list("pk", "status"))
    return row, events, messages, len(notify.LocmemBackend.outbox)


# --- connections terminated --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(url: str, token: str, data: bytes | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def app_server(tmp_path):
    """One gunicorn worker on the test database that keeps its connection for ten minutes."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    pytest.importorskip("gunicorn", reason="gunicorn not installed (requirements.txt has it)")
    command = [
        PYTHON, "-m", "gunicorn", "service_center.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1",
        "--error-logfile", str(log), "--timeout", "60",
    ]  # fmt: skip
    env = child_env(CONN_MAX_AGE="600", ALLOWED_HOSTS="127.0.0.1")
    proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")
            try:
                urllib.request.urlopen(f"{base}/livez", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.05)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_after_its_connection_is_terminated_between_requests_the_next_request_succeeds(
    app_server, repaired, desk
):
    token = Token.objects.create(user=desk).key
    detail = f"{app_server}/api/v1/repairs/{repaired.ticket_number}/"
    assert http(detail, token)[0] == 200

    # The worker kept its connection (CONN_MAX_AGE): that is the one killed here.
    assert terminate_others(), "the app server held no connection to terminate"

    status, body = http(f"{detail}calls/", token, b'{"text": "called after the restart"}')
    assert status == 201, body
    assert repaired.events.filter(kind="call").count() == 1
    assert http(detail, token)[0] == 200


def test_a_connection_terminated_inside_a_transition_answers_503_and_changes_nothing(
    repaired, desk, monkeypatch
):
    held, resume, backend = threading.Event(), threading.Event(), {}

    def hold(name: str) -> None:  # inside the transaction, every write done, before COMMIT
        if name == NOTIFY:
            backend["pid"] = sql("SELECT pg_backend_pid()")[0][0]
            held.set()
            resume.wait(30)

    monkeypatch.setattr(core, "before_commit", hold)
    before = snapshot(repaired)
    client, answer = client_for(desk), {}

    def request() -> None:
        try:
            name = "notify_ready_for_pickup"
            answer["response"] = transition(client, repaired.ticket_number, name)
        finally:
            connection.close()

    thread = threading.Thread(target=request)
    thread.start()
    try:
        assert held.wait(30), "the transition never reached its commit"
        assert sql("SELECT pg_terminate_backend(%s)", [backend["pid"]]) == [(True,)]
        wait_gone([backend["pid"]])
    finally:
        resume.set()
        thread.join(30)

    response = answer["response"]
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert response["Retry-After"] == "5"
    assert snapshot(repaired) == before
    # The row is not left locked: the same transition runs at once, and writes its one message.
    monkeypatch.setattr(core, "before_commit", None)
    assert transition(client, repaired.ticket_number, "notify_ready_for_pickup").status_code == 200
    assert Notification.objects.filter(repair=repaired, kind="ready_for_pickup").count() == 1


# --- a process killed with SIGKILL ---------------------------------------------------------------

CHILD = """
import sys, time, django
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from workflows import services as s
from workflows.services import core

where, repair_id, user_id = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def report_and_wait(what):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        print(what, cursor.fetchone()[0], flush=True)
    time.sleep(120)

def hold(name):
    if where == "before_commit" and name == "{notify}":
        report_and_wait("held")

core.before_commit = hold
actor = get_user_model().objects.get(pk=user_id)
with transaction.atomic():
    # Registered before the service's own after-commit delivery, so it runs first: the process
    # stops with the change committed and its message not yet handed to the provider.
    if where == "after_commit":
        transaction.on_commit(lambda: report_and_wait("committed"))
    s.repair_notify_ready_for_pickup(repair=repair_id, actor=actor)
""".replace("{notify}", NOTIFY)


def kill_when(where: str, repair: Repair, actor) -> int:
    """Run the transition in a child process, SIGKILL it at `where`; its backend's pid."""
    proc = subprocess.Popen(
        [PYTHON, "-c", CHILD, where, str(repair.pk), str(actor.pk)],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the child never reached the point to be killed at"
        line = proc.stdout.readline().split()
        assert line and line[0] in ("held", "committed"), proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    pid = int(line[1])
    wait_gone([pid])  # the server saw the socket close and ended the session
    return pid


def test_a_process_killed_inside_a_transition_leaves_none_of_it_and_no_message(repaired, desk):
    before = snapshot(repaired)

    kill_when("before_commit", repaired, desk)

    assert snapshot(repaired) == before
    assert notify.deliver_pending() == 0
    # Nothing stays locked or half done: the transition runs now, with its one message.
    s.repair_notify_ready_for_pickup(repair=repaired, actor=desk)
    (message,) = Notification.objects.filter(repair=repaired, kind="ready_for_pickup")
    assert message.status == NotificationStatus.SENT


def test_a_process_killed_after_the_commit_leaves_all_of_it_and_the_outbox_sends_it_once(
    repaired, desk, outbox
):
    (state, version), events, _, _ = snapshot(repaired)

    kill_when("after_commit", repaired, desk)

    repaired.refresh_from_db()
    assert (repaired.state, repaired.version) == ("ready_for_pickup", version + 1)
    kept = repaired.events.order_by("pk").values_list("pk", flat=True)[: len(events)]
    assert list(kept) == events
    assert repaired.events.count() > len(events)  # the transition's timeline entries
    (message,) = Notification.objects.filter(repair=repaired, kind="ready_for_pickup")
    assert (message.status, message.attempts) == (NotificationStatus.PENDING, 0)
    assert outbox == []

    assert notify.deliver_pending() == 1
    assert notify.deliver_pending() == 0
    assert [n.pk for n in outbox] == [message.pk]


# --- a backup restored -------------------------------------------------------------------------


def test_a_dump_restored_into_a_fresh_database_passes_audit_ledgers(busy, tmp_path):  # noqa: F811
    pg_dump, pg_restore = program("pg_dump"), program("pg_restore")
    counts = (Repair.objects.count(), Payment.objects.count(), StockMovement.objects.count())
    assert all(counts), counts
    dump, fresh = tmp_path / "backup.dump", f"restore_{uuid.uuid4().hex[:12]}"
    # The README's commands: a custom-format dump, restored without owners or privileges.
    subprocess.run([pg_dump, "-Fc", "-f", str(dump), database_url()], check=True, timeout=120)
    sql(f'CREATE DATABASE "{fresh}"')
    try:
        restore = [pg_restore, "--no-owner", "--no-privileges", "-d", database_url(fresh)]
        subprocess.run([*restore, str(dump)], check=True, timeout=120)
        env = child_env(DATABASE_URL=database_url(fresh))
        audit = subprocess.run(
            [PYTHON, "manage.py", "audit_ledgers"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert audit.returncode == 0, audit.stdout + audit.stderr
        count = subprocess.run(
            [PYTHON, "manage.py", "shell", "--no-imports", "-c", COUNT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert count.stdout.split() == [str(n) for n in counts]
    finally:
        sql(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')


COUNT = (
    "from parts.models import StockMovement; from workflows.models import Payment, Repair; "
    "print(Repair.objects.count(), Payment.objects.count(), StockMovement.objects.count())"
)
