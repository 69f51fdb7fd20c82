"""requote: a new quote while the device is on the bench (DESIGN.md, "Repair flow")."""

from __future__ import annotations

import pytest
from django.db import transaction

from parts.models import Reservation, ReservationStatus, Stock, StockMovement
from tests.conftest import stock
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import get, post, transition
from workflows import services as s
from workflows.choices import NotificationKind, State
from workflows.models import Notification, Repair, RepairEvent

pytestmark = pytest.mark.django_db

REQUOTE = {
    "findings": "기판 손상 추가 발견",
    "parts": [{"part_number": "CLIP-SPRING-01"}],
    "labor_fee": 30000,
    "reason": "기판 부식",
}


@pytest.fixture
def on_bench(make_repair, center, battery, spring, expired, desk, tech, diagnose):
    """A paid repair (expired serial) approved at 25,000 won and started: battery + 10,000."""
    stock(center, battery, 3)
    stock(center, spring, 2)
    repair = make_repair(serial_number=expired.serial_number)
    diagnose(repair, "배터리 불량", parts=[{"part_number": "HBS-BATT"}], labor_fee=10000)
    s.repair_approve(repair=repair, actor=desk)
    return s.repair_start(repair=repair, actor=tech)


def test_requote_then_online_approval_then_the_repair_resumes(
    on_bench, tech_api, anon_api, desk_api, battery, spring, center
):
    ticket = on_bench.ticket_number
    response = transition(tech_api, ticket, "requote", REQUOTE)
    assert response.status_code == 200, response.json()
    body = get(desk_api, f"/repairs/{ticket}/").json()
    assert body["state"] == State.AWAITING_APPROVAL
    assert body["previous_quote_total"] == 25000 and body["requote_reason"] == "기판 부식"
    assert body["quote"]["total"] == 30100 and body["quote"]["approved"] is False

    # Started again before the customer agreed: refused with the gate's code.
    repair = Repair.objects.get(pk=on_bench.pk)
    early = transition(tech_api, ticket, "start_repair")
    assert early.status_code == 409 and "quote_not_approved" in {
        b["code"] for b in early.json()["blockers"]
    }

    shown = post(anon_api, "/public/status/", {"token": repair.status_token}).json()
    assert shown["quote"]["previous_total"] == 25000 and shown["quote"]["total"] == 30100
    assert shown["quote"]["requote_reason"] == "기판 부식" and shown["can_approve"] is True

    approved = post(anon_api, "/public/approve/", {"token": repair.status_token})
    assert approved.status_code == 200 and approved.json()["state"] == State.READY_TO_REPAIR
    resumed = transition(tech_api, ticket, "start_repair")
    assert resumed.status_code == 200 and resumed.json()["state"] == State.IN_REPAIR
    repair = Repair.objects.get(pk=on_bench.pk)
    assert repair.device_in_shop and repair.quote_approved_by == "customer"


def test_parts_kept_added_and_released_through_the_ledger(on_bench, tech, battery, spring, center):
    s.repair_requote(repair=on_bench, actor=tech, **REQUOTE)
    rows = {r.part_id: r.status for r in Reservation.objects.filter(repair=on_bench)}
    assert rows == {battery.pk: ReservationStatus.RELEASED, spring.pk: ReservationStatus.RESERVED}
    released = StockMovement.objects.filter(repair_id=on_bench.pk, kind="release", part=battery)
    assert [(m.delta_reserved, m.delta_on_hand) for m in released] == [(-1, 0)]
    assert Stock.objects.get(center=center, part=battery).reserved == 0
    assert Stock.objects.get(center=center, part=spring).reserved == 1


def test_a_part_kept_in_the_same_quantity_keeps_its_reservation(on_bench, tech, battery):
    first = Reservation.objects.get(repair=on_bench, part=battery)
    s.repair_requote(
        repair=on_bench,
        actor=tech,
        findings="같은 부품, 공임 증가",
        parts=[{"part_number": "HBS-BATT"}],
        labor_fee=20000,
        reason="작업 난이도",
    )
    assert list(Reservation.objects.filter(repair=on_bench).values_list("pk", "status")) == [
        (first.pk, ReservationStatus.RESERVED)
    ]
    assert not StockMovement.objects.filter(repair_id=on_bench.pk, kind="release").exists()


def test_the_customer_is_told_once_with_old_and_new_totals(on_bench, tech):
    before = Notification.objects.filter(repair=on_bench, kind=NotificationKind.QUOTE).count()
    s.repair_requote(repair=on_bench, actor=tech, **REQUOTE)
    messages = Notification.objects.filter(repair=on_bench, kind=NotificationKind.QUOTE)
    assert messages.count() == before + 1
    body = messages.order_by("-pk").first().body
    assert "25,000" in body and "30,100" in body and "기판 부식" in body
    event = RepairEvent.objects.get(repair=on_bench, transition="requote")
    assert event.customer_visible and event.to_state == State.AWAITING_APPROVAL


def test_another_technician_may_not_requote(on_bench, other_tech_api, desk_api):
    response = transition(other_tech_api, on_bench.ticket_number, "requote", REQUOTE)
    assert response.status_code == 403
    response = transition(desk_api, on_bench.ticket_number, "requote", REQUOTE)
    assert response.status_code == 403
    assert Repair.objects.get(pk=on_bench.pk).state == State.IN_REPAIR


def test_bad_input_names_every_field_and_changes_nothing(on_bench, tech_api):
    before = (RepairEvent.objects.count(), StockMovement.objects.count())
    bad = {"findings": "", "labor_fee": -1, "parts": [{"part_number": "x", "quantity": 0}]}
    response = transition(tech_api, on_bench.ticket_number, "requote", bad)
    assert response.status_code == 400
    fields = {k.split("[")[0].split(".")[0] for k in response.json()["errors"]}
    assert {"findings", "labor_fee", "parts", "reason"} <= fields
    unknown = dict(REQUOTE, parts=[{"part_number": "NOPE-1"}])
    response = transition(tech_api, on_bench.ticket_number, "requote", unknown)
    assert response.status_code == 400 and "parts" in response.json()["errors"]
    nul = dict(REQUOTE, reason="a\x00b")
    assert transition(tech_api, on_bench.ticket_number, "requote", nul).status_code == 400
    assert (RepairEvent.objects.count(), StockMovement.objects.count()) == before
    assert Repair.objects.get(pk=on_bench.pk).state == State.IN_REPAIR


def test_a_rolled_back_requote_leaves_nothing(on_bench, tech, battery):
    counts = (Notification.objects.count(), RepairEvent.objects.count())
    with pytest.raises(RuntimeError), transaction.atomic():
        s.repair_requote(repair=on_bench, actor=tech, **REQUOTE)
        raise RuntimeError("the request failed")
    assert (Notification.objects.count(), RepairEvent.objects.count()) == counts
    repair = Repair.objects.get(pk=on_bench.pk)
    assert repair.state == State.IN_REPAIR and repair.previous_quote_total is None
    assert Reservation.objects.get(repair=on_bench, part=battery).status == "reserved"


def test_a_warranty_repair_records_the_new_quote_and_goes_on(
    make_repair, center, battery, spring, in_warranty, tech, diagnose
):
    stock(center, battery, 1)
    stock(center, spring, 1)
    repair = make_repair(serial_number=in_warranty.serial_number)
    diagnose(repair, "배터리", parts=[{"part_number": "HBS-BATT"}])
    s.repair_start(repair=repair, actor=tech)
    s.repair_requote(repair=repair, actor=tech, **REQUOTE)
    repair = Repair.objects.get(pk=repair.pk)
    assert repair.state == State.READY_TO_REPAIR and repair.previous_quote_total is None
    assert not Notification.objects.filter(repair=repair, kind=NotificationKind.QUOTE).exists()
    assert s.repair_start(repair=repair, actor=tech).state == State.IN_REPAIR


def test_the_pages_show_the_new_quote_and_the_form_keeps_what_was_typed(
    client, on_bench, tech, desk, settings
):
    client.force_login(tech)
    base = f"/tech/repairs/{on_bench.ticket_number}/"
    html = client.get(base).content.decode()
    assert 'id="action-requote"' in html and 'name="qty_HBS-BATT" value="1"' in html
    refused = client.post(base + "transitions/requote/", {"findings": "더 있음", "labor_fee": "-5"})
    page = refused.content.decode()
    assert refused.status_code == 400 and "더 있음" in page  # what was typed is kept
    assert page.count('class="ferr"') >= 2  # labour and reason, each beside its field
    assert Repair.objects.get(pk=on_bench.pk).state == State.IN_REPAIR
    form = {"findings": "기판", "labor_fee": "30000", "reason": "기판 부식", "qty_HBS-BATT": "1"}
    client.post(base + "transitions/requote/", form)
    assert Repair.objects.get(pk=on_bench.pk).state == State.AWAITING_APPROVAL

    client.force_login(desk)
    for lang in ("ko", "en"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
        html = client.get(f"/desk/repairs/{on_bench.ticket_number}/").content.decode()
        assert "25,000 → 45,000" in html and "기판 부식" in html
        assert 'id="action-approve"' in html
        status = client.get(f"/status/t/{on_bench.status_token}/").content.decode()
        assert "25,000 → 45,000" in status and "기판 부식" in status
        assert ("새 견적" if lang == "ko" else "New quote") in status
