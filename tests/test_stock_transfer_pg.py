"""Transfers between centers under real races on PostgreSQL: a transfer racing a delivery and
reservations at the same center and part neither deadlocks nor oversells, and every stock row
still equals its movements.

SQLite ignores select_for_update, so this runs only on PostgreSQL (DATABASE_URL=postgres://...).
"""

from __future__ import annotations

import pytest
from django.core.management import call_command

from core.errors import ValidationFailed
from parts.models import PartsOrder, Reservation, ReservationStatus, Stock, StockMovement
from tests.concurrency_support import errors, race
from tests.conftest import requires_postgres, stock
from tests.test_stock_ledger import assert_stock_agrees
from workflows import services as s
from workflows.services import supply

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def assigned(make_repair, desk, tech, expired):
    """assigned(n) -> n repairs at GN, assigned to `tech`, ready to be diagnosed."""

    def make(n: int) -> list:
        repairs = []
        for _ in range(n):
            repair = make_repair(serial_number=expired.serial_number)
            repairs.append(s.repair_assign(repair=repair, actor=desk, technician=tech))
        return repairs

    return make


def diagnosis(repair, tech, part, quantity: int = 1):
    parts = [{"part_number": part.part_number, "quantity": quantity}]
    return lambda: s.repair_diagnose(repair=repair.pk, actor=tech, findings="x", parts=parts)


def transfer(sender, receiver, part, quantity, user):
    return lambda: supply.stock_transfer(
        from_center=sender,
        to_center=receiver,
        part=part,
        quantity=quantity,
        reason="race",
        actor_user=user,
    )


def counts(center, part) -> tuple[int, int]:
    """(on hand, reserved); a center that never held the part (a refused transfer) has (0, 0)."""
    row = Stock.objects.filter(center=center, part=part).first()
    return (row.on_hand, row.reserved) if row else (0, 0)


def assert_ledgers_hold() -> None:
    assert_stock_agrees()  # rows == movements, 0 <= reserved <= on_hand, reserved == held
    call_command("audit_ledgers")  # raises CommandError (exit 1) on any difference


def test_a_transfer_in_racing_a_delivery_and_reservations_keeps_the_ledger(
    assigned, tech, manager, desk, center, other_center, spring
):
    stock(center, spring, 0)
    stock(other_center, spring, 5)
    waiting = assigned(1)[0]
    diagnosis(waiting, tech, spring)()  # waits, and orders one from the warehouse
    order = PartsOrder.objects.get()
    fresh = assigned(8)

    outcomes = race(
        *[diagnosis(r, tech, spring) for r in fresh],
        lambda: supply.parts_order_receive(order_id=order.pk, actor_user=desk),
        transfer(other_center, center, spring, 3, manager),
        transfer(center, other_center, spring, 1, manager),  # may find nothing free: refused
    )

    refused = errors(outcomes)
    assert all(isinstance(e, ValidationFailed) for e in refused), [repr(e) for e in refused]
    assert refused == [] or outcomes[-1][1] is refused[0]  # only the transfer out may be refused
    assert_ledgers_hold()
    gn, sc = counts(center, spring), counts(other_center, spring)
    assert gn[0] + sc[0] == 5 + 1  # nothing made up, nothing lost: SC's 5 and the delivery
    sent_back = 0 if refused else 1
    assert sc == (5 - 3 + sent_back, 0)
    assert gn[0] == 1 + 3 - sent_back
    # First come, first served handed out every unit GN had; the oldest request was served.
    assert gn[1] == gn[0]
    assert Reservation.objects.get(repair=waiting).status == ReservationStatus.RESERVED


def test_a_transfer_out_racing_reservations_never_sends_reserved_units(
    assigned, tech, manager, center, other_center, spring
):
    stock(center, spring, 5)
    fresh = assigned(10)

    outcomes = race(
        *[diagnosis(r, tech, spring) for r in fresh],
        transfer(center, other_center, spring, 3, manager),
    )

    refused = errors(outcomes)
    assert all(isinstance(e, ValidationFailed) for e in refused), [repr(e) for e in refused]
    assert refused == [] or outcomes[-1][1] is refused[0]
    assert_ledgers_hold()
    gn, sc = counts(center, spring), counts(other_center, spring)
    assert gn[0] + sc[0] == 5
    assert gn[1] == gn[0]  # what stayed is reserved, every unit (10 repairs wanted one each)
    if refused:  # reservations took more than 2 units first
        assert (gn[0], sc[0]) == (5, 0)
    else:
        assert (gn[0], sc[0]) == (2, 3)
    held = Reservation.objects.filter(status=ReservationStatus.RESERVED).count()
    assert held == gn[0]


def test_transfers_both_ways_at_once_do_not_deadlock(
    manager, center, other_center, spring, battery
):
    stock(center, spring, 10)
    stock(other_center, spring, 10)
    stock(center, battery, 10)
    stock(other_center, battery, 10)

    outcomes = race(
        *[transfer(center, other_center, spring, 1, manager) for _ in range(4)],
        *[transfer(other_center, center, spring, 1, manager) for _ in range(4)],
        *[transfer(center, other_center, battery, 2, manager) for _ in range(2)],
        *[transfer(other_center, center, battery, 1, manager) for _ in range(2)],
    )

    assert errors(outcomes) == []
    assert counts(center, spring) == counts(other_center, spring) == (10, 0)
    assert counts(center, battery) == (8, 0) and counts(other_center, battery) == (12, 0)
    assert StockMovement.objects.filter(kind="transfer_out").count() == 12
    assert_ledgers_hold()
