#!/usr/bin/env python
"""A bounded soak run with faults injected on a schedule (127.0.0.1 only).

    python bench/soak.py [--seconds 600] [--keep]

Starts, all of its own: a PostgreSQL database (`SOAK_DATABASE_URL`, default
postgres://postgres@127.0.0.1:5432/repairdesk_soak, dropped at the end unless --keep), a private
redis-server on a free port (so stopping it touches nothing else), and gunicorn with two sync
workers. It measures the capacity of a mixed desk / technician / customer workload for 20 s,
then sends that mix at 70 % of it for `--seconds`, while on a repeating schedule it

- stops Redis for 20 s and starts it again (empty: a restart is also a wiped cache);
- terminates every PostgreSQL connection of the service (`pg_terminate_backend`);
- kills a gunicorn worker with SIGKILL (the master starts another).

The client behaves like a real one: a write carries an `Idempotency-Key` and is retried with the
same key after a 5xx, a 429 or a broken connection. At the end it reads the database and prints

    soak_requests, soak_5xx (outside / inside the fault windows), soak_lost_writes (acknowledged,
    absent), soak_duplicate_actions (one write, done twice), soak_rss_growth_pct (per worker),
    what each fault did to the traffic, and `manage.py audit_ledgers`;

then `soak: done`. A figure is a count from this run, not a time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB_URL = os.environ.get("SOAK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/repairdesk_soak")
PORT = int(os.environ.get("SOAK_PORT", "8711"))
PHONE = "010-4821-7733"
FAULT_GRACE = 10.0  # seconds after a fault ends that still count as its window
LOG = Path(os.environ.get("SOAK_LOG", "/tmp/soak-service.log"))


def say(name: str, value) -> None:
    print(f"{name}: {value}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the services -----------------------------------------------------------------------------


class Redis:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def service_env(redis: Redis) -> dict:
    return dict(
        os.environ,
        DATABASE_URL=DB_URL,
        REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
        DEBUG="0",
        SECRET_KEY="soak-only-key-5c2f8e1a9b7d3f6e0a4c",
        CONN_MAX_AGE="60",
        PUBLIC_LOOKUP_RATE_PER_IP="100000000",
        NOTIFICATION_BACKEND="workflows.notify.LocmemBackend",
        LOG_LEVEL="ERROR",
    )


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def ensure_database() -> None:
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database() -> None:
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Gunicorn:
    def __init__(self, env: dict) -> None:
        self.proc = subprocess.Popen(
            [
                PY,
                "-m",
                "gunicorn",
                "service_center.wsgi",
                "-w",
                "2",
                "-k",
                "sync",
                "-b",
                f"127.0.0.1:{PORT}",
                "--timeout",
                "30",
                "--log-level",
                "error",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(LOG, "w"),  # noqa: SIM115 - gunicorn's and the app's errors, for after
        )
        for _ in range(300):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
                conn.request("GET", "/livez")
                if conn.getresponse().status == 200 and len(self.workers()) == 2:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def workers(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


# --- the client -------------------------------------------------------------------------------


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    # (sent at, kind, status, answered at), in seconds since the soak started
    attempts: list[tuple[float, str, int, float]] = field(default_factory=list)
    acked: dict[str, list[str]] = field(default_factory=lambda: {"intake": [], "note": []})
    gave_up: dict[str, list[str]] = field(default_factory=lambda: {"intake": [], "note": []})

    def record(self, at: float, kind: str, status: int, until: float) -> None:
        with self.lock:
            self.attempts.append((at, kind, status, until))


class Client:
    """One request with the retries a real client makes; status 0 is a broken connection."""

    def __init__(self, tally: Tally, clock0: float) -> None:
        self.tally, self.clock0 = tally, clock0

    def send(self, kind, method, path, body=None, headers=None, retry=False) -> tuple[int, dict]:
        headers = dict(headers or {})
        data = json.dumps(body).encode() if body is not None else None
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(7 if retry else 1):
            at = time.monotonic() - self.clock0
            status, payload = 0, {}
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                status = response.status
                if raw[:1] == b"{":
                    payload = json.loads(raw)
                conn.close()
            except (OSError, http.client.HTTPException, ValueError):
                status = 0
            self.tally.record(at, kind, status, time.monotonic() - self.clock0)
            if status and status < 500 and status != 429:
                return status, payload
            if retry:
                time.sleep(min(3.0, 0.3 * 2**attempt))
        return status, payload


@dataclass
class World:
    desk_token: str
    tech_username: str
    tickets: list[str]
    fresh: list[str] = field(default_factory=list)  # intakes not assigned yet
    lock: threading.Lock = field(default_factory=threading.Lock)


def operation(client: Client, world: World, rng: random.Random) -> None:
    desk = {"Authorization": f"Token {world.desk_token}"}
    roll = rng.random()
    with world.lock:
        ticket = rng.choice(world.tickets)
    if roll < 0.40:
        client.send(
            "status",
            "POST",
            "/api/v1/public/status/",
            {"ticket_number": ticket, "phone_last4": PHONE[-4:]},
        )
    elif roll < 0.55:
        client.send("list", "GET", "/api/v1/repairs/?page_size=20", headers=desk)
    elif roll < 0.70:
        client.send("detail", "GET", f"/api/v1/repairs/{ticket}/", headers=desk)
    elif roll < 0.85:
        marker = f"soak-note-{uuid.uuid4().hex}"
        status, _ = client.send(
            "note",
            "POST",
            f"/api/v1/repairs/{ticket}/notes/",
            {"text": marker},
            headers={**desk, "Idempotency-Key": marker},
            retry=True,
        )
        (client.tally.acked if 200 <= status < 300 else client.tally.gave_up)["note"].append(marker)
    elif roll < 0.93:
        marker = f"soak-intake-{uuid.uuid4().hex}"
        status, payload = client.send(
            "intake",
            "POST",
            "/api/v1/repairs/",
            {
                "customer": {"name": "김소크", "phone": PHONE},
                "product_model": "HBS-1100",
                "symptom": marker,
            },
            headers={**desk, "Idempotency-Key": marker},
            retry=True,
        )
        if 200 <= status < 300:
            client.tally.acked["intake"].append(marker)
            with world.lock:
                world.tickets.append(payload["ticket_number"])
                world.fresh.append(payload["ticket_number"])
        else:
            client.tally.gave_up["intake"].append(marker)
    else:
        with world.lock:
            fresh = world.fresh.pop() if world.fresh else None
        if fresh is None:
            client.send("detail", "GET", f"/api/v1/repairs/{ticket}/", headers=desk)
            return
        client.send(
            "assign",
            "POST",
            f"/api/v1/repairs/{fresh}/transitions/assign/",
            {"technician": world.tech_username},
            headers={**desk, "Idempotency-Key": f"soak-assign-{fresh}"},
            retry=True,
        )


def closed_loop(world: World, seconds: float, threads: int) -> float:
    """Requests per second the service answers with `threads` clients sending back to back."""
    tally = Tally()
    client = Client(tally, time.monotonic())
    stop = time.monotonic() + seconds

    def run(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop:
            operation(client, world, rng)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return len(tally.attempts) / seconds


# --- faults -----------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    start: float
    end: float = 0.0
    detail: str = ""


def terminate_backends() -> int:
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return len(rows)


def fault_schedule(clock0, seconds, redis, server, faults, stop_event) -> None:
    """Every 150 s: Redis down for 20 s at +30, PostgreSQL connections cut at +80, a worker
    SIGKILLed at +115."""
    cycle = 0
    while True:
        base = cycle * 150
        for offset, action in ((30, "redis"), (80, "postgres"), (115, "worker")):
            at = base + offset
            if at + 25 > seconds:
                return
            while time.monotonic() - clock0 < at:
                if stop_event.wait(0.2):
                    return
            now = time.monotonic() - clock0
            if action == "redis":
                redis.stop()
                fault = Fault("redis_stopped_20s", now)
                stop_event.wait(20)
                redis.start()
                fault.end = time.monotonic() - clock0
            elif action == "postgres":
                fault = Fault("postgres_connections_terminated", now)
                fault.detail = f"{terminate_backends()} connections"
                fault.end = time.monotonic() - clock0
            else:
                victim = server.workers()[0]
                os.kill(victim, signal.SIGKILL)
                fault = Fault("worker_sigkilled", now, detail=f"pid {victim}")
                fault.end = time.monotonic() - clock0
            faults.append(fault)
        cycle += 1


# --- checks -----------------------------------------------------------------------------------


def check_writes(tally: Tally) -> tuple[int, int, int]:
    """(lost, duplicated, phantom): acknowledged writes absent from the database, writes done
    more than once, writes the client gave up on that happened anyway."""
    import psycopg

    with psycopg.connect(DB_URL) as conn:
        notes = dict(
            conn.execute(
                "SELECT text, count(*) FROM workflows_repairevent "
                "WHERE kind = 'note' AND text LIKE 'soak-note-%%' GROUP BY text"
            ).fetchall()
        )
        intakes = dict(
            conn.execute(
                "SELECT symptom, count(*) FROM workflows_repair "
                "WHERE symptom LIKE 'soak-intake-%%' GROUP BY symptom"
            ).fetchall()
        )
        assigns = conn.execute(
            "SELECT count(*) FROM (SELECT repair_id FROM workflows_repairevent "
            "WHERE transition = 'assign' GROUP BY repair_id HAVING count(*) > 1) t"
        ).fetchone()[0]
    lost = sum(1 for m in tally.acked["note"] if m not in notes)
    lost += sum(1 for m in tally.acked["intake"] if m not in intakes)
    duplicated = sum(1 for c in notes.values() if c > 1) + sum(1 for c in intakes.values() if c > 1)
    phantom = sum(1 for m in tally.gave_up["note"] if m in notes)
    phantom += sum(1 for m in tally.gave_up["intake"] if m in intakes)
    return lost, duplicated + assigns, phantom


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--keep", action="store_true", help="keep the soak database")
    args = parser.parse_args()

    ensure_database()
    redis = Redis()
    redis.start()
    env = service_env(redis)
    for step in (("migrate", "--no-input"), ("seed_demo",)):
        out = manage(env, *step)
        if out.returncode:
            raise SystemExit(f"{step[0]} failed: {out.stderr[-2000:]}")
    server = Gunicorn(env)
    try:
        setup = Client(Tally(), time.monotonic())
        _, token = setup.send(
            "token", "POST", "/api/v1/auth/token/", {"username": "desk", "password": "demo12345"}
        )
        world = World(desk_token=token["token"], tech_username="tech", tickets=[])
        for i in range(40):  # repairs to look up and write notes on
            _, body = setup.send(
                "intake",
                "POST",
                "/api/v1/repairs/",
                {
                    "customer": {"name": "김소크", "phone": PHONE},
                    "product_model": "HBS-1100",
                    "symptom": f"soak seed {i}",
                },
                headers={"Authorization": f"Token {world.desk_token}"},
            )
            world.tickets.append(body["ticket_number"])

        capacity = closed_loop(world, 20, threads=6)
        rate = 0.7 * capacity
        say("soak_capacity_rps", f"{capacity:.0f} (6 clients back to back, 20 s)")
        say("soak_rate_rps", f"{rate:.0f} (70 % of capacity) for {args.seconds} s")

        tally = Tally()
        clock0 = time.monotonic()
        client = Client(tally, clock0)
        faults: list[Fault] = []
        stop_event = threading.Event()
        rss: dict[int, list[tuple[float, int]]] = {}

        def sample_rss() -> None:
            while not stop_event.wait(5):
                now = time.monotonic() - clock0
                for pid in server.workers():
                    kb = rss_kb(pid)
                    if kb:
                        rss.setdefault(pid, []).append((now, kb))

        # Open loop: a ticket every 1/rate seconds, taken by whichever of 24 clients is free,
        # so a slow answer does not slow the offered load.
        tickets: list[int] = []
        cond = threading.Condition()
        done = threading.Event()

        def pacer() -> None:
            n = 0
            while True:
                due = clock0 + n / rate
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if time.monotonic() - clock0 >= args.seconds:
                    done.set()
                    with cond:
                        cond.notify_all()
                    return
                with cond:
                    tickets.append(n)
                    cond.notify()
                n += 1

        def consumer(seed: int) -> None:
            rng = random.Random(1000 + seed)
            while True:
                with cond:
                    while not tickets and not done.is_set():
                        cond.wait(0.5)
                    if not tickets:
                        return
                    tickets.pop()
                operation(client, world, rng)

        threads = [threading.Thread(target=pacer), threading.Thread(target=sample_rss)]
        threads += [threading.Thread(target=consumer, args=(i,)) for i in range(24)]
        threads.append(
            threading.Thread(
                target=fault_schedule,
                args=(clock0, args.seconds, redis, server, faults, stop_event),
            )
        )
        for t in threads:
            t.start()
        for t in threads[2:]:
            t.join()
        stop_event.set()
        threads[1].join()
        backlog = len(tickets)

        windows = [(f.start, f.end + FAULT_GRACE) for f in faults]

        def inside(attempt) -> bool:
            """In flight at any moment of a window (a request sent just before a fault and
            answered during it is the fault's)."""
            return any(attempt[0] <= b and attempt[3] >= a for a, b in windows)

        total = len(tally.attempts)
        in_window = [a for a in tally.attempts if inside(a)]
        out_window = [a for a in tally.attempts if not inside(a)]
        e_in = sum(1 for a in in_window if a[2] >= 500)
        e_out = sum(1 for a in out_window if a[2] >= 500)
        broken = sum(1 for a in tally.attempts if a[2] == 0)
        say("soak_requests", f"{total} ({total / args.seconds:.0f}/s; {backlog} not sent)")
        say(
            "soak_5xx",
            f"{e_out} outside the fault windows; {e_in} inside "
            f"({100 * e_in / max(1, len(in_window)):.2f} % of {len(in_window)})",
        )
        say("soak_broken_connections", broken)
        outside = [(round(a[0], 1), a[1], a[2]) for a in out_window if a[2] >= 500]
        if outside:
            say("soak_5xx_outside_windows", f"{outside[:20]} (the service's log: {LOG})")
        for f in faults:
            during = [a for a in tally.attempts if a[0] <= f.end + FAULT_GRACE and a[3] >= f.start]
            statuses: dict[str, int] = {}
            for a in during:
                statuses[str(a[2])] = statuses.get(str(a[2]), 0) + 1
            lat = f"{f.end - f.start:.1f} s" if f.end > f.start else "instant"
            say(
                f"soak_fault_{f.name}",
                f"at {f.start:.0f} s ({lat}{', ' + f.detail if f.detail else ''}): "
                f"{len(during)} requests in the window, statuses {dict(sorted(statuses.items()))}",
            )
        lost, duplicated, phantom = check_writes(tally)
        acked = sum(len(v) for v in tally.acked.values())
        say("soak_acknowledged_writes", acked)
        say("soak_lost_writes", lost)
        say("soak_duplicate_actions", duplicated)
        say(
            "soak_unacknowledged_writes",
            f"{sum(len(v) for v in tally.gave_up.values())} "
            f"given up by the client, {phantom} of them done anyway",
        )
        growth = []
        for pid, samples in sorted(rss.items()):
            settled = [kb for at, kb in samples if at >= samples[0][0] + 60]
            if len(settled) >= 12:  # lived at least two minutes after warming up
                growth.append((pid, 100 * (settled[-1] - settled[0]) / settled[0], settled))
        if growth:
            say(
                "soak_rss_growth_pct",
                ", ".join(
                    f"worker {pid}: {pct:+.1f} % ({s[0] // 1024}→{s[-1] // 1024} MB, "
                    f"{len(s) * 5} s)"
                    for pid, pct, s in growth
                )
                + f"  (max {max(g[1] for g in growth):+.1f} %, goal <= 10)",
            )
        else:
            say("soak_rss_growth_pct", "not measured (no worker lived two minutes)")
        audit = manage(env, "audit_ledgers")
        lines = (audit.stdout + audit.stderr).strip().splitlines()
        say("soak_audit_ledgers", f"exit {audit.returncode}: {lines[-1] if lines else ''}")
    finally:
        server.stop()
        redis.stop()
        if not args.keep:
            drop_database()
    print("soak: done", flush=True)


if __name__ == "__main__":
    main()
