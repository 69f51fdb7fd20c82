"""First come, first served at the edges: a repair that starts waiting while parts are received."""

import pytest
from django.db import transaction

from parts import services as parts_services
from parts.models import Reservation, ReservationStatus, Stock
from parts.services import stock as parts_stock
from tests.conftest import stock
from workflows import services as s
from workflows.models import Repair
from workflows.services import supply


@pytest.mark.ledgers_tampered  # puts a unit on the shelf behind the ledger's back
def test_a_repair_that_starts_waiting_during_receiving_gets_the_free_unit_in_a_second_pass(
    make_repair, desk, tech, center, spring, in_warranty, django_capture_on_commit_callbacks
):
    row = stock(center, spring, 0)
    repair = make_repair(serial_number=in_warranty.serial_number)
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    s.repair_diagnose(
        repair=repair, actor=tech, findings="스프링", parts=[{"part_number": spring.part_number}]
    )
    Stock.objects.filter(pk=row.pk).update(on_hand=1)  # a unit on the shelf, not yet handed out

    # Receiving locked the waiting repairs before this one started waiting: it may not take
    # the repair's lock now (lock order), so it leaves the unit and asks for another pass.
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            locked = parts_stock._lock_stock(center.pk, [spring.pk])[spring.pk]
            allocation = parts_services.Allocation()
            filled = parts_stock._fill_in_order(
                center.pk, locked, locked_repairs=set(), allocation=allocation
            )
            assert filled == [] and allocation.again == [spring.pk]
            supply.apply_allocation(center_id=center.pk, allocation=allocation)

    assert Reservation.objects.get(repair=repair).status == ReservationStatus.RESERVED
    assert Repair.objects.get(pk=repair.pk).state == "ready_to_repair"
    assert Stock.objects.get(pk=row.pk).reserved == 1
