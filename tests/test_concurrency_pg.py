"""Races on PostgreSQL with real threads: scarce parts are never over-reserved, and two people
pressing buttons on one repair at the same moment get one result and a clean 409 for the other.

SQLite ignores select_for_update, so these tests only run on PostgreSQL (DATABASE_URL=postgres://...).
"""

import pytest

from core.errors import Conflict, TransitionBlocked
from core.roles import CUSTOMER_ACTOR
from parts.models import Reservation, ReservationStatus, Stock
from tests.concurrency_support import race
from tests.conftest import requires_postgres, stock
from workflows import services as s
from workflows.choices import State
from workflows.models import Notification, Repair, RepairEvent

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

REFUSALS = (TransitionBlocked, Conflict)  # both are 409s to a client


def one_winner(outcomes):
    """Exactly one call succeeded; every other one was refused with a 409-class error."""
    wins = [r for r, e in outcomes if e is None]
    errors = [e for _, e in outcomes if e is not None]
    assert len(wins) == 1, errors
    assert all(isinstance(e, REFUSALS) for e in errors), [repr(e) for e in errors]
    return wins[0]


def test_twenty_technicians_reserving_ten_units_get_exactly_ten(
    make_repair, desk, tech, center, spring, in_warranty
):
    stock(center, spring, 10)
    repairs = []
    for i in range(20):
        repair = make_repair(
            customer={"name": f"고객{i}", "phone": f"010-5555-{i:04d}"},
            serial_number=in_warranty.serial_number,
        )
        repairs.append(s.repair_assign(repair=repair, actor=desk, technician=tech))

    def diagnose(repair):
        return lambda: s.repair_diagnose(
            repair=repair.pk,
            actor=tech,
            findings="스프링",
            parts=[{"part_number": spring.part_number}],
        )

    outcomes = race(*[diagnose(r) for r in repairs])

    assert [repr(e) for _, e in outcomes if e is not None] == []
    statuses = list(Reservation.objects.values_list("status", flat=True))
    assert statuses.count(ReservationStatus.RESERVED) == 10
    assert statuses.count(ReservationStatus.WAITING) == 10
    row = Stock.objects.get(center=center, part=spring)
    assert (row.on_hand, row.reserved) == (10, 10)
    states = list(Repair.objects.values_list("state", flat=True))
    assert states.count(State.READY_TO_REPAIR) == 10
    assert states.count(State.AWAITING_PARTS) == 10


@pytest.fixture
def repaired(make_repair, desk, tech, center, battery, expired, diagnose):
    """repaired() -> a paid repair (10,000 labour + 15,000 battery), done and at the counter."""
    stock(center, battery, 10)

    def make():
        repair = make_repair(serial_number=expired.serial_number)
        diagnose(repair, "배터리", parts=[{"part_number": "HBS-BATT"}], labor_fee=10000)
        s.repair_approve(repair=repair, actor=desk)
        s.repair_start(repair=repair, actor=tech)
        return s.repair_complete(repair=repair, actor=tech, work_notes="교체")

    return make


@pytest.mark.parametrize("round_", range(3))
def test_two_staff_pressing_ready_for_pickup_at_once_send_one_message(repaired, desk, tech, round_):
    repair = repaired()

    outcomes = race(
        lambda: s.repair_notify_ready_for_pickup(repair=repair.pk, actor=desk),
        lambda: s.repair_notify_ready_for_pickup(repair=repair.pk, actor=tech),
    )

    assert one_winner(outcomes).state == State.READY_FOR_PICKUP
    assert Notification.objects.filter(repair=repair, kind="ready_for_pickup").count() == 1
    assert (
        RepairEvent.objects.filter(repair=repair, transition="notify_ready_for_pickup").count() == 1
    )


@pytest.mark.parametrize("round_", range(3))
def test_a_double_click_on_hand_over_takes_the_payment_once(repaired, desk, manager, round_):
    repair = s.repair_notify_ready_for_pickup(repair=repaired(), actor=desk)

    outcomes = race(
        lambda: s.repair_hand_over(repair=repair.pk, actor=desk, amount_paid=25000),
        lambda: s.repair_hand_over(repair=repair.pk, actor=manager, amount_paid=25000),
    )

    one_winner(outcomes)
    repair = Repair.objects.get(pk=repair.pk)
    assert (repair.state, repair.amount_paid) == (State.CLOSED, 25000)
    assert RepairEvent.objects.filter(repair=repair, transition="hand_over").count() == 1


@pytest.fixture
def awaiting_approval(make_repair, center, battery, expired, diagnose):
    """A paid repair (10,000 labour + the one battery in stock) waiting for approval."""
    stock(center, battery, 1)
    repair = make_repair(serial_number=expired.serial_number)
    return diagnose(repair, "배터리", parts=[{"part_number": "HBS-BATT"}], labor_fee=10000)


@pytest.mark.parametrize("round_", range(3))
def test_two_approvals_at_once_record_one(awaiting_approval, desk, round_):
    repair = awaiting_approval

    outcomes = race(
        lambda: s.repair_approve(repair=repair.pk, actor=CUSTOMER_ACTOR),
        lambda: s.repair_approve(repair=repair.pk, actor=desk),
    )

    assert one_winner(outcomes).state == State.READY_TO_REPAIR
    assert RepairEvent.objects.filter(repair=repair, transition="approve").count() == 1


@pytest.mark.parametrize("round_", range(3))
def test_approval_online_and_a_decline_at_the_desk_at_once_end_consistently(
    awaiting_approval, desk, center, battery, round_
):
    # A customer may withdraw until the work starts, so "approve, then decline" is a legal
    # order; "decline, then approve" is not. Whatever the interleaving, the rows agree.
    repair = awaiting_approval

    outcomes = race(
        lambda: s.repair_approve(repair=repair.pk, actor=CUSTOMER_ACTOR),
        lambda: s.repair_decline(repair=repair.pk, actor=desk, reason="고객 전화로 거절"),
    )

    errors = [e for _, e in outcomes if e is not None]
    assert all(isinstance(e, REFUSALS) for e in errors), [repr(e) for e in errors]
    repair = Repair.objects.get(pk=repair.pk)
    order = list(
        RepairEvent.objects.filter(repair=repair, transition__in=["approve", "decline"])
        .order_by("at", "id")
        .values_list("transition", flat=True)
    )
    assert order in (["decline"], ["approve"], ["approve", "decline"])
    assert repair.state == (State.DECLINED if order[-1] == "decline" else State.READY_TO_REPAIR)
    row = Stock.objects.get(center=center, part=battery)
    assert row.reserved == (1 if repair.state == State.READY_TO_REPAIR else 0)
