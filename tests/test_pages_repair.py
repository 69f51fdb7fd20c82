"""The repair page: blockers beside disabled buttons, inputs asked for, one-click calls, notes."""

import re

import pytest

from tests.conftest import stock
from workflows import services as s
from workflows.models import RepairEvent


@pytest.fixture
def spring_on_order(make_repair, desk, tech, spring, center, diagnose):
    """S1: phoned in, serial unknown, the spring on order."""
    stock(center, spring, 0)
    repair = make_repair(intake_channel="phone", device_in_shop=False)
    return diagnose(repair, "스프링 교체", parts=[{"part_number": spring.part_number}], labor_fee=0)


def _blocked(html: str, name: str) -> str:
    match = re.search(rf'<div class="blocked-action" id="blocked-{name}">(.*?)</div>', html, re.S)
    assert match, f"{name} is not shown as blocked"
    return match.group(1)


def test_the_invite_button_is_disabled_with_its_reasons_in_plain_words(
    client, desk, spring_on_order
):
    client.force_login(desk)
    html = client.get(f"/desk/repairs/{spring_on_order.ticket_number}/").content.decode()
    blocked = _blocked(html, "invite_for_repair")
    assert "disabled" in blocked
    assert 'data-code="coverage_undetermined"' in blocked
    assert 'data-code="quote_not_approved"' in blocked
    assert "보증 여부" in blocked  # the Korean message, not the code
    assert f"/api/v1/repairs/{spring_on_order.ticket_number}/claim-ticket.pdf" in html


def test_a_balance_due_keeps_hand_over_enabled_and_asks_for_the_payment(
    client, desk, tech, make_repair, expired, battery, center, diagnose
):
    stock(center, battery, 1)
    repair = make_repair(serial_number=expired.serial_number)
    diagnose(repair, "배터리", parts=[{"part_number": battery.part_number}], labor_fee=5000)
    s.repair_approve(repair=repair, actor=desk)
    s.repair_start(repair=repair, actor=tech)
    s.repair_complete(repair=repair, actor=tech)
    s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
    client.force_login(desk)
    html = client.get(f"/desk/repairs/{repair.ticket_number}/").content.decode()
    assert 'id="action-hand_over"' in html
    assert 'name="amount_paid" type="number" min="0" value="20000"' in html
    url = f"/desk/repairs/{repair.ticket_number}/transitions/hand_over/"
    short = client.post(url, {"amount_paid": "1000", "confirm": "1"})
    assert short.status_code == 409
    assert 'value="1000"' in short.content.decode()  # what the clerk typed is still there
    paid = client.post(url, {"amount_paid": "20000", "confirm": "1"})
    assert paid.status_code == 302
    repair.refresh_from_db()
    assert repair.state == "closed"


def test_a_transition_error_is_shown_beside_the_field_keeping_the_input(
    client, desk, spring_on_order
):
    client.force_login(desk)
    url = f"/desk/repairs/{spring_on_order.ticket_number}/transitions/set_coverage/"
    response = client.post(url, {"coverage": "paid", "reason": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert '<details class="action" id="details-set_coverage" open>' in html
    assert '<option value="paid" selected>' in html
    spring_on_order.refresh_from_db()
    assert spring_on_order.coverage == "undetermined"


def test_settling_coverage_and_approving_enables_the_invite(client, desk, spring_on_order, center):
    from parts.models import PartsOrder
    from workflows.services import parts_order_receive

    parts_order_receive(order_id=PartsOrder.objects.get().pk)
    client.force_login(desk)
    base = f"/desk/repairs/{spring_on_order.ticket_number}/"
    client.post(base + "transitions/set_coverage/", {"coverage": "paid", "reason": "유상 합의"})
    client.post(base + "transitions/approve/", {"confirm": "1"})
    html = client.get(base).content.decode()
    assert 'id="action-invite_for_repair"' in html
    assert 'id="blocked-invite_for_repair"' not in html


def test_a_call_is_recorded_in_one_click(client, desk, spring_on_order):
    client.force_login(desk)
    response = client.post(f"/desk/repairs/{spring_on_order.ticket_number}/call/", {"text": ""})
    assert response.status_code == 302
    call = RepairEvent.objects.get(repair=spring_on_order, kind="call")
    assert call.actor == desk
    html = client.get(f"/desk/repairs/{spring_on_order.ticket_number}/").content.decode()
    assert call.text in html


def test_an_empty_note_is_refused_beside_the_note_field(client, desk, spring_on_order):
    client.force_login(desk)
    response = client.post(f"/desk/repairs/{spring_on_order.ticket_number}/note/", {"text": "  "})
    assert response.status_code == 400
    assert "필수" in response.content.decode()


def test_the_technician_diagnoses_with_compatible_parts_and_their_stock(
    client, desk, tech, make_repair, spring, battery, center
):
    stock(center, battery, 2)
    repair = make_repair()
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    client.force_login(tech)
    html = client.get(f"/tech/repairs/{repair.ticket_number}/").content.decode()
    assert 'name="qty_CLIP-SPRING-01"' in html and 'name="qty_HBS-BATT"' in html
    response = client.post(
        f"/tech/repairs/{repair.ticket_number}/transitions/diagnose/",
        {"findings": "스프링", "qty_CLIP-SPRING-01": "1", "qty_HBS-BATT": "", "labor_fee": "0"},
    )
    assert response.status_code == 302 and response["Location"].startswith("/tech/repairs/")
    repair.refresh_from_db()
    assert repair.state == "awaiting_approval"
    assert [r.status for r in repair.reservations.all()] == ["waiting"]
