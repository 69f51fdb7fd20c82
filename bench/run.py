#!/usr/bin/env python
"""Benchmarks that print ratios measured side by side in one run (never timed tests).

    python bench/run.py [--keep] [--rounds 3] [--skip-1m]

Needs PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL; defaults are this machine's
127.0.0.1 services). Starts the service under gunicorn (one sync worker) against a database of
its own, generates load from a second process on 127.0.0.1, and reads the worker's CPU time
(utime+stime from /proc) per request. Prints `name: value` lines and a closing `bench: done`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
PY = sys.executable
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/repairdesk_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
TICKS = os.sysconf("SC_CLK_TCK")
PHONE = "010-2345-6789"


def say(name: str, value) -> None:
    print(f"{name}: {value}", flush=True)


# --- load generator (runs as a separate process: `bench/run.py --load SPEC`) -----------------


def _request(conn: http.client.HTTPConnection, spec: dict, payload: object = None) -> int:
    payload = spec.get("json") if payload is None else payload
    body = json.dumps(payload).encode() if payload is not None else None
    headers = dict(spec.get("headers", {}))
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(spec.get("method", "GET"), spec["path"], body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def load_main(spec_json: str) -> None:
    """Send spec['requests'] requests over spec['concurrency'] threads; print JSON results."""
    spec = json.loads(spec_json)
    ports = spec["ports"]
    per_thread = spec["requests"] // spec["concurrency"]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def worker(index: int) -> None:
        port = ports[index % len(ports)]
        local_lat, local_status = [], {}
        bodies, paths = spec.get("json_list"), spec.get("paths")
        for i in range(per_thread):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            body = bodies[(index * per_thread + i) % len(bodies)] if bodies else None
            one = {**spec, "path": paths[(index * per_thread + i) % len(paths)]} if paths else spec
            started = time.perf_counter()
            status = _request(conn, one, body)
            local_lat.append(time.perf_counter() - started)
            local_status[status] = local_status.get(status, 0) + 1
            conn.close()
        with lock:
            latencies.extend(local_lat)
            for k, v in local_status.items():
                statuses[k] = statuses.get(k, 0) + v

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(spec["concurrency"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    print(json.dumps({"latencies": latencies, "statuses": statuses, "elapsed": elapsed}))


def run_load(spec: dict) -> dict:
    out = subprocess.run(
        [PY, __file__, "--load", json.dumps(spec)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


# --- gunicorn -----------------------------------------------------------------------------------


class Server:
    def __init__(self, port: int, env: dict):
        self.port = port
        self.proc = subprocess.Popen(
            [
                PY,
                "-m",
                "gunicorn",
                "service_center.wsgi",
                "-w",
                "1",
                "-k",
                "sync",
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(200):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                if _request(conn, {"path": "/livez"}) == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"gunicorn on {port} did not start")
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        self.worker = int(children[0])

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.worker}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def cpu_per_request(servers: list[Server], spec: dict) -> tuple[float, float, float]:
    """(worker CPU seconds per request, requests/s, median latency) for one load run."""
    before = sum(s.cpu() for s in servers)
    result = run_load(spec)
    used = sum(s.cpu() for s in servers) - before
    ok = sum(v for k, v in result["statuses"].items() if int(k) < 400)
    if ok < spec["requests"] * 0.95:
        raise RuntimeError(f"{spec['path']}: only {ok} good answers: {result['statuses']}")
    return (
        used / spec["requests"],
        spec["requests"] / result["elapsed"],
        statistics.median(result["latencies"]),
    )


# --- data -------------------------------------------------------------------------------------


def django_setup() -> None:
    os.environ["DATABASE_URL"] = DB_URL
    os.environ["REDIS_URL"] = REDIS_URL
    os.environ["NOTIFICATION_BACKEND"] = "workflows.notify.LocmemBackend"  # keep stdout clean
    os.environ.setdefault("SECRET_KEY", "bench-only-key-7d1e4b9a0c3f5e8a2b6d")  # DEBUG is off
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "service_center.settings")
    import django

    django.setup()


def ensure_database(keep: bool) -> bool:
    """Create the bench database (dropping an old one unless --keep). True if it existed."""
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    admin_url = DB_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", (name,)).fetchone()
        if exists and not keep:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return bool(exists)


def bulk_repairs(center, customer, model, count: int, state: str = "closed") -> None:
    """COPY `count` repairs (and one timeline event each) straight into PostgreSQL."""
    import secrets

    from django.db import connection
    from django.utils import timezone

    from workflows.models import Repair

    now = timezone.now()
    template = Repair(
        center=center,
        customer=customer,
        product_model=model,
        symptom="bench",
        coverage="warranty",
        created_at=now,
        updated_at=now,
    )
    template.__dict__["state"] = state
    fields = [f for f in Repair._meta.concrete_fields if f.name != "id"]
    base = [f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields]
    names = [f.column for f in fields]
    i_ticket, i_token = names.index("ticket_number"), names.index("status_token")
    start = Repair.objects.count()
    last_id = Repair.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        cols = ", ".join(f'"{n}"' for n in names)
        with raw.copy(f"COPY workflows_repair ({cols}) FROM STDIN") as copy:
            for n in range(start, start + count):
                row = list(base)
                row[i_ticket] = f"{center.code}-2601-B{n:08d}"
                row[i_token] = secrets.token_hex(16)
                copy.write_row(row)
        raw.execute(
            "INSERT INTO workflows_repairevent (repair_id, at, actor_kind, actor_name, kind, "
            "transition, from_state, to_state, customer_visible, text, text_code, text_params, "
            "data) SELECT id, created_at, 'system', 'system', 'transition', 'intake', '', "
            "'received', true, 'bench', '', '{}'::jsonb, '{}'::jsonb FROM workflows_repair "
            "WHERE id > %s",
            [last_id],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would (national.grow says why)


def world():
    """Reference data, staff, one customer; returns handles the figures need."""
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from service_center.models import Customer, ProductModel, ServiceCenter
    from service_center.services import staff_create

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    handles = {}
    for code in ("BT", "BK", "BM"):
        center, _ = ServiceCenter.objects.get_or_create(
            code=code, defaults={"name": f"bench {code}"}
        )
        user = staff_create(
            username=f"desk_{code}", role="front_desk", center_code=code, password="bench12345"
        )
        customer = Customer.objects.filter(center=center).first() or Customer.objects.create(
            center=center, name="김벤치", phone=PHONE
        )
        handles[code] = {
            "center": center,
            "user": user,
            "customer": customer,
            "token": Token.objects.get_or_create(user=user)[0].key,
        }
    handles["model"] = ProductModel.objects.get(code="HBS-1100")
    handles["manager_BM"] = staff_create(
        username="manager_BM", role="manager", center_code="BM", password="bench12345"
    )
    return handles


def repair_with_timeline(h) -> str:
    """One open repair at BT with a 30-event timeline; returns its ticket number."""
    from workflows import services as s

    bt = h["BT"]
    repair = s.repair_intake(
        center=bt["center"],
        actor=bt["user"],
        customer={"name": "김벤치", "phone": PHONE},
        product_model="HBS-1100",
        symptom="bench",
    )
    for i in range(28):
        s.repair_add_note(
            repair=repair, actor=bt["user"], text=f"note {i}", customer_visible=bool(i % 2)
        )
    return repair.ticket_number


def open_repairs(h, code: str, count: int) -> None:
    from workflows import services as s

    c = h[code]
    for _ in range(count):
        s.repair_intake(
            center=c["center"],
            actor=c["user"],
            customer={"name": "김벤치", "phone": PHONE},
            product_model="HBS-1100",
            symptom="bench",
        )


def session_cookie(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def count_queries(path: str, user) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    client.get(path)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    return len(ctx.captured_queries)


# --- figures ------------------------------------------------------------------------------------


def server_env(**extra) -> dict:
    env = dict(
        os.environ,
        DATABASE_URL=DB_URL,
        REDIS_URL=REDIS_URL,
        DEBUG="0",
        CONN_MAX_AGE="60",
        PUBLIC_LOOKUP_RATE_PER_IP="100000000",
        NOTIFICATION_BACKEND="workflows.notify.LocmemBackend",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def interleaved(servers, specs: dict, rounds: int) -> dict:
    """Median over rounds of cpu(bare)/cpu(x) for each spec, endpoints interleaved per round;
    also the medians of CPU seconds per request and of latency, per spec."""
    ratios: dict[str, list[float]] = {k: [] for k in specs if k != "bare"}
    rates: dict[str, list[float]] = {k: [] for k in specs}
    cpus: dict[str, list[float]] = {k: [] for k in specs}
    lats: dict[str, list[float]] = {k: [] for k in specs}
    for _ in range(rounds):
        per: dict[str, float] = {}
        for name, spec in specs.items():
            per[name], rate, latency = cpu_per_request(servers, spec)
            rates[name].append(rate)
            cpus[name].append(per[name])
            lats[name].append(latency)
        for name in ratios:
            ratios[name].append(per["bare"] / per[name] if per[name] else float("inf"))
    median = statistics.median
    return {
        "ratios": {k: median(v) for k, v in ratios.items()},
        "rates": {k: median(v) for k, v in rates.items()},
        "cpu": {k: median(v) for k, v in cpus.items()},
        "latency": {k: median(v) for k, v in lats.items()},
    }


def desk(user, path: str, requests: int, **extra) -> dict:
    return {
        "path": path,
        "requests": requests,
        "concurrency": 1,
        "headers": {"Cookie": session_cookie(user)},
        **extra,
    }


def api(token: str, path: str, requests: int, **extra) -> dict:
    return {
        "path": path,
        "requests": requests,
        "concurrency": 1,
        "headers": {"Authorization": f"Token {token}"},
        **extra,
    }


def search_paths(center) -> list[str]:
    """What people type into the search box at `center`, from its own data: a whole ticket
    number, the tail of one, a customer's name, a phone's last 4 digits, a model code; each
    asked of the API's list and of the desk's search page."""
    from urllib.parse import quote

    from workflows.models import Repair

    repair = (
        Repair.objects.filter(center=center)
        .select_related("customer", "product_model")
        .order_by("-id")
        .first()
    )
    phone = str(repair.customer.phone)
    queries = [
        repair.ticket_number,
        repair.ticket_number[-5:],
        repair.customer.name,
        phone[-4:],
        repair.product_model.code,
    ]
    paths = []
    for q in queries:
        paths.append(f"/api/v1/repairs/?page_size=50&q={quote(q)}")
        paths.append(f"/desk/repairs/?state=&q={quote(q)}")
    return paths


def search_spec(user, token: str, center, requests: int) -> dict:
    """API and desk searches alternate; the desk's need the session, the API's the token (each
    request carries both; the API reads the token first)."""
    return {
        "paths": search_paths(center),
        "path": "/api/v1/repairs/?q=",
        "requests": requests,
        "concurrency": 1,
        "headers": {
            "Cookie": session_cookie(user),
            "Authorization": f"Token {token}",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help="reuse the bench database")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--skip-1m", action="store_true", help="the smaller national world (100k repairs)"
    )
    parser.add_argument("--load")
    args = parser.parse_args()
    if args.load:
        load_main(args.load)
        return

    import national

    size = national.SMALL if args.skip_1m else national.FULL
    existed = ensure_database(args.keep)
    django_setup()
    h = world()
    from workflows.models import Repair

    bm = h["BM"]
    grown = existed and Repair.objects.filter(center=bm["center"]).count() >= size.largest_repairs
    if not grown and not (existed and Repair.objects.filter(center=bm["center"]).count() >= 10_000):
        started = time.perf_counter()
        bulk_repairs(bm["center"], bm["customer"], h["model"], 10_000)
        say("load_10k_seconds", f"{time.perf_counter() - started:.1f}")
    ticket = repair_with_timeline(h)
    open_repairs(h, "BT", 10)
    if Repair.objects.filter(center=h["BK"]["center"]).count() < 1000:
        open_repairs(h, "BK", 1000)
    open_now = Repair.objects.filter(center=bm["center"]).exclude(state__in=["closed", "cancelled"])
    if not grown and open_now.count() < 10:
        open_repairs(h, "BM", 10 - open_now.count())
    from django.db import connections

    connections.close_all()

    status_spec = {
        "method": "POST",
        "path": "/api/v1/public/status/",
        "json": {"ticket_number": ticket, "phone_last4": PHONE[-4:]},
    }
    bk, bt = h["BK"], h["BT"]
    specs = {
        "bare": {"path": "/livez", "requests": 400, "concurrency": 2},
        "status_lookup": {**status_spec, "requests": 400, "concurrency": 2},
        "repair_detail": {**api(bt["token"], f"/api/v1/repairs/{ticket}/", 200), "concurrency": 2},
        "board_1000": desk(bk["user"], "/desk/", 20),
        "repair_list_1000": api(bk["token"], "/api/v1/repairs/?page_size=50", 40),
        "search_small": search_spec(bk["user"], bk["token"], bk["center"], 20),
    }
    if not grown:
        specs["board_10"] = desk(bm["user"], "/desk/", 40)
    for spec in specs.values():
        spec["ports"] = [8601]
    server = Server(8601, server_env())
    try:
        small = interleaved([server], specs, args.rounds)
        ratios = small["ratios"]
        say("status_lookup_vs_bare", f"{ratios['status_lookup']:.2f}  (goal >= 0.4)")
        say("repair_detail_vs_bare", f"{ratios['repair_detail']:.2f}  (goal >= 0.2)")
        say("board_1000_vs_bare", f"{ratios['board_1000']:.3f}")
        say("repair_list_1000_vs_bare", f"{ratios['repair_list_1000']:.3f}")
        if "board_10" in ratios:
            say("board_10_vs_bare", f"{ratios['board_10']:.3f}")
        for name, rate in small["rates"].items():
            say(f"{name}_requests_per_second", f"{rate:.0f}")
        lat_10k = cold_latency_median(sample_tickets(bm["center"], set()), [8601])
    finally:
        server.stop()

    say("board_10_queries", count_queries("/desk/", bt["user"]))
    say("board_1000_queries", count_queries("/desk/", bk["user"]))
    say("repair_list_1000_queries", count_queries("/api/v1/repairs/", bk["user"]))
    small_total = Repair.objects.count()
    reports_small = count_queries("/manager/", h["manager_BM"])
    say(f"reports_{small_total // 1000}k_queries", reports_small)

    if not grown:
        national.grow(bm["center"], size)
    connections.close_all()
    scale = "1m" if size is national.FULL else f"{size.repairs // 1000}k"
    big = {
        "bare": {"path": "/livez", "requests": 400, "concurrency": 2},
        "board_10k": desk(bm["user"], "/desk/", 10),
        "repair_list_10k": api(bm["token"], "/api/v1/repairs/?page_size=50", 20),
        "search_small": search_spec(bk["user"], bk["token"], bk["center"], 20),
        "search_largest": search_spec(bm["user"], bm["token"], bm["center"], 20),
        "reports": desk(h["manager_BM"], "/manager/", 4),
    }
    for spec in big.values():
        spec["ports"] = [8601]
    server = Server(8601, server_env())
    try:
        lat_big = cold_latency_median(sample_tickets(bm["center"], used_tickets), [8601])
        large = interleaved([server], big, args.rounds)
        csv_rows, csv_rate, csv_rss = csv_over_http(h["manager_BM"], [8601], server)
    finally:
        server.stop()
    ratios = large["ratios"]
    say(f"lookup_{scale}_vs_10k", f"{lat_big / lat_10k:.2f}  (goal <= 1.5)")
    if "board_10" in small["cpu"]:
        say(
            "board_10k_vs_10",
            f"{small['cpu']['board_10'] / large['cpu']['board_10k']:.2f}  (goal >= 0.7; CPU per "
            f"request, same center at 10 then 10,000 open; latency "
            f"{small['latency']['board_10'] * 1000:.0f} ms -> "
            f"{large['latency']['board_10k'] * 1000:.0f} ms)",
        )
    else:
        say("board_10k_vs_10", "not measured (--keep of a grown world: the 10 open are gone)")
    say("board_10k_vs_bare", f"{ratios['board_10k']:.3f}")
    say("repair_list_10k_vs_bare", f"{ratios['repair_list_10k']:.3f}")
    say(
        f"search_{scale}_vs_10k",
        f"{large['latency']['search_small'] / small['latency']['search_small']:.2f}  "
        f"(goal <= 1.5; median latency of the same searches at the same 1,000-repair center, "
        f"{small_total:,} then {Repair.objects.count():,} repairs in the database; CPU ratio "
        f"{large['cpu']['search_small'] / small['cpu']['search_small']:.2f})",
    )
    say(
        "search_largest_center_ms",
        f"{large['latency']['search_largest'] * 1000:.0f}  (median; "
        f"{Repair.objects.filter(center=bm['center']).count():,} repairs at that center)",
    )
    say("reports_vs_bare", f"{ratios['reports']:.4f}")
    say("reports_ms", f"{large['latency']['reports'] * 1000:.0f}  (median, the default 8 weeks)")
    for name, rate in large["rates"].items():
        say(f"{name}_{scale}_requests_per_second", f"{rate:.1f}")
    say("board_10k_queries", count_queries("/desk/", bm["user"]))
    say("repair_list_10k_queries", count_queries("/api/v1/repairs/", bm["user"]))
    say(
        f"reports_{scale}_queries",
        f"{count_queries('/manager/', h['manager_BM'])}  (at {small_total // 1000}k: "
        f"{reports_small}; constant)",
    )
    csv_in_process(h["manager_BM"])
    say(
        f"csv_{csv_rows // 1000}k_rows_per_second",
        f"{csv_rate:.0f}  (through gunicorn; worker peak RSS grew {csv_rss:.1f} MB)",
    )

    reserve_contention(h)
    two_servers(status_spec, ticket, args.rounds)
    ticket_bench()
    csv_bench()
    print("bench: done", flush=True)


def csv_year() -> str:
    import datetime as dt

    from django.utils import timezone

    today = timezone.localdate()
    return f"/api/v1/reports/repairs.csv?from={today - dt.timedelta(365)}&to={today}"


def worker_peak_mb(server: Server) -> float:
    for line in Path(f"/proc/{server.worker}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def csv_over_http(manager, ports: list[int], server: Server) -> tuple[int, float, float]:
    """The largest center's year of repairs as CSV through gunicorn: (rows, rows/s, growth of
    the worker's peak resident memory in MB)."""
    before = worker_peak_mb(server)
    conn = http.client.HTTPConnection("127.0.0.1", ports[0], timeout=600)
    started = time.perf_counter()
    conn.request("GET", csv_year(), headers={"Cookie": session_cookie(manager)})
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"csv export answered {response.status}")
    lines = 0
    while chunk := response.read(1 << 16):
        lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    conn.close()
    return lines - 1, (lines - 1) / elapsed, worker_peak_mb(server) - before


def csv_in_process(manager) -> None:
    """Peak Python memory (tracemalloc) while the same export streams through the real view in
    this process (the test client), and its rows/s there."""
    import tracemalloc

    from django.test import Client

    client = Client()
    client.force_login(manager)
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get(csv_year())
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    elapsed = time.perf_counter() - started
    _size, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows = lines - 1
    say(f"csv_{rows // 1000}k_peak_mb", f"{peak / 2**20:.1f}  (goal <= 64; tracemalloc, streamed)")
    say(
        f"csv_{rows // 1000}k_rows_per_second_in_process", f"{rows / elapsed:.0f}  (tracemalloc on)"
    )


used_tickets: set[str] = set()


def sample_tickets(center, exclude: set[str]) -> list[tuple[str, str]]:
    """650 random (ticket, phone's last 4 digits) of `center` not looked up before."""
    from workflows.models import Repair

    picked = list(
        Repair.objects.filter(center=center)
        .exclude(ticket_number__in=exclude)
        .order_by("?")
        .values_list("ticket_number", "customer__phone")[:650]
    )
    used_tickets.update(t for t, _phone in picked)
    return [(t, str(phone)[-4:]) for t, phone in picked]


def cold_latency_median(tickets: list[tuple[str, str]], ports: list[int]) -> float:
    """Median latency of status lookups of tickets nobody looked up before: every one misses the
    caches and goes to the database, which is what the table size can slow down."""
    bodies = [{"ticket_number": t, "phone_last4": last4} for t, last4 in tickets]
    base = {"method": "POST", "path": "/api/v1/public/status/", "concurrency": 1, "ports": ports}
    run_load({**base, "json_list": bodies[:50], "requests": 50})  # warm the worker, not the data
    medians = []
    for r in range(3):
        result = run_load(
            {**base, "json_list": bodies[50 + r * 200 : 250 + r * 200], "requests": 200}
        )
        if result["statuses"] != {"200": 200}:
            raise RuntimeError(f"cold lookups answered {result['statuses']}")
        medians.append(statistics.median(result["latencies"]))
    return statistics.median(medians)


def contended_part(center, model, *, on_hand: int):
    """The part 50 technicians want: `on_hand` units at `center`, none reserved. A kept database
    still holds the last run's repairs: their reservations of it are released and the count set
    back, all through the stock ledger (`manage.py audit_ledgers` agrees after a run)."""
    from django.db import transaction

    from parts import services as parts_services
    from parts.models import Part, Reservation
    from workflows.models import Repair

    part, _ = Part.objects.get_or_create(
        part_number="BENCH-SPRING", defaults={"name": "bench", "unit_price": 100}
    )
    part.compatible_models.add(model)
    holding = Reservation.objects.filter(part=part, status__in=["waiting", "reserved"])
    with transaction.atomic():
        repairs = Repair.objects.select_for_update().filter(pk__in=holding.values("repair_id"))
        for repair in repairs.order_by("pk"):
            parts_services.reservations_release(repair=repair)
    parts_services.stock_set_count(
        center_id=center.pk, part_id=part.pk, on_hand=on_hand, reason="bench: contention reset"
    )
    return part


def reserve_contention(h) -> None:
    """50 technicians diagnosing at once, each wanting 1 of the same 10 units."""
    from django.db import connection

    from parts.models import Reservation, Stock
    from service_center.services import staff_create
    from workflows import services as s

    c = h["BT"]
    tech = staff_create(
        username="tech_BT", role="technician", center_code="BT", password="bench12345"
    )
    part = contended_part(c["center"], h["model"], on_hand=10)
    repairs = []
    for _ in range(50):
        r = s.repair_intake(
            center=c["center"],
            actor=c["user"],
            customer={"name": "김벤치", "phone": PHONE},
            product_model="HBS-1100",
            symptom="bench",
        )
        repairs.append(s.repair_assign(repair=r, actor=c["user"], technician=tech))
    connection.close()
    barrier = threading.Barrier(50)
    errors: list[str] = []

    def diagnose(repair) -> None:
        try:
            barrier.wait()
            s.repair_diagnose(
                repair=repair.pk,
                actor=tech,
                findings="x",
                parts=[{"part_number": "BENCH-SPRING", "quantity": 1}],
            )
        except Exception as exc:  # counted, not hidden
            errors.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=diagnose, args=(r,)) for r in repairs]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    stock = Stock.objects.get(center=c["center"], part=part)
    reserved = Reservation.objects.filter(part=part, status="reserved").count()
    say(
        "reserve_contention",
        f"{50 / elapsed:.0f} reservations/s, {reserved} reserved, "
        f"{50 - reserved - len(errors)} waiting, errors: {len(errors)}",
    )
    say("oversold", max(0, stock.reserved - stock.on_hand) + max(0, reserved - 10))


def two_servers(status_spec: dict, ticket: str, rounds: int) -> None:
    env = server_env()
    one, two = Server(8601, env), Server(8602, env)
    try:
        ratios = []
        for _ in range(rounds):
            base = {**status_spec, "requests": 400, "concurrency": 4}
            single = run_load({**base, "ports": [8601]})
            double = run_load({**base, "ports": [8601, 8602]})
            ratios.append(single["elapsed"] / double["elapsed"])
        say(
            "two_servers_vs_one",
            f"{statistics.median(ratios):.2f}  (2 cores shared with the load generator)",
        )
    finally:
        one.stop()
        two.stop()
    # The per-ticket lock-out with the real limit, guesses alternating between the two servers.
    env = server_env(PUBLIC_LOOKUP_RATE_PER_IP="1000", CACHE_KEY_PREFIX=f"bench{time.time_ns()}")
    one, two = Server(8601, env), Server(8602, env)
    try:
        statuses = []
        for i in range(8):
            conn = http.client.HTTPConnection("127.0.0.1", 8601 + i % 2, timeout=10)
            statuses.append(
                _request(
                    conn,
                    {
                        "method": "POST",
                        "path": status_spec["path"],
                        "json": {"ticket_number": ticket, "phone_last4": "0000"},
                    },
                )
            )
        conn = http.client.HTTPConnection("127.0.0.1", 8602, timeout=10)
        right = _request(conn, status_spec)
        holds = 429 in statuses and right == 429
        say(
            "two_servers_throttle_holds",
            f"{'yes' if holds else 'NO'} (wrong guesses: "
            f"{statuses}; then the right digits on the other server: {right})",
        )
    finally:
        one.stop()
        two.stop()


def ticket_bench() -> None:
    script = ROOT / "bench" / "ticket_render.py"
    if not script.exists():
        say("ticket_render_vs_minimal", "not measured (bench/ticket_render.py missing)")
        return
    out = subprocess.run([PY, str(script)], capture_output=True, text=True, cwd=ROOT)
    for line in out.stdout.splitlines():
        if line.strip() and not line.startswith("bench: done"):
            print(line, flush=True)
    if out.returncode:
        say("ticket_render", f"failed: {out.stderr.strip().splitlines()[-1:]}")


def csv_bench() -> None:
    """The CSV export's memory, streamed vs built in memory (bench/csv_export.py), in a
    throwaway SQLite database of its own so the bench database keeps its shape."""
    script = ROOT / "bench" / "csv_export.py"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    out = subprocess.run([PY, str(script)], capture_output=True, text=True, cwd=ROOT, env=env)
    for line in out.stdout.splitlines():
        if line.strip():
            print(line, flush=True)
    if out.returncode:
        say("csv_export", f"failed: {out.stderr.strip().splitlines()[-1:]}")


if __name__ == "__main__":
    main()
