"""The readiness gate: each blocker code on the transition it guards; nothing sent meanwhile."""

import pytest

from core.errors import TransitionBlocked, ValidationFailed
from parts.models import PartsOrder, ReservationStatus
from tests.conftest import stock
from workflows import gate
from workflows import services as s
from workflows.choices import Coverage, State
from workflows.models import Notification, Repair, RepairEvent


def blocked_codes(call, **kwargs) -> list[str]:
    """Run a transition service that must be blocked; its blocker codes. Checks nothing changed."""
    repair_id = kwargs["repair"].pk
    before = (Notification.objects.count(), RepairEvent.objects.count())
    state = Repair.objects.get(pk=repair_id).state
    with pytest.raises(TransitionBlocked) as caught:
        call(**kwargs)
    assert (Notification.objects.count(), RepairEvent.objects.count()) == before
    assert Repair.objects.get(pk=repair_id).state == state
    return [b["code"] for b in caught.value.blockers]


@pytest.fixture
def diagnosed(make_repair, desk, tech, battery, spring, center, expired, diagnose):
    """diagnosed(parts=[...], **intake) -> a paid repair (expired serial) diagnosed by `tech`."""
    stock(center, battery, 5)
    stock(center, spring, 0)

    def make(parts=None, labor_fee=10000, **intake):
        intake.setdefault("serial_number", expired.serial_number)
        repair = make_repair(**intake)
        return diagnose(repair, "점검 완료", parts=parts, labor_fee=labor_fee)

    return make


@pytest.fixture
def ready(diagnosed, desk):
    """ready(**intake) -> a paid, approved repair with its battery on the shelf: ready_to_repair."""

    def make(**intake):
        repair = diagnosed(parts=[{"part_number": "HBS-BATT"}], **intake)
        return s.repair_approve(repair=repair, actor=desk)

    return make


def test_invite_is_blocked_while_coverage_is_undetermined(make_repair, desk, tech, diagnose):
    repair = make_repair(intake_channel="phone", device_in_shop=False)
    repair = diagnose(repair, "클립 스프링 없음", labor_fee=0)
    assert repair.coverage == Coverage.UNDETERMINED

    codes = blocked_codes(s.repair_invite_for_repair, repair=repair, actor=desk)

    assert "coverage_undetermined" in codes
    assert not Notification.objects.filter(kind="invite_for_repair").exists()


def test_approve_is_blocked_while_coverage_is_undetermined(make_repair, desk, tech, diagnose):
    repair = make_repair()
    repair = diagnose(repair, "진단", labor_fee=5000)

    assert blocked_codes(s.repair_approve, repair=repair, actor=desk) == ["coverage_undetermined"]


def test_invite_is_blocked_while_the_paid_quote_is_not_approved(diagnosed, desk):
    repair = diagnosed(device_in_shop=False)
    assert repair.state == State.AWAITING_APPROVAL

    codes = blocked_codes(s.repair_invite_for_repair, repair=repair, actor=desk)

    assert "quote_not_approved" in codes
    assert "coverage_undetermined" not in codes


def test_a_warranty_repair_has_no_quote_to_approve(make_repair, desk, tech, in_warranty, diagnose):
    repair = make_repair(serial_number=in_warranty.serial_number)
    repair = diagnose(repair, "점검", labor_fee=0)

    assert repair.state == State.READY_TO_REPAIR
    assert gate.readiness_blockers(repair) == []


def test_approve_is_blocked_until_the_deposit_is_paid_where_the_center_requires_one(
    diagnosed, desk, center
):
    center.requires_deposit_for_ordered_parts = True
    center.save()
    repair = diagnosed(parts=[{"part_number": "CLIP-SPRING-01"}])
    assert repair.deposit_required == 100

    assert blocked_codes(s.repair_approve, repair=repair, actor=desk) == ["deposit_unpaid"]

    s.repair_record_deposit(repair=repair, actor=desk, amount=100)
    repair = s.repair_approve(repair=repair, actor=desk)
    assert repair.state == State.AWAITING_PARTS


def test_a_deposit_below_what_is_due_is_refused(diagnosed, desk, center):
    center.requires_deposit_for_ordered_parts = True
    center.save()
    repair = diagnosed(parts=[{"part_number": "CLIP-SPRING-01", "quantity": 3}])

    with pytest.raises(ValidationFailed) as caught:
        s.repair_record_deposit(repair=repair, actor=desk, amount=299)

    assert "amount" in caught.value.errors
    assert Repair.objects.get(pk=repair.pk).deposit_paid == 0


def test_no_deposit_is_asked_where_the_center_requires_none(diagnosed, desk):
    repair = diagnosed(parts=[{"part_number": "CLIP-SPRING-01"}])

    assert repair.deposit_required == 0
    assert s.repair_approve(repair=repair, actor=desk).state == State.AWAITING_PARTS


def test_invite_and_start_are_blocked_while_parts_are_on_order(diagnosed, desk, tech):
    repair = diagnosed(parts=[{"part_number": "CLIP-SPRING-01"}], device_in_shop=False)
    repair = s.repair_approve(repair=repair, actor=desk)
    assert repair.state == State.AWAITING_PARTS

    assert "parts_not_on_hand" in blocked_codes(
        s.repair_invite_for_repair, repair=repair, actor=desk
    )
    assert "parts_not_on_hand" in blocked_codes(s.repair_start, repair=repair, actor=tech)


def test_parts_arrived_is_blocked_while_a_reservation_waits(diagnosed, desk):
    repair = diagnosed(parts=[{"part_number": "CLIP-SPRING-01"}])
    repair = s.repair_approve(repair=repair, actor=desk)

    codes = blocked_codes(s.repair_parts_arrived, repair=repair, actor=s.SYSTEM_ACTOR)

    assert codes == ["parts_not_on_hand"]


def test_receiving_the_part_clears_parts_not_on_hand(diagnosed, desk):
    repair = diagnosed(parts=[{"part_number": "CLIP-SPRING-01"}], device_in_shop=False)
    repair = s.repair_approve(repair=repair, actor=desk)
    order = PartsOrder.objects.get(lines__repair=repair)

    s.parts_order_receive(order_id=order.pk)

    repair = Repair.objects.get(pk=repair.pk)
    assert repair.state == State.READY_TO_REPAIR
    assert repair.reservations.get().status == ReservationStatus.RESERVED
    assert gate.readiness_blockers(repair) == []


def test_invite_is_blocked_while_no_technician_owns_the_repair(make_repair, desk, in_warranty):
    repair = make_repair(serial_number=in_warranty.serial_number, device_in_shop=False)

    codes = blocked_codes(s.repair_invite_for_repair, repair=repair, actor=desk)

    assert "no_technician" in codes
    [blocker] = gate.readiness_blockers(repair)
    assert blocker["code"] == "no_technician"
    assert blocker["message"]


def test_start_is_blocked_while_the_device_is_not_in_the_shop(ready, tech):
    repair = ready(intake_channel="phone", device_in_shop=False)

    assert blocked_codes(s.repair_start, repair=repair, actor=tech) == ["device_not_in_shop"]


def test_start_is_allowed_once_the_device_is_checked_in(ready, desk, tech):
    repair = ready(intake_channel="phone", device_in_shop=False)
    s.repair_check_in_device(repair=repair, actor=desk)

    assert s.repair_start(repair=repair, actor=tech).state == State.IN_REPAIR


def test_invite_is_blocked_when_the_device_is_already_in_the_shop(ready, desk):
    repair = ready(device_in_shop=True)

    assert blocked_codes(s.repair_invite_for_repair, repair=repair, actor=desk) == [
        "device_in_shop"
    ]


def test_ready_for_pickup_is_blocked_while_the_repair_is_not_complete(ready, desk, tech):
    repair = s.repair_start(repair=ready(), actor=tech)

    codes = blocked_codes(s.repair_notify_ready_for_pickup, repair=repair, actor=desk)

    assert codes == ["repair_not_complete"]
    assert not Notification.objects.filter(kind="ready_for_pickup").exists()


@pytest.fixture
def repaired(ready, desk, tech):
    def make(**intake):
        repair = s.repair_start(repair=ready(**intake), actor=tech)
        return s.repair_complete(repair=repair, actor=tech, work_notes="배터리 교체")

    return make


def test_ready_for_pickup_is_blocked_when_the_customer_chose_courier_return(repaired, desk):
    repair = repaired(return_method="courier", courier_address="부산광역시 해운대구 센텀로 45")

    codes = blocked_codes(s.repair_notify_ready_for_pickup, repair=repair, actor=desk)

    assert codes == ["wrong_return_method"]


def test_shipping_is_blocked_when_the_customer_will_pick_it_up(repaired, desk):
    repair = repaired(return_method="pickup")

    codes = blocked_codes(
        s.repair_ship, repair=repair, actor=desk, carrier="CJ대한통운", tracking_number="1234567890"
    )

    assert "wrong_return_method" in codes
    assert not Notification.objects.filter(kind="shipped").exists()


def paid_up(repair, desk):
    """Courier customers pay before the device leaves (ship is blocked by `balance_due`)."""
    s.repair_record_payment(repair=repair, actor=desk, amount=repair.balance_due, method="transfer")
    return Repair.objects.get(pk=repair.pk)


def test_shipping_is_blocked_without_a_return_address(repaired, desk):
    repair = paid_up(repaired(return_method="courier"), desk)
    assert repair.courier_address == ""

    codes = blocked_codes(
        s.repair_ship, repair=repair, actor=desk, carrier="CJ대한통운", tracking_number="1234567890"
    )

    assert codes == ["address_missing"]


@pytest.mark.parametrize(("carrier", "tracking"), [("CJ대한통운", ""), ("", "1234567890")])
def test_shipping_is_blocked_without_a_carrier_and_tracking_number(
    repaired, desk, carrier, tracking
):
    repair = repaired(return_method="courier", courier_address="부산광역시 해운대구 센텀로 45")
    repair = paid_up(repair, desk)

    codes = blocked_codes(
        s.repair_ship, repair=repair, actor=desk, carrier=carrier, tracking_number=tracking
    )

    assert codes == ["tracking_missing"]


def test_shipping_with_address_and_tracking_sends_one_message(repaired, desk):
    repair = repaired(return_method="courier", courier_address="부산광역시 해운대구 센텀로 45")
    repair = paid_up(repair, desk)

    repair = s.repair_ship(
        repair=repair, actor=desk, carrier="CJ대한통운", tracking_number="1234567890"
    )

    assert repair.state == State.SHIPPED
    shipped = Notification.objects.get(repair=repair, kind="shipped")
    assert "1234567890" in shipped.body


def test_hand_over_is_blocked_while_a_balance_is_due(repaired, desk):
    repair = s.repair_notify_ready_for_pickup(repair=repaired(), actor=desk)
    assert repair.balance_due == 10000 + 15000

    codes = blocked_codes(s.repair_hand_over, repair=repair, actor=desk, amount_paid=20000)

    assert codes == ["balance_due"]
    assert Repair.objects.get(pk=repair.pk).amount_paid == 0


def test_hand_over_closes_the_repair_once_paid_in_full(repaired, desk):
    repair = s.repair_notify_ready_for_pickup(repair=repaired(), actor=desk)

    repair = s.repair_hand_over(repair=repair, actor=desk, amount_paid=25000)

    assert repair.state == State.CLOSED
    assert repair.balance_due == 0


def test_a_blocked_transition_leaves_no_notification_and_delivers_nothing(
    diagnosed, desk, outbox, django_capture_on_commit_callbacks
):
    repair = diagnosed(device_in_shop=False)
    before = Notification.objects.count()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(TransitionBlocked):
            s.repair_invite_for_repair(repair=repair, actor=desk)

    assert Notification.objects.count() == before
    assert callbacks == []
    assert outbox == []
