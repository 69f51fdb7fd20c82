"""requote races on PostgreSQL with real threads: a double click records one new quote and one
message; a released part and another repair's diagnosis asking for it never over-reserve."""

import pytest

from core.errors import Conflict, TransitionBlocked
from parts.models import Reservation, ReservationStatus, Stock, StockMovement
from tests.concurrency_support import race
from tests.conftest import requires_postgres, stock
from workflows import services as s
from workflows.choices import NotificationKind, State
from workflows.models import Notification, Repair

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

NEW_QUOTE = {
    "findings": "기판 손상",
    "parts": [{"part_number": "CLIP-SPRING-01"}],
    "labor_fee": 30000,
    "reason": "기판 부식",
}


@pytest.fixture
def on_bench(make_repair, center, battery, spring, expired, desk, tech, diagnose):
    """A paid repair holding the only battery, approved and started."""
    stock(center, battery, 1)
    stock(center, spring, 5)
    repair = make_repair(serial_number=expired.serial_number)
    diagnose(repair, "배터리", parts=[{"part_number": "HBS-BATT"}], labor_fee=10000)
    s.repair_approve(repair=repair, actor=desk)
    return s.repair_start(repair=repair, actor=tech)


def test_a_double_click_on_requote_records_one_quote_and_one_message(on_bench, tech, battery):
    quotes_before = Notification.objects.filter(repair=on_bench, kind=NotificationKind.QUOTE)
    before = quotes_before.count()
    call = lambda: s.repair_requote(repair=on_bench.pk, actor=tech, **NEW_QUOTE)  # noqa: E731
    outcomes = race(call, call)
    errors = [e for _, e in outcomes if e is not None]
    assert len(errors) == 1 and isinstance(errors[0], (TransitionBlocked, Conflict))
    repair = Repair.objects.get(pk=on_bench.pk)
    assert repair.state == State.AWAITING_APPROVAL and repair.previous_quote_total == 25000
    assert quotes_before.count() == before + 1
    released = StockMovement.objects.filter(repair_id=on_bench.pk, kind="release", part=battery)
    assert released.count() == 1


def test_a_released_part_and_a_diagnosis_wanting_it_never_over_reserve(
    on_bench, make_repair, expired, desk, tech, battery, center
):
    other = make_repair(
        serial_number=expired.serial_number, customer={"name": "이서연", "phone": "010-3333-4444"}
    )
    s.repair_assign(repair=other, actor=desk, technician=tech)
    outcomes = race(
        lambda: s.repair_requote(repair=on_bench.pk, actor=tech, **NEW_QUOTE),
        lambda: s.repair_diagnose(
            repair=other.pk, actor=tech, findings="배터리", parts=[{"part_number": "HBS-BATT"}]
        ),
    )
    assert [repr(e) for _, e in outcomes if e is not None] == []
    row = Stock.objects.get(center=center, part=battery)
    assert (row.on_hand, row.reserved) == (1, 1)
    # Whichever ran first, the battery ends with the other repair (at once or after commit).
    held = Reservation.objects.get(repair=other, part=battery)
    assert held.status == ReservationStatus.RESERVED
    mine = Reservation.objects.get(repair=on_bench, part=battery)
    assert mine.status == ReservationStatus.RELEASED
