"""Shared by the payments tests: a paid repair walked to any state, and ledger checks.

(No tests here; the payments test modules import these fixtures.)
"""

from __future__ import annotations

import pytest
from django.db.models import Sum

from tests.conftest import stock
from workflows import services as s
from workflows.choices import State
from workflows.models import Payment, Repair

__all__ = ["COURIER", "LABOR", "assert_ledger_agrees", "fresh", "ledger_sum", "walk"]

LABOR = 15000  # + the 100 won clip spring = 15,100 won
COURIER = {"return_method": "courier", "courier_address": "부산광역시 해운대구 센텀로 45"}


def ledger_sum(repair) -> int:
    return Payment.objects.filter(repair_id=repair.pk).aggregate(t=Sum("amount"))["t"] or 0


def fresh(repair) -> Repair:
    return Repair.objects.select_related("center").get(pk=repair.pk)


def assert_ledger_agrees(repair) -> Repair:
    r = fresh(repair)
    assert r.amount_paid == ledger_sum(r), (r.amount_paid, ledger_sum(r))
    assert 0 <= r.amount_paid <= r.payable
    return r


@pytest.fixture
def walk(make_repair, desk, tech, center, spring, expired, diagnose):
    """walk(to=state, **intake) -> a paid repair (expired warranty) with a 15,100 won quote."""
    stock(center, spring, 50)

    def make(to: str, *, labor: int = LABOR, **intake):
        repair = make_repair(serial_number=expired.serial_number, **intake)
        if to == State.RECEIVED:
            return repair
        repair = diagnose(
            repair, "스프링 교체", parts=[{"part_number": spring.part_number}], labor_fee=labor
        )
        if to == State.AWAITING_APPROVAL:
            return repair
        if to == State.DECLINED:
            return s.repair_decline(repair=repair, actor=desk, reason="고객 거절")
        repair = s.repair_approve(repair=repair, actor=desk)
        if to == State.READY_TO_REPAIR:
            return repair
        repair = s.repair_start(repair=repair, actor=tech)
        repair = s.repair_complete(repair=repair, actor=tech, work_notes="교체")
        if to == State.REPAIRED:
            return repair
        return s.repair_notify_ready_for_pickup(repair=repair, actor=desk)

    return make
