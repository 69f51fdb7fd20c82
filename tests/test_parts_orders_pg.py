"""Parts orders racing on PostgreSQL with real threads (SQLite ignores select_for_update, so a
pass there proves nothing): a cancel is told once, and never to a repair that was served."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.errors import Conflict, TransitionBlocked
from parts.models import PartsOrder, ReservationStatus, Stock
from tests.concurrency_support import errors, race, results
from tests.conftest import requires_postgres, stock
from tests.parts_orders_support import order_of, waiting_repair
from workflows.models import Notification, Promise, RepairEvent
from workflows.services import supply

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_ten_simultaneous_cancels_tell_the_customer_once_and_order_again_once(
    make_repair, desk, tech, center, spring, in_warranty
):
    stock(center, spring, 0)
    repair = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 1)
    order = order_of(repair)
    supply.parts_order_ship(
        order_id=order.pk,
        carrier="본사 물류",
        tracking_number="HQ-1",
        eta=timezone.localdate() + dt.timedelta(days=2),
    )

    outcomes = race(*[lambda: supply.parts_order_cancel(order_id=order.pk, reason="없음")] * 10)

    refused = errors(outcomes)
    assert len(refused) == 9
    assert all(isinstance(o, TransitionBlocked | Conflict) for o in refused), refused
    assert Notification.objects.filter(repair=repair, kind="parts_delayed").count() == 1
    assert RepairEvent.objects.filter(repair=repair, text_code="part_eta_withdrawn").count() == 1
    assert PartsOrder.objects.filter(state="requested").count() == 1
    assert Promise.objects.open().filter(repair=repair).count() == 0


@pytest.mark.parametrize("round_", range(3))
def test_a_cancel_racing_the_delivery_that_serves_its_repair_never_tells_it_a_wrong_thing(
    make_repair, desk, tech, center, spring, in_warranty, round_
):
    """A (older) waits on order 1; B's order 2 arrives while order 1 is cancelled. Whichever
    goes first, A is not told its date is unknown once it has the part, and nobody deadlocks
    (receiving locks its lines' parts before the repairs; cancelling does the same)."""
    stock(center, spring, 0)
    a = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 1)
    b = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 2)

    outcomes = race(
        lambda: supply.parts_order_cancel(order_id=order_of(a).pk, reason="없음"),
        lambda: supply.parts_order_receive(order_id=order_of(b).pk),
    )

    results(outcomes)  # neither raised (nor deadlocked)
    put_aside = RepairEvent.objects.get(repair=a, text_code="parts_put_aside")
    told = RepairEvent.objects.filter(repair=a, text_code="part_eta_withdrawn").first()
    messages = Notification.objects.filter(repair=a, kind="parts_delayed").count()
    assert told is None or told.pk < put_aside.pk  # told only while it still waited
    assert messages == (0 if told is None else 1)
    assert a.reservations.get().status == ReservationStatus.RESERVED
    assert b.reservations.get().status == ReservationStatus.WAITING
    row = Stock.objects.get(center=center, part=spring)
    assert (row.on_hand, row.reserved) == (1, 1)
