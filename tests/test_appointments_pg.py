"""Booking races on PostgreSQL with real threads (SQLite ignores select_for_update and runs one
writer at a time, so a pass there proves nothing): ten customers, one technician's slot."""

from __future__ import annotations

import pytest

from tests.appointments_support import at, bookable, open_day
from tests.concurrency_support import errors, race_each
from tests.conftest import requires_postgres
from workflows import services as s
from workflows.models import Appointment, Notification
from workflows.services import SlotTaken

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_ten_customers_booking_one_slot_get_one_booking_and_nine_slot_taken(
    make_repair, desk, tech, in_warranty
):
    repairs = [
        bookable(make_repair, desk, tech, in_warranty.serial_number, n=3000 + n) for n in range(10)
    ]
    start = at(open_day(), 15)

    outcomes = race_each(
        10,
        lambda n: s.repair_book_appointment(
            repair=repairs[n].pk, actor=s.SYSTEM_ACTOR, start=start
        ),
    )

    refused = errors(outcomes)
    assert len(refused) == 9
    assert all(isinstance(e, SlotTaken) and e.code == "slot_taken" for e in refused)
    (winner,) = Appointment.objects.filter(start=start, status="booked")
    # Only the winner was invited and told; the others were rolled back whole.
    assert list(
        Notification.objects.filter(kind="invite_for_repair").values_list("repair", flat=True)
    ) == [winner.repair_id]


def test_the_same_customer_booking_twice_at_once_keeps_one_visit(
    make_repair, desk, tech, in_warranty
):
    repair = bookable(make_repair, desk, tech, in_warranty.serial_number)
    day = open_day()

    outcomes = race_each(
        5,
        lambda n: s.repair_book_appointment(
            repair=repair.pk, actor=s.SYSTEM_ACTOR, start=at(day, 10 + n)
        ),
    )

    assert len(errors(outcomes)) == 4
    assert Appointment.objects.filter(repair=repair, status="booked").count() == 1
