"""`manage.py audit_ledgers` proves stock rows and payment sums against their ledgers."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parts.models import PartsOrder, Reservation, Stock, StockMovement
from tests.conftest import stock
from workflows import services as s
from workflows.models import Repair
from workflows.services import supply

pytestmark = pytest.mark.django_db


def audit() -> tuple[int, list[str]]:
    """(exit status, output lines) of the command."""
    out = StringIO()
    try:
        call_command("audit_ledgers", stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue().splitlines()
    return 0, out.getvalue().splitlines()


def raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def busy(make_repair, desk, tech, manager, center, spring, battery, expired):
    """Stock that has moved every way, and a repair with payments: a consistent database."""
    stock(center, spring, 0)
    stock(center, battery, 3)
    parts = [{"part_number": spring.part_number}, {"part_number": battery.part_number}]
    repairs = []
    for _ in range(3):
        repair = make_repair(serial_number=expired.serial_number)
        s.repair_assign(repair=repair, actor=desk, technician=tech)
        repairs.append(
            s.repair_diagnose(repair=repair, actor=tech, findings="x", parts=parts, labor_fee=900)
        )
    for order in PartsOrder.objects.order_by("pk"):
        supply.parts_order_receive(order_id=order.pk, actor_user=desk)
    supply.stock_adjust(center=center, part=battery, delta=2, reason="실사", actor_user=manager)
    s.repair_decline(repair=repairs[2], actor=desk, reason="거절")
    paid = repairs[0]
    s.repair_approve(repair=paid, actor=desk)
    s.repair_record_payment(repair=paid, actor=desk, amount=10000, method="card")
    s.repair_record_refund(repair=paid, actor=desk, amount=2000, method="card", reason="할인")
    s.repair_start(repair=paid, actor=tech)
    s.repair_complete(repair=paid, actor=tech)
    return repairs


def test_a_consistent_database_passes_with_one_ok_line(busy):
    assert set(StockMovement.objects.values_list("kind", flat=True)) == {
        "adjust",
        "receive",
        "reserve",
        "release",
        "consume",
    }

    status, lines = audit()

    assert status == 0
    assert len(lines) == 1 and lines[0].startswith("ledgers ok: 2 stock rows")


def test_the_demo_data_passes():
    call_command("seed_demo", stdout=StringIO())
    assert audit()[0] == 0


@pytest.mark.ledgers_tampered
def test_a_raw_sql_change_to_a_stock_row_fails_and_names_the_row(busy, center, battery):
    row = Stock.objects.get(center=center, part=battery)
    raw("UPDATE parts_stock SET on_hand = on_hand + 7 WHERE id = %s", [row.pk])

    status, lines = audit()

    assert status == 1
    assert lines == [
        f"stock GN HBS-BATT: on_hand {row.on_hand + 7} stored, {row.on_hand} in the ledger"
    ]


@pytest.mark.ledgers_tampered
def test_reserved_that_disagrees_with_the_ledger_and_the_reservations_is_named_twice(
    busy, center, spring
):
    row = Stock.objects.get(center=center, part=spring)
    raw("UPDATE parts_stock SET reserved = reserved - 1 WHERE id = %s", [row.pk])

    status, lines = audit()

    assert status == 1
    assert lines == [
        f"stock GN CLIP-SPRING-01: reserved {row.reserved - 1} stored, {row.reserved} in the "
        "ledger",
        f"stock GN CLIP-SPRING-01: reserved {row.reserved - 1} stored, {row.reserved} held by "
        "reservations",
    ]


@pytest.mark.ledgers_tampered
def test_a_reservation_changed_behind_the_stock_rows_back_is_named(busy, center, spring):
    held = Reservation.objects.filter(part=spring, status="reserved").first()
    raw("UPDATE parts_reservation SET status = 'released' WHERE id = %s", [held.pk])
    row = Stock.objects.get(center=center, part=spring)

    status, lines = audit()

    assert status == 1
    assert lines == [
        f"stock GN CLIP-SPRING-01: reserved {row.reserved} stored, {row.reserved - 1} held by "
        "reservations"
    ]


@pytest.mark.ledgers_tampered
def test_movements_and_reservations_without_a_stock_row_are_named(busy, center, battery):
    raw("DELETE FROM parts_stock WHERE center_id = %s AND part_id = %s", [center.pk, battery.pk])
    on_hand = sum(
        StockMovement.objects.filter(part=battery).values_list("delta_on_hand", flat=True)
    )
    held = sum(
        Reservation.objects.filter(part=battery, status="reserved").values_list(
            "quantity", flat=True
        )
    )

    status, lines = audit()

    assert status == 1
    assert lines == [
        f"stock GN HBS-BATT: no stock row, but movements of on_hand {on_hand:+d}, "
        f"reserved {held:+d}",
        f"stock GN HBS-BATT: no stock row, but reservations hold {held} units",
    ]


@pytest.mark.ledgers_tampered
def test_a_payment_sum_mismatch_fails_and_names_the_ticket(busy):
    paid = busy[0]
    raw("UPDATE workflows_repair SET amount_paid = 9000 WHERE id = %s", [paid.pk])

    status, lines = audit()

    assert status == 1
    assert lines == [f"repair {paid.ticket_number}: amount_paid 9000 stored, 8000 in the payments"]


@pytest.mark.ledgers_tampered
def test_a_repair_paid_with_no_payment_rows_is_named(busy):
    unpaid = busy[1]
    raw("UPDATE workflows_repair SET amount_paid = 500 WHERE id = %s", [unpaid.pk])

    assert audit() == (
        1,
        [f"repair {unpaid.ticket_number}: amount_paid 500 stored, 0 in the payments"],
    )


def test_the_audit_runs_the_same_queries_whatever_the_size(
    make_repair, desk, tech, center, spring, expired, headset
):
    from tests.factories import PartFactory

    stock(center, spring, 1)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert audit()[0] == 0
        return len(captured)

    small = queries()
    for n in range(20):
        part = PartFactory(part_number=f"BULK-{n}", compatible_models=[headset])
        stock(center, part, n + 1)
        repair = make_repair(serial_number=expired.serial_number)
        s.repair_assign(repair=repair, actor=desk, technician=tech)
        s.repair_diagnose(
            repair=repair, actor=tech, findings="x", parts=[{"part_number": part.part_number}]
        )
    assert Repair.objects.count() == 20
    assert small == queries() == 8  # stock, missing rows (2), payments, and four counts
