#!/usr/bin/env python
"""Profile the desk board (`GET /desk/`) in the world `bench/run.py` leaves behind: its small
center BT (about 10 open repairs) against the national world's largest center BM (10,000 open),
through the real URL and every middleware, with the card cache warm.

    python bench/run.py            # once: builds the bench database and keeps it
    python bench/profile_board.py [-n 40] [--top 25] [--cpu]

Uses BENCH_DATABASE_URL and BENCH_REDIS_URL like bench/run.py. Prints the 10,000-open board's top
functions (by cumulative and by own time, wall clock or with --cpu process CPU), then
`board_10_cpu_ms`, `board_10k_cpu_ms` (process CPU per request without the profiler, the
fastest of five batches), their ratio `board_10k_vs_10_in_process` and the queries per request.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=40)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--cpu", action="store_true", help="profile by process CPU time")
    args = parser.parse_args()
    import run
    from profiling import fastest_cpu_ms, profile_top

    run.django_setup()
    os.environ["DEBUG"] = "0"
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from workflows.models import Repair

    users = get_user_model().objects
    clients = {}
    for code in ("BT", "BM"):
        client = Client(HTTP_ACCEPT_LANGUAGE="ko")
        client.force_login(users.get(username=f"desk_{code}"))
        clients[code] = client
    open_at = {
        code: Repair.objects.filter(center__code=code)
        .exclude(state__in=["closed", "cancelled"])
        .count()
        for code in clients
    }

    def fetcher(code: str):
        def fetch() -> None:
            response = clients[code].get("/desk/")
            assert response.status_code == 200, response.status_code

        return fetch

    queries = {}
    for code in clients:
        for _ in range(5):  # warm: the cards drawn and kept, templates compiled
            fetcher(code)()
        seen: list[str] = []

        def count(execute, sql, params, many, context, seen=seen):
            seen.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            fetcher(code)()
        queries[code] = len(seen)
    small = fastest_cpu_ms(fetcher("BT"), args.n)
    big = fastest_cpu_ms(fetcher("BM"), args.n)

    print(profile_top(fetcher("BM"), args.n, args.top, cpu=args.cpu))
    print(f"open repairs: BT {open_at['BT']:,}, BM {open_at['BM']:,}")
    print(f"board_10_cpu_ms: {small:.2f}")
    print(f"board_10k_cpu_ms: {big:.2f}")
    print(f"board_10k_vs_10_in_process: {small / big:.2f}")
    print(f"board_queries_per_request: {queries['BT']} / {queries['BM']}")


if __name__ == "__main__":
    main()
