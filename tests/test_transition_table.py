"""Every (state, transition) pair: allowed ones succeed, the others are refused with a domain error.

Each repair is brought to its state through the services, shaped the way the transition under
test needs it (device at the counter or not, pickup or courier), and the transition is called
with valid input by an actor who may run it. The expected table below is written from the design
(DESIGN.md, "The repair workflow"), not read back from the code.
"""

import datetime as dt

import pytest
from django.utils import timezone

from core.errors import PermissionDenied, TransitionBlocked
from core.roles import SYSTEM_ACTOR
from parts.models import PartsOrderLine
from tests.conftest import stock
from workflows import registry
from workflows import services as s
from workflows.choices import Coverage, State
from workflows.models import Notification, Repair, RepairEvent

OK, BLOCKED, DENIED = "ok", "blocked", "denied"
OPEN = {st for st in State if st not in (State.CLOSED, State.CANCELLED)}
OWNER_ONLY = {"diagnose", "start_repair", "complete", "report_unrepairable", "requote"}
NOT_OWNED = {State.RECEIVED, State.CANCELLED}  # no technician owns these repairs

# Until the work starts: a repair may still be declined or cancelled.
BEFORE_THE_WORK = {
    State.RECEIVED,
    State.DIAGNOSING,
    State.AWAITING_APPROVAL,
    State.AWAITING_PARTS,
    State.READY_TO_REPAIR,
}

# transition -> the states it runs from, per the design's table.
ALLOWED_FROM = {
    "assign": {State.RECEIVED},
    "diagnose": {State.DIAGNOSING},
    "set_coverage": OPEN,
    "record_deposit": {State.AWAITING_APPROVAL},
    "approve": {State.AWAITING_APPROVAL},
    # Wider than DESIGN.md's table on purpose: the customer may withdraw until the work starts.
    "decline": BEFORE_THE_WORK,
    "parts_arrived": {State.AWAITING_PARTS},
    "invite_for_repair": {State.READY_TO_REPAIR},
    # Any open state, but only while the device is not at the counter: in_repair, repaired and
    # ready_for_pickup all have it in the shop by construction.
    # A shipped device has left; a returned parcel is a new intake.
    "check_in_device": OPEN
    - {State.IN_REPAIR, State.REPAIRED, State.READY_FOR_PICKUP, State.SHIPPED},
    "start_repair": {State.READY_TO_REPAIR},
    "complete": {State.IN_REPAIR},
    "requote": {State.IN_REPAIR},
    "report_unrepairable": {State.DIAGNOSING, State.IN_REPAIR},
    "notify_ready_for_pickup": {State.REPAIRED, State.DECLINED},
    "ship": {State.REPAIRED, State.DECLINED},
    "hand_over": {State.READY_FOR_PICKUP},
    "confirm_delivery": {State.SHIPPED},
    "cancel": BEFORE_THE_WORK,
}

# Where a successful transition leads (None: it stays where it was).
TARGET = {
    "assign": State.DIAGNOSING,
    "set_coverage": None,  # paid <-> warranty on an approved or unapproved quote keeps the state
    "diagnose": State.AWAITING_APPROVAL,
    "record_deposit": None,
    "approve": State.READY_TO_REPAIR,
    "decline": State.DECLINED,
    "parts_arrived": State.READY_TO_REPAIR,
    "invite_for_repair": None,
    "check_in_device": None,
    "start_repair": State.IN_REPAIR,
    "complete": State.REPAIRED,
    "requote": State.AWAITING_APPROVAL,
    "report_unrepairable": State.DECLINED,
    "notify_ready_for_pickup": State.READY_FOR_PICKUP,
    "ship": State.SHIPPED,
    "hand_over": State.CLOSED,
    "confirm_delivery": State.CLOSED,
    "cancel": State.CANCELLED,
}

TRANSITIONS = list(registry.TRANSITIONS)
ADDRESS = "부산광역시 해운대구 센텀로 45"


def expected(state: str, name: str) -> str:
    if name in OWNER_ONLY and state in NOT_OWNED:
        return DENIED
    return OK if state in ALLOWED_FROM[name] else BLOCKED


def test_the_table_covers_every_transition_and_state():
    assert (
        set(ALLOWED_FROM) == set(TRANSITIONS) == set(registry.STAFF_TRANSITIONS) | {"parts_arrived"}
    )
    assert all(a <= set(State) for a in ALLOWED_FROM.values())


@pytest.fixture
def world(center, desk, tech, manager, headset, battery, spring, expired):
    stock(center, battery, 5)
    stock(center, spring, 0)
    return {"desk": desk, "tech": tech, "manager": manager}


def shape_for(name: str) -> dict:
    """Intake fields that give transition `name` its best chance."""
    in_shop = name not in ("invite_for_repair", "cancel", "check_in_device")
    if name == "ship":
        return {"device_in_shop": in_shop, "return_method": "courier", "courier_address": ADDRESS}
    return {"device_in_shop": in_shop, "return_method": "pickup"}


def bring_to(state: str, shape: dict, w: dict, make_repair) -> Repair:
    """A paid repair (expired serial) walked through the services to `state`."""
    desk, tech = w["desk"], w["tech"]
    if state in (State.READY_FOR_PICKUP, State.CLOSED):
        shape = {**shape, "device_in_shop": True, "return_method": "pickup"}
    if state == State.SHIPPED:
        shape = {**shape, "return_method": "courier", "courier_address": ADDRESS}
    if state in (
        State.IN_REPAIR,
        State.REPAIRED,
        State.READY_FOR_PICKUP,
        State.SHIPPED,
        State.CLOSED,
    ):
        shape = {**shape, "device_in_shop": True}  # repaired at the counter
    if state == State.CANCELLED:
        shape = {**shape, "device_in_shop": False}
    repair = make_repair(serial_number="HBS1100OLD1", intake_channel="walk_in", **shape)
    if state == State.RECEIVED:
        return repair
    if state == State.CANCELLED:
        return s.repair_cancel(repair=repair, actor=desk, reason="고객 요청")
    repair = s.repair_assign(repair=repair, actor=desk, technician=tech)
    if state == State.DIAGNOSING:
        return repair
    part = "CLIP-SPRING-01" if state == State.AWAITING_PARTS else "HBS-BATT"
    repair = s.repair_diagnose(
        repair=repair, actor=tech, findings="진단", parts=[{"part_number": part}], labor_fee=10000
    )
    if state == State.AWAITING_APPROVAL:
        return repair
    if state == State.DECLINED:
        return s.repair_decline(repair=repair, actor=desk, reason="수리 안 함")
    repair = s.repair_approve(repair=repair, actor=desk)
    if state in (State.AWAITING_PARTS, State.READY_TO_REPAIR):
        return repair
    repair = s.repair_start(repair=repair, actor=tech)
    if state == State.IN_REPAIR:
        return repair
    repair = s.repair_complete(repair=repair, actor=tech, work_notes="교체")
    if state == State.REPAIRED:
        return repair
    if state == State.SHIPPED:
        # Courier customers pay before the device leaves (ship is blocked by `balance_due`).
        s.repair_record_payment(
            repair=repair, actor=desk, amount=repair.balance_due, method="transfer"
        )
        return s.repair_ship(repair=repair, actor=desk, carrier="CJ", tracking_number="12345")
    repair = s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
    if state == State.READY_FOR_PICKUP:
        return repair
    return s.repair_hand_over(repair=repair, actor=desk, amount_paid=repair.balance_due)


def call(name: str, repair: Repair, w: dict) -> Repair:
    """Run transition `name` with valid input, as an actor the design lets run it."""
    desk, tech, manager = w["desk"], w["tech"], w["manager"]
    if name == "parts_arrived":
        if repair.state == State.AWAITING_PARTS:
            # The system runs it when the part is received; nobody calls it by hand.
            line = PartsOrderLine.objects.get(repair=repair)
            s.parts_order_receive(order_id=line.order_id)
            return Repair.objects.get(pk=repair.pk)
        return s.repair_parts_arrived(repair=repair, actor=SYSTEM_ACTOR)
    if name == "ship" and repair.balance_due and repair.state == State.REPAIRED:
        # Courier customers pay before the device leaves (ship is blocked by `balance_due`).
        s.repair_record_payment(
            repair=repair, actor=desk, amount=repair.balance_due, method="transfer"
        )
        repair = Repair.objects.get(pk=repair.pk)
    data = {
        "assign": {"technician": tech},
        "diagnose": {
            "findings": "진단",
            "parts": [{"part_number": "HBS-BATT"}],
            "labor_fee": 10000,
        },
        "set_coverage": {
            "coverage": Coverage.WARRANTY if repair.coverage == Coverage.PAID else Coverage.PAID,
            "reason": "관리자 판단",
        },
        "record_deposit": {"amount": 10000},
        "decline": {"reason": "고객 거절"},
        "invite_for_repair": {"ready_by": timezone.now() + dt.timedelta(days=1)},
        "check_in_device": {"serial_number": "HBS1100OLD1"},
        "complete": {"work_notes": "교체 완료"},
        "requote": {"findings": "더 있음", "labor_fee": 20000, "reason": "기판 손상"},
        "report_unrepairable": {"reason": "부품 단종"},
        "ship": {"carrier": "CJ대한통운", "tracking_number": "1234567890"},
        "hand_over": {"amount_paid": repair.balance_due},
        "cancel": {"reason": "고객 취소"},
    }.get(name, {})
    actor = {"set_coverage": manager}.get(name, tech if name in OWNER_ONLY else desk)
    return s.repair_transition(repair=repair, name=name, actor=actor, data=data)


@pytest.mark.parametrize("name", TRANSITIONS)
@pytest.mark.parametrize("state", list(State))
def test_each_transition_runs_only_from_the_states_the_design_allows(
    state, name, world, make_repair
):
    repair = bring_to(state, shape_for(name), world, make_repair)
    assert repair.state == state
    before = (RepairEvent.objects.count(), Notification.objects.count())

    outcome = expected(state, name)
    if outcome == OK:
        after = call(name, repair, world)
        assert after.state == (TARGET[name] or state)
        assert RepairEvent.objects.filter(repair=repair, transition=name).exists()
        return

    error = TransitionBlocked if outcome == BLOCKED else PermissionDenied
    with pytest.raises(error) as caught:
        call(name, repair, world)
    if outcome == BLOCKED:
        assert caught.value.blockers, "a refusal says why"
    assert Repair.objects.get(pk=repair.pk).state == state
    assert (RepairEvent.objects.count(), Notification.objects.count()) == before
