"""Real Celery workers on PostgreSQL and Redis: two `celery worker` processes (prefork, two
children each) started here against the test database, delivering through tests.celery_support's
FileBackend. A committed transition is sent by a worker; a rolled-back one enqueues nothing;
one row handed to both workers 50 times is sent once; 200 rows are each sent exactly once.

Prints the figures (worker start, commit-to-sent median/max, rows per second). Skipped on SQLite
and without Redis (saying why); with CI set a missing Redis fails instead.
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, transaction

from tests.celery_support import BROKER_URL, broker_or_skip, drop_queue, sent_lines
from workflows import notify
from workflows.choices import NotificationKind, NotificationStatus
from workflows.models import Notification

requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
    reason="needs PostgreSQL: the worker processes share the test database with this one, and "
    "the race between them only means something with real row updates (run with "
    "DATABASE_URL=postgres://...; .ci/run does)",
)
pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
CELERY = ROOT / ".venv" / "bin" / "celery"
RUN = uuid.uuid4().hex[:8]
QUEUE = f"worker-test-{RUN}"
PHONED_IN = {"intake_channel": "phone", "device_in_shop": False}  # sends RECEIVED
TASK = "workflows.tasks.deliver_notification"


@dataclass
class Workers:
    procs: list[subprocess.Popen]
    logs: list[Path]
    sent_file: Path
    redis: object
    start_seconds: list[float]

    def sent(self) -> list[tuple[int, int, float]]:
        return sent_lines(self.sent_file)

    def log_count(self, pattern: str) -> list[int]:
        """How many log lines of each worker match `pattern`."""
        rx = re.compile(pattern)
        return [sum(1 for line in _read(log).splitlines() if rx.search(line)) for log in self.logs]

    def tails(self) -> str:
        return "\n".join(f"--- {log.name}\n{_read(log)[-3000:]}" for log in self.logs)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def wait_for(predicate, what: str, workers: Workers, timeout: float = 60.0):
    """Poll until `predicate()` is truthy; fail with the workers' logs after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        for proc in workers.procs:
            assert proc.poll() is None, f"a worker exited ({proc.returncode})\n{workers.tails()}"
        time.sleep(0.01)
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{workers.tails()}")


def _database_url() -> str:
    """The pytest test database (test_<name>), as the workers must see it."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _stop(proc: subprocess.Popen) -> None:
    """The worker and its pool children: SIGTERM to the process group, SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def workers(django_db_setup, tmp_path_factory):
    redis = broker_or_skip()
    assert CELERY.exists(), f"{CELERY} missing (scripts/setup.sh installs requirements.txt)"
    folder = tmp_path_factory.mktemp("celery-workers")
    sent_file = folder / "sent.txt"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
        "NOTIFICATION_BACKEND": "tests.celery_support.FileBackend",
        "NOTIFY_FILE": str(sent_file),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "service_center.settings_test",
    }
    logs = [folder / f"worker{i}.log" for i in (1, 2)]
    procs, started = [], time.monotonic()
    try:
        for i, log in enumerate(logs, 1):
            command = [
                str(CELERY), "-A", "service_center", "worker", "--pool=prefork", "-c", "2",
                "-Q", QUEUE, "--without-gossip", "--without-mingle", "--without-heartbeat",
                "-n", f"test{i}-{RUN}@%h", "-l", "info", f"--logfile={log}",
            ]  # fmt: skip
            procs.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    start_new_session=True,  # its own process group: killpg takes the children
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.STDOUT,
                )
            )
        pool = Workers(procs, logs, sent_file, redis, [])
        for log in logs:
            wait_for(lambda log=log: " ready." in _read(log), f"{log.name} ready", pool)
            pool.start_seconds.append(time.monotonic() - started)
        yield pool
    finally:
        for proc in procs:
            _stop(proc)
        drop_queue(redis, QUEUE)


@pytest.fixture
def pool(workers, settings, capsys):
    """The running workers with an empty queue and sent file; this process enqueues on them."""
    drop_queue(workers.redis, QUEUE)
    workers.sent_file.write_text("")
    settings.CELERY_BROKER_URL, settings.CELERY_TASK_DEFAULT_QUEUE = BROKER_URL, QUEUE
    return workers


def report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n[celery workers] {line}", flush=True)


@pytest.fixture
def probe(pool, settings):
    """Sends this test's commits to a queue no worker reads (what lands there stays, to be
    counted); dropped afterwards. Returns its name."""
    queue = f"probe-{RUN}-{uuid.uuid4().hex[:6]}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    yield queue
    drop_queue(pool.redis, queue)


def _commit_to_sent(pool: Workers, make_repair, phone: str) -> float:
    """Seconds from one intake's commit to the worker's send of its RECEIVED message."""
    committed = []
    with transaction.atomic():
        # Registered first, so it runs at the commit, before the enqueue.
        transaction.on_commit(lambda: committed.append(time.time()))
        repair = make_repair(customer={"name": "김민지", "phone": phone}, **PHONED_IN)
    row = Notification.objects.get(repair=repair)
    assert row.kind == NotificationKind.RECEIVED
    line = wait_for(lambda: [x for x in pool.sent() if x[0] == row.pk], f"{row.pk} sent", pool)
    wait_for(
        lambda: Notification.objects.get(pk=row.pk).status == NotificationStatus.SENT,
        f"row {row.pk} marked sent",
        pool,
    )
    return line[0][2] - committed[0]


def test_a_committed_transition_is_sent_by_a_worker(pool, make_repair, capsys):
    latencies = [_commit_to_sent(pool, make_repair, f"010-2345-{n:04d}") for n in range(10)]
    assert sorted(pk for pk, _, _ in pool.sent()) == sorted(
        Notification.objects.values_list("pk", flat=True)
    )
    assert all(latency > 0 for latency in latencies)
    report(
        capsys,
        f"worker start {', '.join(f'{s:.2f}' for s in pool.start_seconds)} s; commit to sent "
        f"over {len(latencies)} transitions: median {statistics.median(latencies) * 1000:.0f} "
        f"ms, max {max(latencies) * 1000:.0f} ms",
    )


def test_a_rolled_back_transition_enqueues_nothing(pool, probe, make_repair, settings):
    with pytest.raises(RuntimeError), transaction.atomic():
        make_repair(**PHONED_IN)
        raise RuntimeError("rolled back")
    assert pool.redis.llen(probe) == 0
    assert Notification.objects.count() == 0
    make_repair(**PHONED_IN)  # the control: a commit does land on the probe queue
    assert pool.redis.llen(probe) == 1
    Notification.objects.all().delete()

    # And on the workers' queue: after a rollback and then a commit, the workers received one
    # task, and sent that one row.
    settings.CELERY_TASK_DEFAULT_QUEUE = QUEUE
    received = sum(pool.log_count(rf"Task {TASK}\[.*\] received"))
    with pytest.raises(RuntimeError), transaction.atomic():
        make_repair(**PHONED_IN)
        raise RuntimeError("rolled back")
    assert pool.redis.llen(QUEUE) == 0
    sentinel = Notification.objects.get(repair=make_repair(**PHONED_IN))
    wait_for(lambda: pool.sent(), "the committed row sent", pool)
    wait_for(
        lambda: sum(pool.log_count(rf"Task {TASK}\[.*\] succeeded")) >= received + 1,
        "the task to finish",
        pool,
    )
    assert [pk for pk, _, _ in pool.sent()] == [sentinel.pk]
    assert sum(pool.log_count(rf"Task {TASK}\[.*\] received")) == received + 1


def test_one_row_handed_to_both_workers_fifty_times_is_sent_once(
    pool, probe, make_repair, settings, capsys
):
    # The intake's own enqueue goes to the probe queue; the 50 go to the workers.
    row = Notification.objects.get(repair=make_repair(**PHONED_IN))
    settings.CELERY_TASK_DEFAULT_QUEUE = QUEUE
    done = pool.log_count(rf"Task {TASK}\[.*\] succeeded")
    with transaction.atomic():
        notify.deliver_on_commit([row.pk] * 50)
    finished = wait_for(
        lambda: (
            now
            if sum(now := pool.log_count(rf"Task {TASK}\[.*\] succeeded")) >= sum(done) + 50
            else None
        ),
        "50 tasks to finish",
        pool,
    )
    per_worker = [after - before for after, before in zip(finished, done, strict=True)]
    assert [pk for pk, _, _ in pool.sent()] == [row.pk]
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 1)
    assert all(count > 0 for count in per_worker), per_worker  # both workers took part
    report(capsys, f"one row enqueued 50 times: tasks run per worker {per_worker}, sent once")


def test_two_hundred_rows_across_two_workers_are_each_sent_exactly_once(
    pool, probe, make_repair, settings, capsys
):
    repair = make_repair(**PHONED_IN)
    Notification.objects.all().delete()
    settings.CELERY_TASK_DEFAULT_QUEUE = QUEUE
    committed = []
    with transaction.atomic():
        rows = Notification.objects.bulk_create(
            Notification(
                repair=repair,
                kind=NotificationKind.RECEIVED,
                recipient="010-2345-6789",
                body=f"message {n}",
                idempotency_key=f"bulk-{RUN}-{n}",
            )
            for n in range(200)
        )
        transaction.on_commit(lambda: committed.append(time.time()))
        notify.deliver_on_commit([r.pk for r in rows])
    enqueued = time.time()
    wait_for(lambda: len(pool.sent()) >= 200, "200 rows sent", pool, timeout=120)
    sent = pool.sent()
    assert Counter(pk for pk, _, _ in sent) == Counter(r.pk for r in rows)  # each once
    wait_for(
        lambda: not Notification.objects.exclude(status=NotificationStatus.SENT).exists(),
        "every row marked sent",
        pool,
    )
    by_worker = Counter(ppid for _, ppid, _ in sent)
    assert set(by_worker) == {p.pid for p in pool.procs}, by_worker  # both workers sent
    last = max(at for _, _, at in sent)
    report(
        capsys,
        f"200 rows: enqueued in {(enqueued - committed[0]) * 1000:.0f} ms, all sent "
        f"{last - committed[0]:.2f} s after commit = {200 / (last - committed[0]):.0f} rows/s; "
        f"per worker {sorted(by_worker.values())}",
    )
