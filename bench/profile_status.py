#!/usr/bin/env python
"""Profile the public status lookup at a cache hit: `POST /api/v1/public/status/` with a ticket
number and the last 4 phone digits, the answer already cached, through the real URL and every
middleware, under cProfile (the same shape as bench/profile_detail.py).

    python bench/profile_status.py [-n 1000] [--top 25] [--cpu]

A throwaway SQLite database and the in-process cache by default; with DATABASE_URL=postgres://...
and REDIS_URL=redis://... the database and cache they name (it adds a center and a repair).
Prints the top functions by cumulative and by own time, then `status_cpu_ms_per_request`
(process CPU without the profiler, the fastest of five batches) and
`status_queries_per_request` (0 at a hit).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def setup() -> None:
    if "DATABASE_URL" not in os.environ:
        folder = tempfile.mkdtemp(prefix="status-profile-")
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/profile.sqlite3"
    os.environ.setdefault("SECRET_KEY", "bench-only-key-status-profile-5c1e")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "service_center.settings")
    os.environ.setdefault("CACHE_KEY_PREFIX", f"statusprofile{time.time_ns()}")
    os.environ["NOTIFICATION_BACKEND"] = "workflows.notify.LocmemBackend"
    os.environ["PUBLIC_LOOKUP_RATE_PER_IP"] = "100000000"  # one client asks many times
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def repair_with_timeline() -> str:
    """The ticket number of one open repair with a 30-event timeline (phone ...6789)."""
    from service_center.models import ProductModel, ServiceCenter
    from service_center.services import staff_create
    from workflows import services as s

    center, _ = ServiceCenter.objects.get_or_create(code="PS", defaults={"name": "profile"})
    ProductModel.objects.get_or_create(
        code="PS-1", defaults={"name": "프로파일 헤드셋", "category": "audio"}
    )
    user = staff_create(
        username=f"desk_ps_{time.time_ns()}", role="front_desk", center_code="PS", password="x" * 12
    )
    repair = s.repair_intake(
        center=center,
        actor=user,
        customer={"name": "김벤치", "phone": "010-2345-6789"},
        product_model="PS-1",
        symptom="bench",
    )
    for i in range(29):
        s.repair_add_note(repair=repair, actor=user, text=f"note {i}", customer_visible=bool(i % 2))
    return repair.ticket_number


def main() -> None:
    from profiling import fastest_cpu_ms, profile_top

    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument(
        "--cpu", action="store_true", help="profile by process CPU time, not wall-clock time"
    )
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--dump", default="", help="also write the raw profile to this file")
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.test import Client

    ticket = repair_with_timeline()
    client = Client(HTTP_ACCEPT_LANGUAGE="ko")
    body = json.dumps({"ticket_number": ticket, "phone_last4": "6789"})

    def fetch() -> None:
        response = client.post("/api/v1/public/status/", body, content_type="application/json")
        assert response.status_code == 200, response.content[:200]

    for _ in range(20):  # warm: the cached answer, imports, translations, the URL resolver
        fetch()
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        fetch()

    cpu_ms = fastest_cpu_ms(fetch, args.n)
    print(profile_top(fetch, args.n, args.top, cpu=args.cpu, dump=args.dump))
    from django.core.cache import cache

    print(f"database: {connection.vendor}; cache: {type(cache).__name__}")
    print(f"status_cpu_ms_per_request: {cpu_ms:.3f}")
    print(f"status_queries_per_request: {len(queries)}")


if __name__ == "__main__":
    main()
