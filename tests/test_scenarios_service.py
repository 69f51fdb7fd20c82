"""SCENARIOS.md S1, S2, S3, S7 and S8, end to end through the services."""

import datetime as dt

import pytest
from django.utils import timezone

from core.errors import PermissionDenied, TransitionBlocked
from core.roles import CUSTOMER_ACTOR
from parts.models import PartsOrder, PartsOrderLine, Reservation, ReservationStatus, Stock
from service_center.models import Device
from tests.conftest import stock
from tests.factories import CustomerFactory, DeviceFactory, PartFactory, ProductModelFactory
from workflows import services as s
from workflows.choices import Coverage, EventKind, PromiseKind, State
from workflows.models import Notification, Promise, Repair, RepairEvent


def blocker_codes(call, **kwargs) -> list[str]:
    with pytest.raises(TransitionBlocked) as caught:
        call(**kwargs)
    return [b["code"] for b in caught.value.blockers]


def kinds(repair) -> list[str]:
    return list(Notification.objects.filter(repair=repair).values_list("kind", flat=True))


# --- S1 ---------------------------------------------------------------------------------------


def test_s1_the_missing_clip_spring_is_fixed_on_the_spot_after_one_honest_invitation(
    make_repair,
    desk,
    tech,
    center,
    spring,
    expired,
    outbox,
    django_capture_on_commit_callbacks,
    diagnose,
):
    stock(center, spring, 0)
    # She bought the headset two years ago; the registry knows it under her phone number.
    kim = CustomerFactory(center=center, name="김민지", phone="010-2345-6789")
    expired.owner = kim
    expired.save()

    # Intake by phone: she keeps the headset and does not know the serial.
    repair = make_repair(intake_channel="phone", device_in_shop=False)
    assert repair.customer == kim
    assert repair.coverage == Coverage.UNDETERMINED
    assert repair.coverage_reason_code == "serial_unknown"

    # The technician diagnoses: one spring, not in stock -> waiting, ordered from the warehouse.
    repair = diagnose(
        repair,
        "클립 스프링 1개 교체 (재고 없음, 주문)",
        parts=[{"part_number": spring.part_number, "quantity": 1}],
        labor_fee=5000,
    )
    assert repair.state == State.AWAITING_APPROVAL
    reservation = Reservation.objects.get(repair=repair)
    assert reservation.status == ReservationStatus.WAITING
    line = PartsOrderLine.objects.get(repair=repair)
    assert (line.part, line.quantity) == (spring, 1)

    # Weeks later the spring arrives.
    s.parts_order_receive(order_id=line.order_id)
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.RESERVED
    assert PartsOrder.objects.get(pk=line.order_id).state == "received"
    assert Stock.objects.get(center=center, part=spring).reserved == 1

    # The desk tries to invite her: blocked, and no message goes out.
    codes = blocker_codes(s.repair_invite_for_repair, repair=repair, actor=desk)
    assert "coverage_undetermined" in codes
    assert "quote_not_approved" in codes
    assert "invite_for_repair" not in kinds(repair)

    # The desk finds her registered headset by her phone: warranty ended, so a paid repair.
    found = list(Device.objects.filter(owner__phone=repair.customer.phone))
    assert found == [expired]
    s.repair_set_coverage(
        repair=repair,
        actor=desk,
        coverage=Coverage.PAID,
        reason=f"Registered serial {expired.serial_number}: warranty ended.",
    )
    repair = s.repair_approve(repair=repair, actor=CUSTOMER_ACTOR)
    assert repair.state == State.READY_TO_REPAIR
    assert repair.quote_approved_by == "customer"

    # Now the invitation goes out, once, with the price and a ready_by promise.
    ready_by = timezone.now() + dt.timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        repair = s.repair_invite_for_repair(repair=repair, actor=desk, ready_by=ready_by)
    assert repair.promised_price == 5100
    assert repair.promised_ready_by == ready_by
    invite = Notification.objects.get(repair=repair, kind="invite_for_repair")
    assert "5,100" in invite.body
    assert [n.pk for n in outbox] == [invite.pk]
    promise = Promise.objects.get(repair=repair, kind=PromiseKind.READY_BY)
    assert promise.due_at == ready_by
    assert promise.fulfilled_at is None
    assert "already_invited" in blocker_codes(s.repair_invite_for_repair, repair=repair, actor=desk)
    assert kinds(repair).count("invite_for_repair") == 1

    # At the counter: the same price, the same promise; the owning technician fixes it there.
    repair = s.repair_check_in_device(repair=repair, actor=desk, serial_number="hbs1100-old1")
    assert repair.device == expired
    assert not repair.serial_mismatch
    assert repair.amount_due == repair.promised_price
    repair = s.repair_start(repair=repair, actor=tech)
    repair = s.repair_complete(repair=repair, actor=tech, work_notes="스프링 교체")
    assert repair.state == State.REPAIRED
    promise.refresh_from_db()
    assert promise.fulfilled_at is not None
    assert Reservation.objects.get(repair=repair).status == ReservationStatus.CONSUMED
    spring_stock = Stock.objects.get(center=center, part=spring)
    assert (spring_stock.on_hand, spring_stock.reserved) == (0, 0)

    repair = s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
    repair = s.repair_hand_over(repair=repair, actor=desk, amount_paid=5100)
    assert repair.state == State.CLOSED
    assert repair.amount_paid == 5100
    transitions = list(
        RepairEvent.objects.filter(repair=repair, kind=EventKind.TRANSITION)
        .exclude(transition="intake")
        .values_list("transition", flat=True)
    )
    assert transitions == [
        "assign",
        "diagnose",
        "approve",
        "invite_for_repair",
        "check_in_device",
        "start_repair",
        "complete",
        "notify_ready_for_pickup",
        "hand_over",
    ]
    assert RepairEvent.objects.filter(repair=repair, kind=EventKind.COVERAGE_CHANGE).count() == 1


# --- S2 ---------------------------------------------------------------------------------------


@pytest.fixture
def laptop(db):
    return ProductModelFactory(code="NB-15X", name="노트북 NB-15X", warranty_months=24)


@pytest.fixture
def laptop_in_repair(center, desk, tech, laptop, diagnose):
    keyboard = PartFactory(part_number="NB-KEYBOARD", unit_price=89000, compatible_models=[laptop])
    stock(center, keyboard, 2)
    serial = DeviceFactory(
        serial_number="NB15X0002",
        product_model=laptop,
        purchase_date=timezone.localdate() - dt.timedelta(days=1000),
    )
    repair = s.repair_intake(
        center=center,
        actor=desk,
        customer={"name": "박서연", "phone": "010-4567-8901"},
        serial_number=serial.serial_number,
        symptom="키보드 일부 키가 눌리지 않음",
        accessories="충전기",
    )
    assert repair.coverage == Coverage.PAID
    diagnose(repair, "키보드 교체", parts=[{"part_number": "NB-KEYBOARD"}], labor_fee=20000)
    s.repair_approve(repair=repair, actor=desk)
    return s.repair_start(repair=repair, actor=tech)


def test_s2_ready_for_pickup_is_blocked_while_the_laptop_is_in_repair(laptop_in_repair, desk):
    assert laptop_in_repair.state == State.IN_REPAIR

    codes = blocker_codes(s.repair_notify_ready_for_pickup, repair=laptop_in_repair, actor=desk)

    assert codes == ["repair_not_complete"]
    assert "ready_for_pickup" not in kinds(laptop_in_repair)


def test_s2_pressing_ready_for_pickup_twice_writes_one_message(
    laptop_in_repair, desk, tech, outbox, django_capture_on_commit_callbacks
):
    s.repair_complete(repair=laptop_in_repair, actor=tech, work_notes="키보드 교체")

    with django_capture_on_commit_callbacks(execute=True):
        repair = s.repair_notify_ready_for_pickup(repair=laptop_in_repair, actor=desk)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(TransitionBlocked):
            s.repair_notify_ready_for_pickup(repair=laptop_in_repair, actor=tech)

    assert repair.state == State.READY_FOR_PICKUP
    ready = Notification.objects.get(repair=repair, kind="ready_for_pickup")
    assert "109,000" in ready.body
    assert [n.pk for n in outbox] == [ready.pk]


# --- S3 ---------------------------------------------------------------------------------------


def test_s3_two_arriving_springs_go_to_the_first_two_repairs_that_asked(
    make_repair, desk, tech, center, spring, in_warranty, diagnose
):
    stock(center, spring, 0)
    repairs = []
    for name, phone in [("A", "010-1111-0001"), ("B", "010-1111-0002"), ("C", "010-1111-0003")]:
        repair = make_repair(
            customer={"name": name, "phone": phone},
            device_in_shop=False,
            serial_number=in_warranty.serial_number,
        )
        repairs.append(diagnose(repair, "스프링", parts=[{"part_number": "CLIP-SPRING-01"}]))
    a, b, c = repairs
    assert [r.state for r in repairs] == [State.AWAITING_PARTS] * 3
    orders = {r.pk: PartsOrderLine.objects.get(repair=r).order_id for r in repairs}

    # C's order arrives first, then B's: the units still go to A and B, in the order they asked.
    s.parts_order_receive(order_id=orders[c.pk])
    assert Reservation.objects.get(repair=a).status == ReservationStatus.RESERVED
    assert Reservation.objects.get(repair=c).status == ReservationStatus.WAITING
    s.parts_order_receive(order_id=orders[b.pk])

    status = {r.pk: Reservation.objects.get(repair=r).status for r in repairs}
    assert status == {
        a.pk: ReservationStatus.RESERVED,
        b.pk: ReservationStatus.RESERVED,
        c.pk: ReservationStatus.WAITING,
    }
    states = {r.pk: Repair.objects.get(pk=r.pk).state for r in repairs}
    assert states == {
        a.pk: State.READY_TO_REPAIR,
        b.pk: State.READY_TO_REPAIR,
        c.pk: State.AWAITING_PARTS,
    }
    spring_stock = Stock.objects.get(center=center, part=spring)
    assert (spring_stock.on_hand, spring_stock.reserved) == (2, 2)
    c = Repair.objects.get(pk=c.pk)
    assert [b["code"] for b in c.readiness_blockers()] == ["parts_not_on_hand"]


def test_s3_a_new_reservation_waits_behind_older_ones_even_when_a_unit_is_free(
    make_repair, desk, tech, manager, center, spring, in_warranty, diagnose
):
    stock(center, spring, 0)
    first = make_repair(serial_number=in_warranty.serial_number)
    diagnose(first, "스프링 2개", parts=[{"part_number": "CLIP-SPRING-01", "quantity": 2}])
    s.stock_adjust(center=center, part=spring, delta=1, reason="한 개 입고")
    assert Reservation.objects.get(repair=first).status == ReservationStatus.WAITING

    second = make_repair(
        customer={"name": "B", "phone": "010-1111-0002"}, serial_number=in_warranty.serial_number
    )
    diagnose(second, "스프링 1개", parts=[{"part_number": "CLIP-SPRING-01"}])

    assert Reservation.objects.get(repair=second).status == ReservationStatus.WAITING
    assert Stock.objects.get(center=center, part=spring).reserved == 0


def test_s3_a_unit_freed_by_a_decline_goes_to_the_next_repair_in_line(
    make_repair,
    desk,
    tech,
    center,
    battery,
    expired,
    in_warranty,
    django_capture_on_commit_callbacks,
    diagnose,
):
    stock(center, battery, 1)
    first = make_repair(serial_number=expired.serial_number)
    diagnose(first, "배터리", parts=[{"part_number": "HBS-BATT"}])
    second = make_repair(
        customer={"name": "B", "phone": "010-1111-0002"}, serial_number=in_warranty.serial_number
    )
    second = diagnose(second, "배터리", parts=[{"part_number": "HBS-BATT"}])
    assert second.state == State.AWAITING_PARTS

    with django_capture_on_commit_callbacks(execute=True):
        s.repair_decline(repair=first, actor=desk, reason="너무 비쌈")

    assert Reservation.objects.get(repair=first).status == ReservationStatus.RELEASED
    assert Reservation.objects.get(repair=second).status == ReservationStatus.RESERVED
    assert Repair.objects.get(pk=second.pk).state == State.READY_TO_REPAIR
    assert Stock.objects.get(center=center, part=battery).reserved == 1


def test_s3_only_a_repair_still_waiting_is_told_the_part_has_shipped(
    make_repair, desk, tech, center, spring, in_warranty, diagnose
):
    stock(center, spring, 0)
    repairs = []
    for name, phone in [("A", "010-1111-0001"), ("B", "010-1111-0002")]:
        repair = make_repair(
            customer={"name": name, "phone": phone}, serial_number=in_warranty.serial_number
        )
        repairs.append(diagnose(repair, "스프링", parts=[{"part_number": "CLIP-SPRING-01"}]))
    a, b = repairs
    orders = {r.pk: PartsOrderLine.objects.get(repair=r).order_id for r in repairs}
    # B's order comes in first; first come, first served gives its spring to A.
    s.parts_order_receive(order_id=orders[b.pk])
    assert Repair.objects.get(pk=a.pk).state == State.READY_TO_REPAIR

    eta = timezone.localdate() + dt.timedelta(days=3)
    s.parts_order_ship(order_id=orders[a.pk], carrier="본사 물류", tracking_number="HQ-1", eta=eta)

    # A has its spring: telling A "your part has left the warehouse" would be untrue, and the
    # promise would never be kept, so it would sit on the desk board as overdue for ever.
    assert not Promise.objects.filter(repair=a, kind=PromiseKind.PART_ETA).exists()
    assert not RepairEvent.objects.filter(repair=a, data__eta=eta.isoformat()).exists()


def test_s3_a_declined_repair_is_not_told_about_a_part_it_no_longer_waits_for(
    make_repair, desk, tech, center, spring, expired, diagnose
):
    stock(center, spring, 0)
    repair = make_repair(serial_number=expired.serial_number)
    diagnose(repair, "스프링", parts=[{"part_number": "CLIP-SPRING-01"}])
    s.repair_decline(repair=repair, actor=desk, reason="수리 안 함")
    order = PartsOrderLine.objects.get(repair=repair).order

    s.parts_order_ship(
        order_id=order.pk, carrier="본사 물류", tracking_number="HQ-2", eta=timezone.localdate()
    )

    assert not Promise.objects.filter(repair=repair).exists()


def test_s3_a_waiting_repair_gets_the_eta_as_a_promise_kept_when_the_part_arrives(
    make_repair, desk, tech, center, spring, in_warranty, diagnose
):
    stock(center, spring, 0)
    repair = make_repair(serial_number=in_warranty.serial_number)
    diagnose(repair, "스프링", parts=[{"part_number": "CLIP-SPRING-01"}])
    order = PartsOrderLine.objects.get(repair=repair).order
    eta = timezone.localdate() + dt.timedelta(days=3)

    s.parts_order_ship(order_id=order.pk, carrier="본사 물류", tracking_number="HQ-3", eta=eta)
    promise = Promise.objects.get(repair=repair, kind=PromiseKind.PART_ETA)
    assert timezone.localtime(promise.due_at).date() == eta
    assert promise.fulfilled_at is None

    s.parts_order_receive(order_id=order.pk)
    promise.refresh_from_db()
    assert promise.fulfilled_at is not None


# --- S7 ---------------------------------------------------------------------------------------


def overdue(now):
    """The desk board's "overdue promises": unfulfilled and due before `now`."""
    return Promise.objects.filter(fulfilled_at__isnull=True, due_at__lt=now)


def test_s7_an_unkept_callback_promise_is_overdue_until_the_call_is_recorded(make_repair, tech):
    repair = make_repair()
    due = timezone.now() + dt.timedelta(days=1)
    promise = s.repair_record_promise(
        repair=repair, actor=tech, kind="callback", due_at=due, note="부품 도착 여부 전화"
    )
    assert list(overdue(timezone.now())) == []

    the_day_after = due + dt.timedelta(hours=2)
    assert list(overdue(the_day_after)) == [promise]

    s.repair_record_call(repair=repair, actor=tech, text="부품 도착 안내 전화함")

    promise.refresh_from_db()
    assert promise.fulfilled_at is not None
    assert promise.fulfilled_by == tech
    assert list(overdue(the_day_after)) == []
    kinds_ = list(RepairEvent.objects.filter(repair=repair).values_list("kind", flat=True))
    assert kinds_[-3:] == [EventKind.PROMISE, EventKind.CALL, EventKind.PROMISE_FULFILLED]


def test_s7_a_call_keeps_only_callback_promises(make_repair, tech, desk):
    repair = make_repair()
    past = timezone.now() - dt.timedelta(hours=3)
    callback = s.repair_record_promise(repair=repair, actor=tech, kind="callback", due_at=past)
    eta = s.repair_record_promise(repair=repair, actor=tech, kind="part_eta", due_at=past)
    assert callback.is_overdue and eta.is_overdue

    s.repair_record_call(repair=repair, actor=desk, text="통화", direction="incoming")

    assert list(overdue(timezone.now())) == [eta]


# --- S8 ---------------------------------------------------------------------------------------


@pytest.fixture
def approved_warranty_repair(make_repair, desk, tech, center, battery, in_warranty, diagnose):
    stock(center, battery, 3)
    repair = make_repair(serial_number=in_warranty.serial_number)
    assert repair.coverage == Coverage.WARRANTY
    repair = diagnose(repair, "배터리 교체", parts=[{"part_number": "HBS-BATT"}], labor_fee=10000)
    assert repair.state == State.READY_TO_REPAIR
    return repair


def test_s8_the_desk_may_not_change_coverage_once_work_is_scheduled(approved_warranty_repair, desk):
    repair = approved_warranty_repair
    events = RepairEvent.objects.count()

    with pytest.raises(PermissionDenied):
        s.repair_set_coverage(repair=repair, actor=desk, coverage="paid", reason="외관 파손")

    repair = Repair.objects.get(pk=repair.pk)
    assert repair.coverage == Coverage.WARRANTY
    assert RepairEvent.objects.count() == events
    assert "coverage_changed" not in kinds(repair)


def test_s8_a_manager_changes_coverage_with_a_reason_on_the_timeline_and_tells_the_customer(
    approved_warranty_repair, manager, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        repair = s.repair_set_coverage(
            repair=approved_warranty_repair, actor=manager, coverage="paid", reason="침수 흔적"
        )

    assert repair.coverage == Coverage.PAID
    assert repair.coverage_reason == "침수 흔적"  # typed by staff: kept as typed
    assert repair.state == State.AWAITING_APPROVAL
    event = RepairEvent.objects.get(repair=repair, kind=EventKind.COVERAGE_CHANGE)
    assert event.actor == manager
    assert event.data == {"from": "warranty", "to": "paid", "reason": "침수 흔적"}
    assert event.customer_visible
    message = Notification.objects.get(repair=repair, kind="coverage_changed")
    assert "침수 흔적" in message.body
    assert "25,000" in message.body
    assert [n.pk for n in outbox] == [message.pk]


def test_s8_a_paid_repair_changed_after_approval_needs_a_fresh_approval(
    make_repair, desk, tech, manager, center, battery, expired, diagnose
):
    stock(center, battery, 3)
    repair = make_repair(serial_number=expired.serial_number)
    diagnose(repair, "배터리", parts=[{"part_number": "HBS-BATT"}], labor_fee=10000)
    repair = s.repair_approve(repair=repair, actor=desk)
    assert repair.state == State.READY_TO_REPAIR

    with pytest.raises(PermissionDenied):
        s.repair_set_coverage(repair=repair, actor=desk, coverage="warranty", reason="영수증 확인")
    repair = s.repair_set_coverage(
        repair=repair, actor=manager, coverage="warranty", reason="구매 영수증 확인"
    )
    assert repair.state == State.READY_TO_REPAIR
    assert repair.amount_due == 0

    repair = s.repair_set_coverage(
        repair=repair, actor=manager, coverage="paid", reason="영수증 위조"
    )
    assert repair.state == State.AWAITING_APPROVAL
    assert repair.quote_approved_at is None
    assert "quote_not_approved" in [b["code"] for b in repair.readiness_blockers()]
    assert kinds(repair).count("coverage_changed") == 2


def test_s8_the_desk_settles_undetermined_coverage_before_approval(
    make_repair, desk, tech, diagnose
):
    repair = make_repair()
    diagnose(repair, "진단", labor_fee=5000)

    repair = s.repair_set_coverage(repair=repair, actor=desk, coverage="paid", reason="유상 동의")

    assert repair.coverage == Coverage.PAID
    assert repair.state == State.AWAITING_APPROVAL
    assert RepairEvent.objects.filter(repair=repair, kind=EventKind.COVERAGE_CHANGE).exists()
