#!/usr/bin/env python
"""Profile the API repair detail: one repair with a 30-event timeline (as bench/run.py builds
it), fetched N times through the real URL with token authentication, under cProfile.

    python bench/profile_detail.py [-n 200] [--top 20] [--cpu]

A throwaway SQLite database in a temporary folder by default; with DATABASE_URL=postgres://...
the database it names (it adds a center, a user and a repair there). Prints the top functions
by cumulative time and by own time, then `detail_cpu_ms_per_request` (process CPU without the
profiler, the fastest of five batches) and `detail_queries_per_request`.
"""

from __future__ import annotations

import argparse
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
        folder = tempfile.mkdtemp(prefix="detail-profile-")
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/profile.sqlite3"
    os.environ.setdefault("SECRET_KEY", "bench-only-key-detail-profile-3a9f")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "service_center.settings")
    os.environ["NOTIFICATION_BACKEND"] = "workflows.notify.LocmemBackend"
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def repair_with_timeline() -> tuple[str, str]:
    """(ticket number, token): one open repair with a 30-event timeline, as bench/run.py."""
    from rest_framework.authtoken.models import Token

    from service_center.models import ProductModel, ServiceCenter
    from service_center.services import staff_create
    from workflows import services as s

    center, _ = ServiceCenter.objects.get_or_create(code="PD", defaults={"name": "profile"})
    ProductModel.objects.get_or_create(
        code="PD-1", defaults={"name": "프로파일 헤드셋", "category": "audio"}
    )
    user = staff_create(
        username=f"desk_pd_{time.time_ns()}", role="front_desk", center_code="PD", password="x" * 12
    )
    repair = s.repair_intake(
        center=center,
        actor=user,
        customer={"name": "김벤치", "phone": "010-2345-6789"},
        product_model="PD-1",
        symptom="bench",
    )
    for i in range(29):  # with the intake event: 30
        s.repair_add_note(repair=repair, actor=user, text=f"note {i}", customer_visible=bool(i % 2))
    return repair.ticket_number, Token.objects.get_or_create(user=user)[0].key


def main() -> None:
    from profiling import fastest_cpu_ms, profile_top

    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument(
        "--cpu", action="store_true", help="profile by process CPU time, not wall-clock time"
    )
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--dump", default="", help="also write the raw profile to this file")
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.test import Client

    ticket, token = repair_with_timeline()
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT_LANGUAGE="ko")
    path = f"/api/v1/repairs/{ticket}/"

    def fetch() -> None:
        response = client.get(path)
        assert response.status_code == 200, response.content[:200]
        assert len(response.json()["timeline"]) >= 30

    for _ in range(20):  # warm: imports, translations, the URL resolver
        fetch()
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):  # the client's request_started resets .queries
        fetch()

    cpu_ms = fastest_cpu_ms(fetch, args.n)
    print(profile_top(fetch, args.n, args.top, cpu=args.cpu, dump=args.dump))
    print(f"database: {connection.vendor}")
    print(f"detail_cpu_ms_per_request: {cpu_ms:.2f}")
    print(f"detail_queries_per_request: {len(queries)}")


if __name__ == "__main__":
    main()
