#!/usr/bin/env python
"""Claim ticket rendering speed, as ratios measured in one run (a benchmark, not a test).

    python bench/ticket_render.py [--rounds 30] [--first-runs 3]

Sets Django up against a throwaway SQLite database (the configured DATABASE_URL is not touched),
takes one demo repair in through the services, then prints:

    ticket_render_vs_minimal: X   median ticket render / median one-line WeasyPrint document,
                                  same warm process, same FontConfiguration (goal <= 5)
    first_vs_warm: X              first ticket render in a fresh process / warm median (goal <= 3)
    tickets_per_second: X         one core, warm
    bench: done
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def say(name: str, value) -> None:
    print(f"{name}: {value}", flush=True)


def django_setup(db_path: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("SECRET_KEY", "bench-only-key-7d1e4b9a0c3f5e8a2b6d")  # DEBUG is off
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "service_center.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def demo_repair() -> str:
    """A realistic open repair: in-warranty serial, accessories, courier return, a promise."""
    from django.core.management import call_command
    from django.utils import timezone

    from service_center.models import Channel, Device, ProductModel, ServiceCenter
    from service_center.services import staff_create
    from workflows import services as s

    call_command("migrate", verbosity=0)
    center, _ = ServiceCenter.objects.get_or_create(
        code="GN",
        defaults={
            "name": "강남 서비스센터",
            "address": "서울특별시 강남구 테헤란로 123",
            "phone": "02-555-0100",
        },
    )
    model, _ = ProductModel.objects.get_or_create(
        code="HBS-1100", defaults={"name": "블루투스 헤드셋 HBS-1100", "warranty_months": 12}
    )
    Device.objects.get_or_create(
        serial_number="HBS1100K7Q2",
        defaults={
            "product_model": model,
            "channel": Channel.OFFICIAL,
            "purchase_date": timezone.localdate() - dt.timedelta(days=60),
        },
    )
    desk = staff_create(
        username="bench_desk", role="front_desk", center_code="GN", password="bench12345"
    )
    repair = s.repair_intake(
        center=center,
        actor=desk,
        customer={"name": "김민지", "phone": "010-2345-6789", "address": "서울 서초구 반포대로 45"},
        serial_number="HBS1100K7Q2",
        symptom="왼쪽 이어컵 클립 스프링이 빠져서 헤드밴드가 고정되지 않아요. 충전은 정상입니다.",
        accessories="충전 케이블, 파우치",
        return_method="courier",
        courier_address="서울특별시 서초구 반포대로 45, 101동 1203호",
    )
    s.repair_record_promise(
        repair=repair,
        actor=desk,
        kind="callback",
        due_at=timezone.now() + dt.timedelta(days=1),
    )
    return repair.ticket_number


def load(ticket: str):
    from workflows.tickets import load_repair

    return load_repair(ticket)


def child_first(db_path: str, ticket: str) -> None:
    """In a fresh process: the first render, timed alone (Django and WeasyPrint imported)."""
    started = time.perf_counter()
    django_setup(db_path)
    setup = time.perf_counter() - started
    from workflows.tickets import render_claim_ticket

    repair = load(ticket)
    started = time.perf_counter()
    render_claim_ticket(repair)
    print(f"{time.perf_counter() - started:.6f} {setup:.6f}", flush=True)


def warm(db_path: str, ticket: str, rounds: int) -> tuple[float, float, int]:
    django_setup(db_path)
    from weasyprint import HTML

    from workflows.tickets import FONT_CONFIG, render_claim_ticket

    repair = load(ticket)

    def minimal() -> bytes:
        return HTML(string="<p>Hello</p>").write_pdf(font_config=FONT_CONFIG)

    for _ in range(3):
        render_claim_ticket(repair)
        minimal()
    tickets, minimals = [], []
    size = 0
    for _ in range(rounds):  # interleaved, so drift hits both alike
        started = time.perf_counter()
        size = len(render_claim_ticket(repair))
        tickets.append(time.perf_counter() - started)
        started = time.perf_counter()
        minimal()
        minimals.append(time.perf_counter() - started)
    return statistics.median(tickets), statistics.median(minimals), size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--first-runs", type=int, default=3)
    parser.add_argument("--child-first", nargs=2, metavar=("DB", "TICKET"))
    args = parser.parse_args()
    if args.child_first:
        child_first(*args.child_first)
        return

    with tempfile.TemporaryDirectory(prefix="ticket-bench-") as tmp:
        db_path = str(Path(tmp) / "bench.sqlite3")
        django_setup(db_path)
        ticket = demo_repair()
        firsts, setups = [], []
        for _ in range(args.first_runs):
            out = subprocess.run(
                [sys.executable, __file__, "--child-first", db_path, ticket],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            first, setup_s = map(float, out.stdout.split())
            firsts.append(first)
            setups.append(setup_s)
        ticket_s, minimal_s, size = warm(db_path, ticket, args.rounds)
        from workflows.tickets import harfbuzz_subsetting_available, korean_font_family

        first = statistics.median(firsts)
        say(
            "ticket_render_vs_minimal",
            f"{ticket_s / minimal_s:.2f}  (goal <= 5; ticket {ticket_s * 1000:.1f} ms, "
            f"minimal {minimal_s * 1000:.1f} ms, {size} bytes)",
        )
        say(
            "first_vs_warm",
            f"{first / ticket_s:.2f}  (goal <= 3; first {first * 1000:.0f} ms, after a "
            f"{statistics.median(setups):.2f} s django.setup that preloads WeasyPrint and fonts)",
        )
        say(
            "tickets_per_second",
            f"{1 / ticket_s:.1f}  (one core; harfbuzz subsetting: "
            f"{harfbuzz_subsetting_available()}, font: {korean_font_family()})",
        )
    print("bench: done", flush=True)


if __name__ == "__main__":
    main()
