"""The stock movements ledger: every change of on_hand or reserved writes its movement (kind,
reason, repair, parts order, who) in the same transaction, and random sequences of the repair
services keep every stock row equal to the sum of its movements."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import PermissionDenied, TransitionBlocked, ValidationFailed
from parts.models import (
    Part,
    PartsOrder,
    PartsOrderLine,
    Reservation,
    ReservationStatus,
    Stock,
    StockMovement,
)
from parts.services.ledger import move_stock, movement
from tests.conftest import stock
from workflows import services as s
from workflows.choices import State
from workflows.models import Repair
from workflows.services import supply

ROOT = Path(__file__).resolve().parent.parent


def moves(**filters) -> list[tuple]:
    """(kind, delta_on_hand, delta_reserved, reason, repair, order, by) of matching movements,
    oldest first."""
    rows = StockMovement.objects.filter(**filters).order_by("created_at", "id")
    return [
        (
            m.kind,
            m.delta_on_hand,
            m.delta_reserved,
            m.reason,
            m.repair_id,
            m.parts_order_id,
            m.created_by.username if m.created_by else None,
        )
        for m in rows.select_related("created_by")
    ]


def assert_stock_agrees() -> None:
    """Every stock row equals the sum of its movements, holds what its reservations hold, and
    keeps 0 <= reserved <= on_hand; no movement lacks its row."""
    sums: dict[tuple[int, int], list[int]] = {}
    for key_c, key_p, d_on_hand, d_reserved in StockMovement.objects.values_list(
        "center_id", "part_id", "delta_on_hand", "delta_reserved"
    ):
        total = sums.setdefault((key_c, key_p), [0, 0])
        total[0] += d_on_hand
        total[1] += d_reserved
    held: dict[tuple[int, int], int] = {}
    for key_c, key_p, quantity in Reservation.objects.filter(
        status=ReservationStatus.RESERVED
    ).values_list("center_id", "part_id", "quantity"):
        held[(key_c, key_p)] = held.get((key_c, key_p), 0) + quantity
    rows = {(r.center_id, r.part_id): r for r in Stock.objects.all()}
    for key, row in rows.items():
        assert [row.on_hand, row.reserved] == sums.get(key, [0, 0]), (row, sums.get(key))
        assert 0 <= row.reserved <= row.on_hand
        assert row.reserved == held.get(key, 0), (row, held.get(key))
    assert set(sums) <= set(rows)


def diagnosed(make_repair, desk, tech, expired, parts, **intake) -> Repair:
    repair = make_repair(serial_number=expired.serial_number, **intake)
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    return s.repair_diagnose(
        repair=repair, actor=tech, findings="교체", parts=parts, labor_fee=1000
    )


# --- each kind of change ---------------------------------------------------------------------


def test_fixture_rows_open_with_an_adjust_movement(center, spring, battery):
    stock(center, spring, 4)
    stock(center, battery, 0)

    assert moves(part=spring) == [("adjust", 4, 0, "opening balance", None, None, None)]
    assert moves(part=battery) == []  # zero is the sum of no movements
    assert stock(center, spring, 9).on_hand == 4  # an existing row is returned unchanged
    assert_stock_agrees()


def test_reserving_at_diagnosis_writes_a_reserve_movement_with_the_repair(
    make_repair, desk, tech, center, spring, expired
):
    stock(center, spring, 3)
    repair = diagnosed(make_repair, desk, tech, expired, [{"part_number": spring.part_number}])

    # (Diagnosing passes no actor to parts yet: who reserved is on the repair's timeline.)
    assert [m[:6] for m in moves(part=spring)] == [
        ("adjust", 3, 0, "opening balance", None, None),
        ("reserve", 0, 1, "", repair.pk, None),
    ]
    assert_stock_agrees()


def test_a_part_not_on_hand_waits_and_writes_no_movement(
    make_repair, desk, tech, center, spring, expired
):
    stock(center, spring, 0)
    repair = diagnosed(make_repair, desk, tech, expired, [{"part_number": spring.part_number}])

    assert Reservation.objects.get(repair=repair).status == ReservationStatus.WAITING
    assert moves(part=spring) == []
    assert_stock_agrees()


def test_receiving_writes_a_receive_per_line_and_a_reserve_for_the_repair_it_served(
    make_repair, desk, tech, center, spring, battery, expired
):
    stock(center, spring, 0)
    stock(center, battery, 0)
    parts = [{"part_number": spring.part_number}, {"part_number": battery.part_number}]
    repair = diagnosed(make_repair, desk, tech, expired, parts)
    order = PartsOrder.objects.get()

    supply.parts_order_receive(order_id=order.pk, actor_user=desk)

    assert moves(kind="receive") == [
        ("receive", 1, 0, "", None, order.pk, "desk"),
        ("receive", 1, 0, "", None, order.pk, "desk"),
    ]
    assert {m.part_id for m in StockMovement.objects.filter(kind="receive")} == {
        spring.pk,
        battery.pk,
    }
    assert moves(kind="reserve") == [
        ("reserve", 0, 1, "", repair.pk, order.pk, "desk"),
        ("reserve", 0, 1, "", repair.pk, order.pk, "desk"),
    ]
    assert_stock_agrees()


def test_a_partial_delivery_writes_what_arrived(make_repair, desk, tech, center, spring, expired):
    stock(center, spring, 0)
    diagnosed(
        make_repair, desk, tech, expired, [{"part_number": spring.part_number, "quantity": 3}]
    )
    order = PartsOrder.objects.get()

    supply.parts_order_receive(order_id=order.pk, lines=[(spring.part_number, 2)], actor_user=desk)

    assert moves(kind="receive") == [("receive", 2, 0, "", None, order.pk, "desk")]
    assert moves(kind="reserve") == []  # the head of the queue wants 3: nobody overtakes it
    assert PartsOrderLine.objects.get().quantity_received == 2
    assert_stock_agrees()


def test_stock_adjust_keeps_the_reason_it_validates_and_who_made_it(center, spring, manager):
    """Issue 11: "stock_adjust validates its reason and throws it away"."""
    stock(center, spring, 2)

    supply.stock_adjust(
        center=center, part=spring, delta=5, reason="실사: 5개 발견", actor_user=manager
    )
    supply.stock_adjust(center=center, part=spring, delta=-1, reason="파손 1개", actor_user=manager)

    assert moves(part=spring)[1:] == [
        ("adjust", 5, 0, "실사: 5개 발견", None, None, "manager"),
        ("adjust", -1, 0, "파손 1개", None, None, "manager"),
    ]
    assert Stock.objects.get(center=center, part=spring).on_hand == 6
    assert_stock_agrees()


def test_new_units_from_an_adjustment_fill_a_waiting_reservation_with_a_reserve_movement(
    make_repair, desk, tech, center, spring, expired, manager
):
    stock(center, spring, 0)
    repair = diagnosed(make_repair, desk, tech, expired, [{"part_number": spring.part_number}])

    supply.stock_adjust(center=center, part=spring, delta=1, reason="택배 입고", actor_user=manager)

    assert moves(part=spring) == [
        ("adjust", 1, 0, "택배 입고", None, None, "manager"),
        ("reserve", 0, 1, "", repair.pk, None, "manager"),
    ]
    assert_stock_agrees()


def test_a_refused_adjustment_writes_nothing(
    make_repair, desk, tech, center, spring, expired, manager
):
    stock(center, spring, 1)
    diagnosed(make_repair, desk, tech, expired, [{"part_number": spring.part_number}])
    before = moves()

    with pytest.raises(ValidationFailed) as caught:
        supply.stock_adjust(center=center, part=spring, delta=-1, reason="분실", actor_user=manager)

    assert "delta" in caught.value.errors
    assert moves() == before
    assert_stock_agrees()


def test_declining_releases_with_a_release_movement_by_whoever_declined(
    make_repair, desk, tech, center, spring, battery, expired
):
    stock(center, spring, 2)
    stock(center, battery, 2)
    parts = [{"part_number": spring.part_number, "quantity": 2}, {"part_number": "HBS-BATT"}]
    repair = diagnosed(make_repair, desk, tech, expired, parts)

    s.repair_decline(repair=repair, actor=desk, reason="고객 거절")

    assert moves(kind="release", part=spring) == [("release", 0, -2, "", repair.pk, None, "desk")]
    assert moves(kind="release", part=battery) == [("release", 0, -1, "", repair.pk, None, "desk")]
    assert_stock_agrees()


def test_completing_a_repair_consumes_its_parts_with_a_consume_movement(
    make_repair, desk, tech, center, spring, expired
):
    stock(center, spring, 2)
    repair = diagnosed(make_repair, desk, tech, expired, [{"part_number": spring.part_number}])
    s.repair_approve(repair=repair, actor=desk)
    s.repair_start(repair=repair, actor=tech)

    s.repair_complete(repair=repair, actor=tech, work_notes="교체")

    assert [m[:6] for m in moves(kind="consume")] == [("consume", -1, -1, "", repair.pk, None)]
    assert Stock.objects.get(center=center, part=spring).on_hand == 1
    assert_stock_agrees()


def test_move_stock_refuses_a_change_that_would_break_the_invariant_and_writes_nothing(
    center, spring
):
    row = stock(center, spring, 1)
    with transaction.atomic():
        assert not move_stock(row, [movement("reserve", reserved=2)])
        assert not move_stock(row, [movement("adjust", on_hand=-2)])
        assert not move_stock(row, [movement("release", reserved=-1)])
    assert (Stock.objects.get(pk=row.pk).on_hand, StockMovement.objects.count()) == (1, 1)


def test_no_code_but_the_ledger_changes_a_stock_count():
    """Only parts/services/ledger.py writes on_hand/reserved (tests may corrupt rows on purpose)."""
    writes = re.compile(
        r"(?<!Q\()(on_hand|reserved)\s*=\s*F\(|update\((on_hand|reserved)=|Stock\([^)]*on_hand|"
        r"Stock\.objects\b[^\n]*\.(update|update_or_create|get_or_create|create|bulk_update)\(|"
        r"parts_stock\b"
    )
    offenders = []
    for folder in ("core", "service_center", "parts", "workflows", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == "parts/services/ledger.py":
                continue
            offenders += [f"{rel}: {m.group(0)}" for m in writes.finditer(path.read_text())]
    assert offenders == []


# --- the callers pass who acted ----------------------------------------------------------------


def test_the_api_adjustment_records_its_reason_and_the_manager(manager, center, spring):
    from tests.test_api_support import client_for, post

    stock(center, spring, 1)
    body = {"part_number": spring.part_number, "delta": 2, "reason": "재고 실사"}
    assert post(client_for(manager), "/stock/adjust/", body).status_code == 200

    assert moves(part=spring)[-1] == ("adjust", 2, 0, "재고 실사", None, None, "manager")


def test_the_admin_adjustment_form_records_its_reason_and_the_manager(manager, center, spring):
    stock(center, spring, 1)
    client = Client()
    client.force_login(manager)
    response = client.post(
        reverse("admin:parts_stock_adjust"),
        {"center": center.pk, "part": spring.pk, "delta": "3", "reason": "창고 정리"},
    )

    assert response.status_code == 302
    assert moves(part=spring)[-1] == ("adjust", 3, 0, "창고 정리", None, None, "manager")


def test_receiving_on_the_parts_orders_page_records_who_received(
    make_repair, desk, tech, center, spring, expired
):
    stock(center, spring, 0)
    diagnosed(make_repair, desk, tech, expired, [{"part_number": spring.part_number}])
    order = PartsOrder.objects.get()
    client = Client()
    client.force_login(desk)

    response = client.post(reverse("parts-order-receive", args=[order.pk]))

    assert response.status_code == 302
    assert moves(kind="receive") == [("receive", 1, 0, "", None, order.pk, "desk")]
    assert_stock_agrees()


def test_the_api_receive_records_who_received(make_repair, desk, tech, center, spring, expired):
    from tests.test_api_support import client_for, post

    stock(center, spring, 0)
    diagnosed(make_repair, desk, tech, expired, [{"part_number": spring.part_number}])
    order = PartsOrder.objects.get()

    response = post(client_for(desk), f"/parts-orders/{order.pk}/transitions/receive/")

    assert response.status_code == 200
    assert moves(kind="receive") == [("receive", 1, 0, "", None, order.pk, "desk")]


# --- the property: stock rows always equal their movements ------------------------------------

PART_NUMBERS = ["CLIP-SPRING-01", "HBS-BATT"]
STEPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("intake"),
            st.tuples(
                st.sampled_from(PART_NUMBERS), st.integers(1, 3), st.booleans(), st.integers(0, 3)
            ),
        ),
        st.tuples(st.just("advance"), st.tuples(st.integers(0, 30), st.integers(1, 7))),
        st.tuples(st.just("decline"), st.integers(0, 30)),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("receive"), st.integers(0, 3)),
        st.tuples(
            st.just("adjust"),
            st.tuples(st.sampled_from(PART_NUMBERS), st.integers(-4, 4).filter(bool)),
        ),
    ),
    min_size=8,
    max_size=30,
)
REFUSED = (ValidationFailed, TransitionBlocked, PermissionDenied)


def attempt(call) -> bool:
    """Run one service call; a refusal must leave the ledger as it was. True if it ran."""
    before = moves()
    try:
        call()
    except REFUSED:
        assert moves() == before
        return False
    return True


class World:
    """The personas and the repairs of one example; `step` runs one operation."""

    def __init__(self, make_repair, desk, tech, manager, center, expired):
        self.make_repair, self.desk, self.tech, self.manager = make_repair, desk, tech, manager
        self.center, self.expired = center, expired
        self.repairs: list[tuple[int, list[dict]]] = []  # (pk, the parts it will need)

    def step(self, op: str, arg) -> None:
        if op == "intake":  # and take it `then` steps along its path
            part_number, quantity, in_shop, then = arg
            repair = self.make_repair(
                serial_number=self.expired.serial_number, device_in_shop=in_shop
            )
            self.repairs.append((repair.pk, [{"part_number": part_number, "quantity": quantity}]))
            self.advance(len(self.repairs) - 1, then)
        elif op == "receive":
            attempt(lambda: self.receive(arg))
        elif op == "adjust":
            part = Part.objects.get(part_number=arg[0])
            attempt(
                lambda: supply.stock_adjust(
                    center=self.center,
                    part=part,
                    delta=arg[1],
                    reason="실사",
                    actor_user=self.manager,
                )
            )
        elif op == "advance" and self.repairs:
            self.advance(*arg)
        elif self.repairs:
            pk = self.repairs[arg % len(self.repairs)][0]
            give_up = s.repair_decline if op == "decline" else s.repair_cancel
            attempt(lambda: give_up(repair=pk, actor=self.desk, reason="고객 사정"))

    def advance(self, index: int, steps: int) -> None:
        pk, parts = self.repairs[index % len(self.repairs)]
        for _ in range(steps):
            if not attempt(lambda: self.next_step(Repair.objects.get(pk=pk), parts)):
                return

    def receive(self, units: int) -> None:
        """The oldest open parts order arrives: everything, or `units` of its first line."""
        order = (
            PartsOrder.objects.filter(center=self.center, state__in=["requested", "shipped"])
            .order_by("pk")
            .first()
        )
        if order is None:
            return
        line = order.lines.select_related("part").order_by("pk").first()
        lines = [(line.part.part_number, units)] if units else None
        supply.parts_order_receive(order_id=order.pk, lines=lines, actor_user=self.desk)

    def next_step(self, repair: Repair, parts: list[dict]) -> None:
        """The next step of the repair's ordinary path; TransitionBlocked where it waits."""
        d, t = self.desk, self.tech
        if repair.state == State.RECEIVED:
            s.repair_assign(repair=repair, actor=d, technician=t)
        elif repair.state == State.DIAGNOSING:
            s.repair_diagnose(repair=repair, actor=t, findings="교체", parts=parts, labor_fee=1000)
        elif repair.state == State.AWAITING_APPROVAL:
            s.repair_approve(repair=repair, actor=d)
        elif repair.state == State.READY_TO_REPAIR and not repair.device_in_shop:
            s.repair_check_in_device(repair=repair, actor=d)
        elif repair.state == State.READY_TO_REPAIR:
            s.repair_start(repair=repair, actor=t)
        elif repair.state == State.IN_REPAIR:
            s.repair_complete(repair=repair, actor=t)
        elif repair.state == State.REPAIRED:
            s.repair_notify_ready_for_pickup(repair=repair, actor=d)
        elif repair.state == State.READY_FOR_PICKUP:
            s.repair_hand_over(repair=repair, actor=d, amount_paid=repair.balance_due)
        else:
            raise TransitionBlocked([], "")  # awaiting parts, or finished


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_random_sequences_keep_stock_equal_to_its_movements(
    make_repair,
    desk,
    tech,
    manager,
    center,
    spring,
    battery,
    expired,
    django_capture_on_commit_callbacks,
    steps,
):
    """Intake, diagnose, approve, repair, hand over, receive, adjust, decline and cancel in any
    order: after every step each stock row equals its movements and 0 <= reserved <= on_hand."""
    stock(center, spring, 2)
    stock(center, battery, 1)
    world = World(make_repair, desk, tech, manager, center, expired)
    for op, arg in steps:
        with django_capture_on_commit_callbacks(execute=True):  # the second allocation passes
            world.step(op, arg)
        assert_stock_agrees()
