"""The repair page says only what is true at its stage: the ready panel, the side panel's
buttons, one-way steps confirmed, work notes and the receipt link (issue 12's page defects)."""

import re

import pytest

from tests.test_api_support import client_for, transition
from workflows import services as s


def _page(client, user, repair, area="desk") -> str:
    client.force_login(user)
    response = client.get(f"/{area}/repairs/{repair.ticket_number}/")
    assert response.status_code == 200
    return response.content.decode()


def _readiness(html: str) -> str:
    match = re.search(r'<section class="panel" id="readiness">(.*?)</section>', html, re.S)
    assert match
    return match.group(1)


def _actions(html: str) -> str:
    match = re.search(r'<section class="panel" id="actions">(.*?)</section>', html, re.S)
    assert match
    return match.group(1)


ON_THE_SPOT = "served on the spot"


@pytest.fixture
def repaired(make_repair, in_warranty, diagnose, desk, tech):
    """A warranty repair: nothing to approve, so the gate's checks all pass early on."""

    def make(**fields):
        repair = make_repair(serial_number=in_warranty.serial_number, **fields)
        diagnose(repair, "스프링 교체")
        s.repair_start(repair=repair, actor=tech)
        return s.repair_complete(repair=repair, actor=tech, work_notes="스프링 교체, 납땜 보강")

    return make


def test_a_warranty_repair_in_diagnosis_is_not_said_to_be_ready(
    client, desk, make_repair, in_warranty, tech
):
    repair = make_repair(serial_number=in_warranty.serial_number)
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    client.cookies["django_language"] = "en"
    panel = _readiness(_page(client, desk, repair))
    assert ON_THE_SPOT not in panel
    assert 'data-stage="before_quote"' in panel


def test_a_ready_warranty_repair_is_said_to_be_ready(client, desk, make_repair, in_warranty, tech):
    repair = make_repair(serial_number=in_warranty.serial_number, device_in_shop=False)
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    s.repair_diagnose(repair=repair, actor=tech, findings="스프링", parts=None, labor_fee=0)
    repair.refresh_from_db()
    assert repair.state == "ready_to_repair"
    client.cookies["django_language"] = "en"
    assert ON_THE_SPOT in _readiness(_page(client, desk, repair))


def test_a_closed_repair_is_not_ready_and_lists_no_disabled_action(client, desk, repaired, tech):
    repair = repaired()
    s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
    s.repair_hand_over(repair=repair, actor=desk)
    repair.refresh_from_db()
    assert repair.state == "closed"
    client.cookies["django_language"] = "en"
    html = _page(client, desk, repair)
    assert ON_THE_SPOT not in _readiness(html)
    assert 'data-stage="closed"' in _readiness(html)
    actions = _actions(html)
    assert "disabled" not in actions
    assert "blocked-action" not in actions


def test_ship_is_not_listed_on_a_pickup_repair_nor_pickup_on_a_courier_one(client, desk, repaired):
    pickup = _actions(_page(client, desk, repaired()))
    assert 'data-action="ship"' not in pickup
    assert 'data-action="notify_ready_for_pickup"' in pickup
    courier = repaired(return_method="courier", courier_address="서울 서초구 1")
    actions = _actions(_page(client, desk, courier))
    assert 'data-action="notify_ready_for_pickup"' not in actions
    assert 'data-action="ship"' in actions


def test_a_blocked_step_the_staff_can_clear_stays_listed_with_its_reason(
    client, desk, make_repair, tech
):
    repair = make_repair()  # coverage undetermined: invite is blocked until the desk settles it
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    actions = _actions(_page(client, desk, repair))
    assert 'id="blocked-invite_for_repair"' in actions
    assert 'data-code="coverage_undetermined"' in actions


def test_the_ship_error_is_shown_once(client, desk, repaired):
    repair = repaired(return_method="courier", courier_address="서울 서초구 1")
    client.force_login(desk)
    client.cookies["django_language"] = "en"
    url = f"/desk/repairs/{repair.ticket_number}/transitions/ship/"
    response = client.post(url, {"carrier": "", "tracking_number": ""})
    assert response.status_code in (400, 409)
    html = response.content.decode()
    assert html.count("Enter the carrier and the tracking number.") == 1
    repair.refresh_from_db()
    assert repair.state == "repaired"


@pytest.mark.parametrize("language", ["ko", "en"])
def test_handing_over_without_ticking_confirm_is_refused_beside_the_box(
    client, desk, repaired, language
):
    repair = repaired()
    s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
    client.force_login(desk)
    client.cookies["django_language"] = language
    url = f"/desk/repairs/{repair.ticket_number}/transitions/hand_over/"
    response = client.post(url, {"amount_paid": "0"})
    assert response.status_code == 400
    html = response.content.decode()
    box = re.search(r'<label class="confirm small">.*?</label>(.*?)<button', html, re.S)
    assert box, "the confirm box is not on the refused form"
    expected = "확인란" if language == "ko" else "Tick the box to confirm"
    assert expected in box.group(1)
    assert 'value="0"' in html  # what was typed is kept
    repair.refresh_from_db()
    assert repair.state == "ready_for_pickup"
    done = client.post(url, {"amount_paid": "0", "confirm": "1"})
    assert done.status_code == 302
    repair.refresh_from_db()
    assert repair.state == "closed"


def test_an_unconfirmed_cancel_names_the_missing_reason_and_the_box_at_once(
    client, desk, make_repair
):
    repair = make_repair(device_in_shop=False)
    client.force_login(desk)
    client.cookies["django_language"] = "en"
    response = client.post(f"/desk/repairs/{repair.ticket_number}/transitions/cancel/", {})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Tick the box to confirm" in html
    assert html.count('class="ferr"') >= 2  # the reason's error too
    repair.refresh_from_db()
    assert repair.state == "received"


def test_approving_for_the_customer_needs_the_box(client, desk, make_repair, expired, diagnose):
    repair = diagnose(make_repair(serial_number=expired.serial_number), "배터리", labor_fee=5000)
    assert repair.state == "awaiting_approval"
    html = _page(client, desk, repair)
    form = re.search(r'<form[^>]*id="action-approve">(.*?)</form>', html, re.S).group(1)
    assert 'type="checkbox" name="confirm" value="1" required' in form
    url = f"/desk/repairs/{repair.ticket_number}/transitions/approve/"
    assert client.post(url, {}).status_code == 400
    repair.refresh_from_db()
    assert repair.quote_approved_at is None
    assert client.post(url, {"confirm": "1"}).status_code == 302
    repair.refresh_from_db()
    assert repair.quote_approved_at is not None


def test_the_api_takes_one_way_steps_without_a_confirm_field(desk, repaired):
    repair = repaired()
    s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
    answer = transition(client_for(desk), repair.ticket_number, "hand_over", {})
    assert answer.status_code == 200, answer.content


def test_work_notes_show_on_the_desk_and_tech_pages_but_not_to_the_customer(
    client, desk, tech, repaired
):
    repair = repaired()
    assert "납땜 보강" in _page(client, desk, repair)
    assert "납땜 보강" in _page(client, tech, repair, area="tech")
    client.logout()
    status = client.get(f"/status/t/{repair.status_token}/").content.decode()
    assert "납땜 보강" not in status


def test_the_80mm_receipt_is_linked_beside_the_claim_ticket(client, desk, make_repair):
    repair = make_repair()
    html = _page(client, desk, repair)
    head = re.search(r'<div class="headlinks">(.*?)</div>', html, re.S).group(1)
    assert f"/api/v1/repairs/{repair.ticket_number}/claim-ticket.pdf?variant=receipt" in head
    receipt = client.get(f"/api/v1/repairs/{repair.ticket_number}/claim-ticket.pdf?variant=receipt")
    assert receipt.status_code == 200
    assert receipt.content[:4] == b"%PDF"
