#!/usr/bin/env python
"""EXPLAIN (ANALYZE, BUFFERS) of search (issue 14) at national scale: which index each kind of
query uses and how long it takes, in the largest center.

    DATABASE_URL=postgres://... python bench/explain_search.py [--repairs 1000000]
        [--centers 1000] [--big 100000] [--plans]

PostgreSQL only. Deletes the repairs, customers and devices of the centers whose code starts
with "Q" (its own earlier load; centers are kept), then loads with INSERT ... SELECT:
`--centers` centers (QS0000 the largest, holding `--big` repairs; the rest share the others
evenly), a customer per two repairs (Korean names from 10 family names and 31 syllables, +8210
phones), a registry device for every other repair, 50 product models. Then runs each search
the way the desk's box does (workflows.page_selectors.desk_board with a query) and the API does
(`repair_list` + pagination: a count and a page), once to warm up, then `--rounds` times, and
prints the median milliseconds; with `--plans`, every captured query's plan. Run it at
`--repairs 10000 --centers 1 --big 10000` too: the figures side by side are search_1m_vs_10k's
story.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAMILY = "김이박최정강조윤장임"
SYLLABLES = "민서준지우현수영하은도윤예진성호재희경아유나태혁승연주원채동규"


def setup() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("explain_search: set DATABASE_URL=postgres://... (plans are PostgreSQL's)")
    os.environ.setdefault("SECRET_KEY", "bench-only-key-explain-search-91c4")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "service_center.settings")
    os.environ["NOTIFICATION_BACKEND"] = "workflows.notify.LocmemBackend"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load(repairs: int, centers: int, big: int) -> None:
    from django.db import connection

    from service_center.models import ProductModel, ServiceCenter

    with connection.cursor() as cursor:
        for sql in (
            "DELETE FROM workflows_repair WHERE center_id IN"
            " (SELECT id FROM service_center_servicecenter WHERE code LIKE 'Q%%')",
            "DELETE FROM service_center_device WHERE serial_number LIKE 'QSN%%'",
            "DELETE FROM service_center_customer WHERE center_id IN"
            " (SELECT id FROM service_center_servicecenter WHERE code LIKE 'Q%%')",
        ):
            cursor.execute(sql)
    ServiceCenter.objects.bulk_create(
        [ServiceCenter(code=f"QS{n:04d}", name=f"검색 벤치 {n}") for n in range(centers)],
        ignore_conflicts=True,  # kept from an earlier load: the bench's desk login belongs to one
    )
    ProductModel.objects.bulk_create(
        [ProductModel(code=f"Q-{n:03d}", name=f"벤치 모델 {n}") for n in range(50)],
        ignore_conflicts=True,
    )
    first = ServiceCenter.objects.get(code="QS0000").pk
    model = ProductModel.objects.get(code="Q-000").pk
    customers = repairs // 2
    big_customers = big // 2
    others = list(
        ServiceCenter.objects.filter(code__startswith="QS")
        .exclude(pk=first)
        .order_by("code")
        .values_list("pk", flat=True)[: centers - 1]
    )
    # Customer j's center: the big one for the first big/2, then round the others.
    center_of = (
        f"CASE WHEN j <= {big_customers} THEN {first}"
        f" ELSE (ARRAY{others})[1 + j % {len(others)}] END"
        if others
        else str(first)
    )
    n = len(SYLLABLES)
    name = (
        f"substr('{FAMILY}', 1 + (j % 10), 1) || substr('{SYLLABLES}', 1 + (j / 10) % {n}, 1)"
        f" || substr('{SYLLABLES}', 1 + (j / 10 / {n}) % {n}, 1)"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM service_center_customer")
        (c0,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO service_center_customer (id, center_id, name, phone, email, address,"
            " created_at)"
            f" SELECT {c0} + j, {center_of}, {name},"
            " '+8210' || lpad(((j::bigint * 7919) % 100000000)::text, 8, '0'), '', '', now()"
            f" FROM generate_series(1, {customers}) AS j"
        )
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM service_center_device")
        (d0,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO service_center_device (id, serial_number, product_model_id,"
            " purchase_date, channel, owner_id)"
            f" SELECT {d0} + j, 'QSN' || upper(substr(md5(j::text), 1, 5))"
            f" || lpad(j::text, 7, '0'), {model} + j % 50,"
            f" date '2025-01-01', 'official', {c0} + j FROM generate_series(1, {customers}) AS j"
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('service_center_customer', 'id'),"
            " (SELECT MAX(id) FROM service_center_customer))"
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('service_center_device', 'id'),"
            " (SELECT MAX(id) FROM service_center_device))"
        )
        # Repair i belongs to customer (i + 1) / 2, in that customer's center; one in ten open.
        cursor.execute(
            "INSERT INTO workflows_repair (ticket_number, status_token, reported_serial,"
            " checked_in_serial, serial_mismatch, symptom, accessories, intake_channel,"
            " device_in_shop, return_method, courier_recipient, courier_address, courier_phone,"
            " language, coverage, findings, quote_approved_by, deposit_required, deposit_paid,"
            " amount_paid, state, version, work_notes, outcome_reason, carrier, tracking_number,"
            " created_at, updated_at, center_id, customer_id, coverage_reason_code,"
            " coverage_reason_params, condition, requote_reason, product_model_id, device_id)"
            " SELECT 'Q' || lpad(i::text, 7, '0') || '-' || upper(substr(md5(i::text), 1, 6)),"
            " md5(i::text || 't'), CASE WHEN i % 2 = 1 THEN 'QRS' || upper(substr(md5(i::text),"
            " 7, 9)) ELSE '' END, '', false, 'bench', '', 'walk_in', true, 'pickup', '', '', '',"
            " 'ko', 'paid', '', '', 0, 0, 0,"
            " CASE WHEN i % 10 = 0 THEN 'received' ELSE 'closed' END, 1, '', '', '', '',"
            " now() - (i || ' minutes')::interval, now(), c.center_id, c.id, '', '{}', '[]', '',"
            f" {model} + i % 50, CASE WHEN i % 2 = 0 THEN {d0} + (i + 1) / 2 END"
            f" FROM generate_series(1, {customers * 2}) AS i"
            f" JOIN service_center_customer c ON c.id = {c0} + (i + 1) / 2"
        )
        cursor.execute("VACUUM ANALYZE")


def searches(center_code: str) -> list[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.ticket_number, c.name, c.phone, d.serial_number FROM workflows_repair r"
            " JOIN service_center_customer c ON c.id = r.customer_id"
            " JOIN service_center_device d ON d.id = r.device_id"
            " JOIN service_center_servicecenter s ON s.id = r.center_id"
            " WHERE s.code = %s ORDER BY r.id DESC LIMIT 1",
            [center_code],
        )
        ticket, name, phone, serial = cursor.fetchone()
    local = "0" + phone[3:]
    return [
        ("whole ticket", ticket.lower()),
        ("ticket suffix", ticket[-6:]),
        ("full name", name),
        ("given name (2 chars)", name[1:]),
        ("phone last 4", phone[-4:]),
        ("whole phone", f"{local[:3]}-{local[3:7]}-{local[7:]}"),
        ("serial", serial.lower()),
        ("serial part", serial[3:9]),
        ("model code", "Q-007"),
        ("nothing matches", "없는이름"),
    ]


def measure(label: str, run, rounds: int, plans: bool) -> float:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    run()  # warm
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    median = statistics.median(times)
    with CaptureQueriesContext(connection) as ctx:
        found = run()
    print(f"{label}: {median:.1f} ms, {len(ctx.captured_queries)} queries, {found} shown")
    if plans:
        for n, query in enumerate(ctx.captured_queries, 1):
            sql = query["sql"]
            print(f"\n--- {label} query {n}: {sql[:200]}…")
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                for (line,) in cursor.fetchall():
                    print("   ", line)
            print()
    return median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repairs", type=int, default=1_000_000)
    parser.add_argument("--centers", type=int, default=1000)
    parser.add_argument("--big", type=int, default=100_000, help="repairs of the largest center")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--plans", action="store_true", help="print every query's plan")
    parser.add_argument("--no-load", action="store_true", help="reuse the last load")
    args = parser.parse_args()
    setup()
    from django.contrib.auth import get_user_model
    from django.core.paginator import Paginator

    from service_center.models import ServiceCenter
    from service_center.services import staff_create
    from workflows import page_selectors, selectors

    if not args.no_load:
        started = time.perf_counter()
        load(args.repairs, args.centers, args.big)
        print(
            f"loaded {args.repairs} repairs in {args.centers} centers (the largest {args.big})"
            f" in {time.perf_counter() - started:.1f} s"
        )
    center = ServiceCenter.objects.get(code="QS0000")
    desk = get_user_model().objects.filter(username="qs_bench_desk").first() or staff_create(
        username="qs_bench_desk", role="front_desk", center_code="QS0000", password="bench12345"
    )

    def desk_box(q: str):
        return lambda: len(page_selectors.desk_board(center_id=center.pk, query=q).results)

    def api_page(q: str):
        def run() -> int:
            page = Paginator(selectors.repair_list(user=desk, query=q), 25).page(1)
            return len(page.object_list)

        return run

    total = 0.0
    for label, q in searches("QS0000"):
        total += measure(f"desk box, {label} ({q})", desk_box(q), args.rounds, args.plans)
        total += measure(f"API page, {label} ({q})", api_page(q), args.rounds, args.plans)
    print(f"\nsearch_total_ms: {total:.1f}")
    print("explain_search: done")


if __name__ == "__main__":
    main()
