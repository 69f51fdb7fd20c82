"""The stock ledger under real races on PostgreSQL: reservations, a delivery, an adjustment and
a decline at the same moment leave every stock row equal to its movements.

SQLite ignores select_for_update, so this runs only on PostgreSQL (DATABASE_URL=postgres://...).
"""

import pytest
from django.core.management import call_command

from parts.models import PartsOrder, Stock
from tests.conftest import requires_postgres, stock
from tests.test_concurrency_pg import race
from tests.test_stock_ledger import assert_stock_agrees
from workflows import services as s
from workflows.services import supply

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_reservations_racing_a_delivery_an_adjustment_and_a_decline_keep_the_ledger(
    make_repair, desk, tech, manager, center, spring, expired
):
    stock(center, spring, 2)

    def diagnosed(quantity: int):
        repair = make_repair(serial_number=expired.serial_number)
        s.repair_assign(repair=repair, actor=desk, technician=tech)
        parts = [{"part_number": spring.part_number, "quantity": quantity}]
        return s.repair_diagnose(repair=repair, actor=tech, findings="x", parts=parts)

    holding = diagnosed(2)  # takes both units
    diagnosed(1)  # waits, and orders one from the warehouse
    order = PartsOrder.objects.get()
    fresh = []
    for _ in range(10):
        repair = make_repair(serial_number=expired.serial_number)
        fresh.append(s.repair_assign(repair=repair, actor=desk, technician=tech))

    def diagnose(repair):
        parts = [{"part_number": spring.part_number}]
        return lambda: s.repair_diagnose(repair=repair.pk, actor=tech, findings="x", parts=parts)

    outcomes = race(
        *[diagnose(r) for r in fresh],
        lambda: supply.parts_order_receive(order_id=order.pk, actor_user=desk),
        lambda: supply.stock_adjust(
            center=center, part=spring, delta=3, reason="입고", actor_user=manager
        ),
        lambda: s.repair_decline(repair=holding.pk, actor=desk, reason="거절"),
    )

    assert [repr(e) for _, e in outcomes if e is not None] == []
    assert_stock_agrees()
    row = Stock.objects.get(center=center, part=spring)
    assert row.on_hand == 2 + 1 + 3  # nothing was used
    assert row.reserved == row.on_hand  # first come, first served handed every unit out
    call_command("audit_ledgers")  # raises CommandError (exit 1) on any difference
