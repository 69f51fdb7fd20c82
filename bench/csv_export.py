#!/usr/bin/env python
"""The repairs CSV export streams with flat memory: peak Python memory (tracemalloc) while
streaming 10,000 and 100,000 rows through the real view, side by side, and rows/s; then the
same rows built as one list in memory (the non-streamed baseline), as a ratio.

    python bench/csv_export.py [--rows 100000]

A throwaway SQLite database in a temporary folder by default; with DATABASE_URL=postgres://...
the database it names (its repairs are bulk-created there and deleted afterwards). Prints
`name: value` lines and a table; called by bench/run.py too.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup() -> str:
    folder = tempfile.mkdtemp(prefix="csv-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder}/bench.sqlite3")
    os.environ.setdefault("SECRET_KEY", "bench-only-key-csv-export-5e1c")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "service_center.settings")
    os.environ["NOTIFICATION_BACKEND"] = "workflows.notify.LocmemBackend"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return os.environ["DATABASE_URL"].split("://", 1)[0]


def world():
    from service_center.models import Customer, ProductModel, ServiceCenter
    from service_center.services import staff_create

    center, _ = ServiceCenter.objects.get_or_create(code="CB", defaults={"name": "CSV 벤치 센터"})
    model, _ = ProductModel.objects.get_or_create(
        code="CSV-BENCH", defaults={"name": "벤치 헤드셋", "category": "audio"}
    )
    customer = Customer.objects.create(center=center, name="=김벤치", phone="010-2345-6789")
    from django.contrib.auth import get_user_model

    manager = get_user_model().objects.filter(username="csv_bench_manager").first()
    if manager is None:
        manager = staff_create(
            username="csv_bench_manager", role="manager", center_code="CB", password="bench12345"
        )
    return center, model, customer, manager


def bulk_repairs(center, model, customer, count: int, day) -> None:
    """`count` repairs taken in on `day`, each with its intake and one awaiting_parts event."""
    import datetime as dt
    import secrets

    from django.utils import timezone

    from workflows.models import Repair, RepairEvent

    when = timezone.make_aware(dt.datetime.combine(day, dt.time(10)))
    batch = 5000
    for start in range(0, count, batch):
        repairs = [
            Repair(
                ticket_number=f"CB-{day:%y%m%d}-{start + i:08d}",  # unique per day and row
                status_token=secrets.token_hex(16),
                center=center,
                customer=customer,
                product_model=model,
                symptom="bench",
                coverage="paid",
                labor_fee=10000,
                created_at=when,
            )
            for i in range(min(batch, count - start))
        ]
        made = Repair.objects.bulk_create(repairs)
        if made[0].pk is None:  # SQLite before RETURNING: read the ids back
            numbers = [r.ticket_number for r in repairs]
            made = list(Repair.objects.filter(ticket_number__in=numbers))
        events = []
        for r in made:
            events.append(
                RepairEvent(
                    repair_id=r.pk,
                    at=when,
                    actor_kind="system",
                    kind="transition",
                    transition="intake",
                    from_state="",
                    to_state="received",
                )
            )
            events.append(
                RepairEvent(
                    repair_id=r.pk,
                    at=when + dt.timedelta(hours=2),
                    actor_kind="system",
                    kind="transition",
                    transition="diagnose",
                    from_state="received",
                    to_state="awaiting_parts",
                )
            )
        RepairEvent.objects.bulk_create(events)


def streamed(manager, day, center_code: str) -> tuple[int, int, float]:
    """(rows, peak bytes, seconds) streaming the CSV through the real view (test client)."""
    from django.test import Client

    client = Client()
    client.force_login(manager)
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get(f"/api/v1/reports/repairs.csv?from={day}&to={day}")
    assert response.status_code == 200 and response.streaming, response.status_code
    lines = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    _size, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return lines - 1, peak, elapsed


def built_in_memory(center_id: int, day) -> tuple[int, int, float]:
    """The baseline: every row fetched and written into one string before answering."""
    from workflows import reports
    from workflows.api.reports import HEADER, csv_row

    tracemalloc.start()
    started = time.perf_counter()
    rows = list(reports.export_rows(reports.Period(center_id, day, day)))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(csv_row(r) for r in rows)
    body = ("\ufeff" + out.getvalue()).encode("utf-8")
    elapsed = time.perf_counter() - started
    _size, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert body
    return len(rows), peak, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    engine = setup()
    import datetime as dt

    from workflows.models import Repair

    center, model, customer, manager = world()
    small_day, big_day = dt.date(2025, 3, 3), dt.date(2025, 3, 4)
    started = time.perf_counter()
    small = args.rows // 10
    bulk_repairs(center, model, customer, small, small_day)
    bulk_repairs(center, model, customer, args.rows, big_day)
    print(f"csv_generate_{small + args.rows}_seconds: {time.perf_counter() - started:.1f}")
    try:
        streamed(manager, small_day, center.code)  # warm: URL conf, imports, the session
        results = {}
        for name, day in ((f"{small:,}", small_day), (f"{args.rows:,}", big_day)):
            results[name] = (streamed(manager, day, center.code), built_in_memory(center.pk, day))
        print(f"\ncsv export ({engine}), peak Python memory (tracemalloc)")
        print(
            f"{'rows':>9} | {'streamed peak':>13} | {'rows/s':>8} | {'in-memory peak':>14} | "
            f"{'in-memory / streamed':>20}"
        )
        for name, ((n, peak, secs), (m, base_peak, _base_secs)) in results.items():
            assert n == m, (n, m)
            print(
                f"{name:>9} | {peak / 2**20:>10.1f} MB | {n / secs:>8.0f} | "
                f"{base_peak / 2**20:>11.1f} MB | {base_peak / peak:>20.1f}"
            )
        (s_small, b_small), (s_big, b_big) = results.values()
        print()
        big = f"{args.rows // 1000}k"
        print(
            f"csv_streamed_peak_ratio_{big}_vs_tenth: {s_big[1] / s_small[1]:.2f}  (flat: near 1)"
        )
        print(f"csv_in_memory_peak_ratio_{big}_vs_tenth: {b_big[1] / b_small[1]:.2f}")
        print(f"csv_in_memory_vs_streamed_at_{big}: {b_big[1] / s_big[1]:.1f}")
        print(f"csv_rows_per_second_{big}: {s_big[0] / s_big[2]:.0f}")
    finally:
        Repair.objects.filter(center=center).delete()


if __name__ == "__main__":
    main()
