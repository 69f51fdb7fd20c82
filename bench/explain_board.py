#!/usr/bin/env python
"""EXPLAIN (ANALYZE, BUFFERS) of the board's and the lists' queries at 10,000 open repairs in
one center (issue 14): which index each query uses, how many rows it touches, how long it takes.

    DATABASE_URL=postgres://... python bench/explain_board.py [--open 10000]

PostgreSQL only (the plans are what matters). Loads center XB with bulk_create (its earlier rows
are deleted first): `--open` open repairs, 4 in 10 in the "received" column, a fifth assigned
to one technician, one in ten with an overdue promise, one in ten with a promise due later, and
as many closed repairs. Then runs the desk board, the technician's list, the unassigned list and
the call list once to warm up, once captured, and prints each captured query's plan.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("explain_board: set DATABASE_URL=postgres://... (plans are PostgreSQL's)")
    os.environ.setdefault("SECRET_KEY", "bench-only-key-explain-board-7d2a")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "service_center.settings")
    os.environ["NOTIFICATION_BACKEND"] = "workflows.notify.LocmemBackend"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def world():
    from django.contrib.auth import get_user_model

    from service_center.models import Customer, ProductModel, ServiceCenter
    from service_center.services import staff_create

    center, _ = ServiceCenter.objects.get_or_create(code="XB", defaults={"name": "보드 벤치 센터"})
    model, _ = ProductModel.objects.get_or_create(
        code="XB-BENCH", defaults={"name": "벤치 헤드셋", "category": "audio"}
    )
    customer = Customer.objects.filter(center=center).first() or Customer.objects.create(
        center=center, name="김벤치", phone="010-2345-6789"
    )
    tech = get_user_model().objects.filter(username="xb_bench_tech").first()
    if tech is None:
        tech = staff_create(
            username="xb_bench_tech", role="technician", center_code="XB", password="bench12345"
        )
    return center, model, customer, tech


def load(center, model, customer, tech, open_count: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from workflows.choices import OPEN_STATES, State
    from workflows.models import Promise, Repair

    Repair.objects.filter(center=center).delete()
    now = timezone.now()
    others = [s for s in OPEN_STATES if s != State.RECEIVED]
    rows = []
    for i in range(open_count * 2):
        if i >= open_count:
            state = State.CLOSED
        elif i % 10 < 4:
            state = State.RECEIVED
        else:
            state = others[i % len(others)]
        rows.append(
            Repair(
                ticket_number=f"XB-{i:08d}{secrets.token_hex(3)}",
                status_token=secrets.token_hex(16),
                center=center,
                customer=customer,
                product_model=model,
                symptom="bench",
                coverage="paid",
                state=state,
                technician=tech if state != State.RECEIVED and i % 5 == 1 else None,
                created_at=now - dt.timedelta(minutes=7 * (open_count * 2 - i)),
            )
        )
    made = Repair.objects.bulk_create(rows, batch_size=5000)
    promises = []
    for i, r in enumerate(made[:open_count]):
        if i % 10 == 3:
            promises.append(
                Promise(repair=r, kind="callback", due_at=now - dt.timedelta(hours=i % 97))
            )
        elif i % 10 == 6:
            promises.append(
                Promise(repair=r, kind="callback", due_at=now + dt.timedelta(hours=i % 30))
            )
        elif i % 10 == 8:  # kept late: not overdue
            promises.append(
                Promise(
                    repair=r, kind="callback", due_at=now - dt.timedelta(hours=5), fulfilled_at=now
                )
            )
    Promise.objects.bulk_create(promises, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def explain(label: str, run) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    run()  # warm
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as ctx:
        run()
    elapsed = (time.perf_counter() - started) * 1000
    print(f"\n=== {label}: {len(ctx.captured_queries)} queries, {elapsed:.1f} ms in Python+DB")
    for n, query in enumerate(ctx.captured_queries, 1):
        sql = query["sql"]
        print(f"\n--- {label} query {n} ({float(query['time']) * 1000:.1f} ms): {sql[:160]}…")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            for (line,) in cursor.fetchall():
                print("   ", line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=10_000, help="open repairs in the center")
    args = parser.parse_args()
    setup()
    from workflows import page_selectors as sel

    center, model, customer, tech = world()
    started = time.perf_counter()
    load(center, model, customer, tech, args.open)
    print(
        f"loaded {args.open} open + {args.open} closed repairs"
        f" in {time.perf_counter() - started:.1f} s"
    )
    explain("desk board", lambda: sel.desk_board(center_id=center.pk))
    board = sel.desk_board(center_id=center.pk)
    shown = [r.pk for _state, _label, rows, _n in board.columns for r in rows]
    explain(
        f"desk board's {len(shown)} cards read to be drawn (cache misses)",
        lambda: sel.read_cards(shown),
    )
    explain("technician's list", lambda: sel.technician_repairs(user=tech))
    explain("unassigned", lambda: sel.unassigned_repairs(center_id=center.pk))
    explain("call list", lambda: sel.call_list(center_id=center.pk))
    print("\nexplain_board: done")


if __name__ == "__main__":
    main()
