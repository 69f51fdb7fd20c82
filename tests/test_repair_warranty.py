"""Repair warranty: a comeback of a serial this center repaired and closed within
`repair_warranty_days` is warranty, naming the earlier ticket (DESIGN.md, "Repair flow")."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from workflows import services as s
from workflows.choices import Coverage, State
from workflows.models import Repair
from workflows.texts import CoverageReason

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_days_ago(make_repair, expired, desk, tech, diagnose):
    """closed_days_ago(n) -> a paid repair of the expired serial, repaired and handed over,
    its closing moved n local days back (at noon)."""

    def make(days: int) -> Repair:
        repair = make_repair(serial_number=expired.serial_number)
        diagnose(repair, "스프링 교체", labor_fee=0)
        s.repair_approve(repair=repair, actor=desk)
        s.repair_start(repair=repair, actor=tech)
        s.repair_complete(repair=repair, actor=tech, work_notes="교체")
        s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
        s.repair_hand_over(repair=repair, actor=desk, amount_paid=0)
        day = timezone.localdate() - dt.timedelta(days=days)
        noon = timezone.make_aware(dt.datetime.combine(day, dt.time(12)))
        Repair.objects.filter(pk=repair.pk).update(closed_at=noon)
        return Repair.objects.get(pk=repair.pk)

    return make


def test_a_comeback_inside_the_window_is_warranty_naming_the_earlier_ticket(
    closed_days_ago, make_repair, expired, center
):
    earlier = closed_days_ago(center.repair_warranty_days)  # the last day that counts
    assert earlier.state == State.CLOSED
    comeback = make_repair(serial_number=expired.serial_number)
    assert comeback.coverage == Coverage.WARRANTY
    assert comeback.coverage_reason_code == CoverageReason.REPAIR_WARRANTY
    assert comeback.comeback_of_id == earlier.pk
    with translation.override("en"):
        assert earlier.ticket_number in comeback.coverage_reason
        assert comeback.coverage_reason.startswith("Repair warranty: earlier ticket")
    with translation.override("ko"):
        assert comeback.coverage_reason.startswith("수리 보증: 이전 접수 " + earlier.ticket_number)


def test_one_day_outside_the_window_is_not(closed_days_ago, make_repair, expired, center):
    closed_days_ago(center.repair_warranty_days + 1)
    late = make_repair(serial_number=expired.serial_number)
    assert late.coverage == Coverage.PAID and late.comeback_of_id is None
    assert late.coverage_reason_code == CoverageReason.WARRANTY_ENDED


def test_a_cancelled_earlier_repair_gives_no_repair_warranty(make_repair, expired, desk):
    cancelled = s.repair_cancel(
        repair=make_repair(serial_number=expired.serial_number, device_in_shop=False),
        actor=desk,
        reason="고객 취소",
    )
    assert cancelled.state == State.CANCELLED and cancelled.closed_at is not None
    again = make_repair(serial_number=expired.serial_number)
    assert again.coverage == Coverage.PAID and again.comeback_of_id is None


def test_another_centers_repair_gives_no_warranty_here(
    closed_days_ago, expired, other_center, headset
):
    from service_center.services import staff_create
    from tests.conftest import PASSWORD

    closed_days_ago(1)
    desk_sc = staff_create(
        username="desk_sc", role="front_desk", center_code="SC", password=PASSWORD
    )
    elsewhere = s.repair_intake(
        center=other_center,
        actor=desk_sc,
        customer={"name": "김민지", "phone": "010-2345-6789"},
        symptom="또 고장",
        serial_number=expired.serial_number,
        product_model=headset.code,
    )
    assert elsewhere.coverage == Coverage.PAID and elsewhere.comeback_of_id is None


def test_the_live_serial_lookup_says_repair_warranty_before_the_customer_leaves(
    client, desk, closed_days_ago, expired, in_warranty, settings
):
    earlier = closed_days_ago(3)
    client.force_login(desk)
    for lang, words in (("en", "Repair warranty: earlier ticket"), ("ko", "수리 보증: 이전 접수")):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
        body = client.get("/desk/lookup/serial/", {"serial": "hbs1100-old1"}).json()
        assert body["ok"] and body["repair_warranty"]["ticket"] == earlier.ticket_number
        assert body["detail"].startswith(words) and earlier.ticket_number in body["detail"]
    fresh = client.get("/desk/lookup/serial/", {"serial": "HBS1100K7Q2"}).json()
    assert "repair_warranty" not in fresh
