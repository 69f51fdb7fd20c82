"""Rules where the code is deliberately stricter or wider than DESIGN.md's table."""

import pytest

from core.errors import TransitionBlocked
from core.roles import CUSTOMER_ACTOR
from tests.conftest import stock
from workflows import services as s
from workflows.models import Notification


@pytest.fixture
def being_repaired(make_repair, desk, tech, battery, center, expired, diagnose):
    """being_repaired(**intake) -> a paid repair (expired serial, 5,000 won labour), approved and
    in the technician's hands."""
    stock(center, battery, 2)

    def make(**intake):
        repair = make_repair(serial_number="HBS1100OLD1", **intake)
        diagnose(repair, "battery", parts=[{"part_number": "HBS-BATT"}], labor_fee=5000)
        s.repair_approve(repair=repair, actor=desk)
        s.repair_start(repair=repair, actor=tech)
        return repair

    return make


def test_a_customer_can_withdraw_a_walk_in_repair_before_anyone_looks_at_it(
    make_repair, desk, expired
):
    repair = make_repair(serial_number="HBS1100OLD1")
    declined = s.repair_decline(repair=repair, actor=CUSTOMER_ACTOR, reason="필요 없어졌어요")
    assert declined.state == "declined"
    ready = s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
    assert ready.state == "ready_for_pickup"
    assert ready.amount_due == 0


def test_coverage_cannot_turn_paid_once_the_work_has_started(
    make_repair, desk, tech, manager, battery, center, in_warranty, diagnose
):
    stock(center, battery, 1)
    repair = make_repair(serial_number="HBS1100K7Q2")
    diagnose(repair, "battery", parts=[{"part_number": "HBS-BATT"}], labor_fee=0)
    s.repair_start(repair=repair, actor=tech)
    with pytest.raises(TransitionBlocked) as caught:
        s.repair_set_coverage(repair=repair, actor=manager, coverage="paid", reason="seal broken")
    assert [b["code"] for b in caught.value.blockers] == ["quote_not_approved"]
    assert not Notification.objects.filter(repair=repair, kind="coverage_changed").exists()


def test_a_second_ready_for_pickup_call_says_wrong_state_not_unfinished(being_repaired, desk, tech):
    repair = being_repaired()
    s.repair_complete(repair=repair, actor=tech)
    s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
    with pytest.raises(TransitionBlocked) as caught:
        s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
    assert [b["code"] for b in caught.value.blockers] == ["wrong_state"]
    assert Notification.objects.filter(repair=repair, kind="ready_for_pickup").count() == 1


def test_a_shipped_device_cannot_be_checked_in_again(being_repaired, desk, tech):
    repair = being_repaired(
        return_method="courier", courier_address="부산광역시 해운대구 센텀로 45"
    )
    repair = s.repair_complete(repair=repair, actor=tech)
    # Courier customers pay before the device leaves (ship is blocked by `balance_due`).
    s.repair_record_payment(repair=repair, actor=desk, amount=repair.balance_due, method="transfer")
    s.repair_ship(repair=repair, actor=desk, carrier="CJ", tracking_number="123456")
    with pytest.raises(TransitionBlocked) as caught:
        s.repair_check_in_device(repair=repair, actor=desk)
    assert caught.value.blockers[0]["code"] == "wrong_state"
