"""SCENARIOS.md S1..S8, each walked end to end through the REST API with APIClient."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from service_center.models import Customer
from tests.conftest import stock
from tests.factories import DeviceFactory
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import codes, get, post, transition
from workflows.models import Notification, Promise, Repair

pytestmark = pytest.mark.django_db


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.json()
    return response.json()


def finish_at_the_counter(desk_api, tech_api, ticket: str, pay: int = 0) -> dict:  # noqa: F811
    """ready_to_repair (device here) -> closed, through the owning technician and the desk."""
    ok(transition(tech_api, ticket, "start_repair"))
    ok(transition(tech_api, ticket, "complete", {"work_notes": "done"}))
    ok(transition(desk_api, ticket, "notify_ready_for_pickup"))
    return ok(transition(desk_api, ticket, "hand_over", {"amount_paid": pay}))


def assign_and_diagnose(desk_api, tech_api, ticket: str, diagnosis: dict) -> dict:
    """The desk gives the repair to `tech`, who posts `diagnosis`; the repair's detail after it."""
    ok(transition(desk_api, ticket, "assign", {"technician": "tech"}))
    return ok(transition(tech_api, ticket, "diagnose", diagnosis))


def public_status(client, ticket: str, last4: str = "6789"):
    return post(client, "/public/status/", {"ticket_number": ticket, "phone_last4": last4})


def kinds(ticket: str) -> list[str]:
    return list(
        Notification.objects.filter(repair__ticket_number=ticket)
        .order_by("id")
        .values_list("kind", flat=True)
    )


# --- S1 ------------------------------------------------------------------------------------------


def test_s1_missing_clip_spring_is_invited_only_once_everything_is_settled(
    intake, desk_api, tech_api, anon_api, spring, center, tech
):
    stock(center, spring, 0)
    ticket = intake(intake_channel="phone", device_in_shop=False)
    detail = ok(get(desk_api, f"/repairs/{ticket}/"))
    assert detail["coverage"] == "undetermined"
    # A string in the request's language, as the other labels (Korean by default).
    assert detail["coverage_reason"] == "시리얼 모름 — 보증 여부 확인 필요."
    english = desk_api.get(f"/api/v1/repairs/{ticket}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert "unknown" in english["coverage_reason"].lower()

    parts = [{"part_number": spring.part_number}]
    detail = assign_and_diagnose(
        desk_api, tech_api, ticket, {"findings": "clip spring lost", "parts": parts, "labor_fee": 0}
    )
    assert [(r["part_number"], r["status"]) for r in detail["reservations"]] == [
        (spring.part_number, "waiting")
    ]
    orders = ok(get(desk_api, "/parts-orders/"))["results"]
    assert [(line["part_number"], line["ticket_number"]) for line in orders[0]["lines"]] == [
        (spring.part_number, ticket)
    ]

    # Weeks later the spring arrives and is received.
    ok(post(desk_api, f"/parts-orders/{orders[0]['id']}/transitions/receive/"))
    detail = ok(get(desk_api, f"/repairs/{ticket}/"))
    assert detail["reservations"][0]["status"] == "reserved"

    # The desk tries to invite her in: blocked, and no message goes out.
    before = kinds(ticket)
    response = transition(desk_api, ticket, "invite_for_repair")
    assert response.status_code == 409
    assert response.json()["code"] == "transition_blocked"
    assert {"coverage_undetermined", "quote_not_approved"} <= set(codes(response))
    assert kinds(ticket) == before

    # She finds her registered product by her phone number; she agrees to a paid repair.
    customer = Customer.objects.get(repairs__ticket_number=ticket)
    DeviceFactory(
        serial_number="HBS1100REG1",
        product_model=spring.compatible_models.first(),
        owner=customer,
        purchase_date=timezone.localdate() - dt.timedelta(days=900),
    )
    found = ok(get(desk_api, "/customers/", phone="010-2345-6789"))["results"]
    assert found[0]["devices"][0]["serial_number"] == "HBS1100REG1"
    assert found[0]["devices"][0]["warranty"]["status"] == "expired"
    assert [r["ticket_number"] for r in found[0]["repairs"]] == [ticket]
    ok(
        transition(
            desk_api,
            ticket,
            "set_coverage",
            {"coverage": "paid", "reason": "registered HBS1100REG1, warranty ended"},
        )
    )
    ok(post(anon_api, "/public/approve/", {"ticket_number": ticket, "phone_last4": "6789"}))

    detail = ok(transition(desk_api, ticket, "invite_for_repair"))
    assert detail["promised_price"] == 100
    assert [p["kind"] for p in detail["promises"]] == ["ready_by"]
    assert kinds(ticket).count("invite_for_repair") == 1
    invite = Notification.objects.get(repair__ticket_number=ticket, kind="invite_for_repair")
    assert "100" in invite.body
    assert transition(desk_api, ticket, "invite_for_repair").status_code == 409  # only once

    # At the counter: the same price and promise are on screen; she pays and leaves.
    ok(transition(desk_api, ticket, "check_in_device"))
    detail = ok(get(desk_api, f"/repairs/{ticket}/"))
    assert detail["promised_price"] == 100 and detail["promised_ready_by"]
    closed = finish_at_the_counter(desk_api, tech_api, ticket, pay=100)
    assert closed["state"] == "closed"
    assert closed["technician"]["username"] == "tech"


# --- S2 ------------------------------------------------------------------------------------------


def test_s2_ready_for_pickup_is_blocked_until_complete_and_notifies_once(
    intake, desk_api, tech_api, tech, in_warranty
):
    ticket = intake(serial_number=in_warranty.serial_number, symptom="노트북 화면")
    detail = assign_and_diagnose(desk_api, tech_api, ticket, {"findings": "cable"})
    assert detail["state"] == "ready_to_repair"
    ok(transition(tech_api, ticket, "start_repair"))
    response = transition(desk_api, ticket, "notify_ready_for_pickup")
    assert response.status_code == 409
    assert codes(response) == ["repair_not_complete"]

    ok(transition(tech_api, ticket, "complete", {"work_notes": "cable replaced"}))
    ok(transition(desk_api, ticket, "notify_ready_for_pickup"))
    again = transition(tech_api, ticket, "notify_ready_for_pickup")  # the double click
    assert again.status_code == 409
    assert kinds(ticket).count("ready_for_pickup") == 1
    assert ok(transition(desk_api, ticket, "hand_over", {"amount_paid": 0}))["state"] == "closed"


# --- S3 ------------------------------------------------------------------------------------------


def test_s3_first_come_first_served_and_the_last_one_sees_an_honest_eta(
    intake, desk_api, tech_api, manager_api, anon_api, tech, battery, center, headset
):
    stock(center, battery, 0)
    tickets = []
    for n in range(3):
        device = DeviceFactory(serial_number=f"HBS1100FIFO{n}", product_model=headset)
        ticket = intake(
            serial_number=device.serial_number,
            customer={"name": f"고객{n}", "phone": f"010-2345-678{n}"},
        )
        parts = [{"part_number": battery.part_number}]
        detail = assign_and_diagnose(
            desk_api, tech_api, ticket, {"findings": "battery", "parts": parts}
        )
        assert detail["state"] == "awaiting_parts"
        tickets.append(ticket)
    a, b, c = tickets

    orders = ok(get(desk_api, "/parts-orders/"))["results"]
    order_c = next(o for o in orders if o["lines"][0]["ticket_number"] == c)
    eta = (timezone.localdate() + dt.timedelta(days=5)).isoformat()
    ok(
        post(
            manager_api,  # the warehouse's dispatch is recorded by a manager
            f"/parts-orders/{order_c['id']}/transitions/ship/",
            {"carrier": "CJ", "tracking_number": "WH-1", "eta": eta},
        )
    )

    # Two units arrive.
    ok(
        post(
            manager_api,
            "/stock/adjust/",
            {"part_number": battery.part_number, "delta": 2, "reason": "delivery"},
        )
    )
    states = {t: ok(get(desk_api, f"/repairs/{t}/"))["state"] for t in tickets}
    assert states == {a: "ready_to_repair", b: "ready_to_repair", c: "awaiting_parts"}
    status = ok(public_status(anon_api, c, "6782"))
    assert status["state"] == "awaiting_parts"
    assert status["parts_eta"] == eta
    assert "repair" not in status["state_label"].lower() or "parts" in status["state_label"].lower()

    # A is repaired on the spot and closed (warranty: nothing to pay).
    assert finish_at_the_counter(desk_api, tech_api, a)["state"] == "closed"


# --- S4 ------------------------------------------------------------------------------------------


def test_s4_whoever_answers_sees_every_call_note_promise_and_earlier_repair(
    intake, desk_api, tech_api, other_tech_api, manager_api, tech, in_warranty
):
    earlier = intake(symptom="earlier problem")
    ticket = intake(serial_number=in_warranty.serial_number)
    for n in range(3):
        ok(
            post(
                desk_api,
                f"/repairs/{ticket}/calls/",
                {"text": f"call {n}", "direction": "incoming"},
            ),
            201,
        )
    ok(post(other_tech_api, f"/repairs/{ticket}/notes/", {"text": "looked at it"}), 201)
    due = (timezone.now() + dt.timedelta(days=1)).isoformat()
    ok(post(manager_api, f"/repairs/{ticket}/promises/", {"kind": "callback", "due_at": due}), 201)

    detail = ok(get(tech_api, f"/repairs/{ticket}/"))
    calls = [e for e in detail["timeline"] if e["kind"] == "call"]
    assert [e["text"] for e in calls] == ["call 0", "call 1", "call 2"]
    assert {e["actor_name"] for e in calls} == {"desk"} and all(e["at"] for e in calls)
    assert any(e["kind"] == "note" and e["actor_name"] == "tech2" for e in detail["timeline"])
    assert [p["kind"] for p in detail["promises"]] == ["callback"]
    assert [r["ticket_number"] for r in detail["customer_repairs"]] == [earlier]

    assign_and_diagnose(desk_api, tech_api, ticket, {"findings": "ok"})
    assert finish_at_the_counter(desk_api, tech_api, ticket)["state"] == "closed"


# --- S5 ------------------------------------------------------------------------------------------


def test_s5_the_honest_status_page(intake, desk_api, tech_api, anon_api, tech, spring, center):
    stock(center, spring, 0)
    ticket = intake(intake_channel="phone", device_in_shop=False)
    ok(transition(desk_api, ticket, "assign", {"technician": "tech"}))
    ok(transition(desk_api, ticket, "set_coverage", {"coverage": "paid", "reason": "agreed"}))
    ok(
        transition(
            tech_api,
            ticket,
            "diagnose",
            {
                "findings": "spring",
                "parts": [{"part_number": spring.part_number}],
                "labor_fee": 5000,
            },
        )
    )
    ok(post(desk_api, f"/repairs/{ticket}/notes/", {"text": "internal: customer was rude"}), 201)
    ok(
        post(
            desk_api,
            f"/repairs/{ticket}/notes/",
            {"text": "We will call you when the spring is here.", "customer_visible": True},
        ),
        201,
    )

    response = public_status(anon_api, ticket)
    status = ok(response)
    assert response["Cache-Control"] == "no-store"
    assert status["state_label"] and status["technician_name"] == "tech"
    assert status["next_step"]["code"] == "approve_quote"
    assert status["quote"] == {
        "labor_fee": 5000,
        "parts_total": 100,
        "total": 5100,
        "approved": False,
        "deposit_required": 0,
        "deposit_paid": 0,
        "previous_total": None,  # set by a requote
        "requote_reason": "",
    }
    assert status["phone"] == "010-****-6789"
    labels = [item["label"] for item in status["timeline"]]
    assert "We will call you when the spring is here." in labels
    assert not any("rude" in label for label in labels)
    assert "6789" not in str(status["timeline"]) and "status_token" not in status

    wrong_phone = public_status(anon_api, ticket, "6788")
    unknown = public_status(anon_api, "GN-2611-ZZZZZZ")
    assert wrong_phone.status_code == unknown.status_code == 404
    assert wrong_phone.json() == unknown.json()

    # She approves online; the parts then arrive; the repair goes ahead at the counter.
    ok(post(anon_api, "/public/approve/", {"ticket_number": ticket, "phone_last4": "6789"}))
    order = ok(get(desk_api, "/parts-orders/"))["results"][0]
    ok(
        post(
            desk_api,
            f"/parts-orders/{order['id']}/transitions/receive/",
            {"lines": [{"part_number": spring.part_number, "quantity": 1}]},
        )
    )
    ok(transition(desk_api, ticket, "invite_for_repair"))
    assert ok(public_status(anon_api, ticket))["next_step"]["code"] == "bring_device"
    ok(transition(desk_api, ticket, "check_in_device"))
    assert finish_at_the_counter(desk_api, tech_api, ticket, pay=5100)["state"] == "closed"


def test_s5_a_hundred_wrong_guesses_from_one_address_are_throttled(anon_api, intake, settings):
    ticket = intake()
    answers = [
        post(
            anon_api,
            "/public/status/",
            {"ticket_number": f"GN-2611-X{n:05d}", "phone_last4": "0000"},
        ).status_code
        for n in range(100)
    ]
    assert (
        answers[: settings.PUBLIC_LOOKUP_RATE_PER_IP] == [404] * settings.PUBLIC_LOOKUP_RATE_PER_IP
    )
    assert set(answers[settings.PUBLIC_LOOKUP_RATE_PER_IP :]) == {429}
    throttled = public_status(anon_api, ticket)  # even the right answer waits now
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) >= 1


# --- S6 ------------------------------------------------------------------------------------------


def test_s6_courier_return_ships_with_tracking_shown_on_the_status_page(
    intake, desk_api, tech_api, anon_api, tech, in_warranty
):
    ticket = intake(serial_number=in_warranty.serial_number)
    ok(transition(desk_api, ticket, "assign", {"technician": "tech"}))
    ok(
        post(
            anon_api,
            "/public/courier-return/",
            {
                "ticket_number": ticket,
                "phone_last4": "6789",
                "recipient_name": "김민지",
                "address": "서울특별시 서초구 반포대로 1",
            },
        )
    )
    ok(transition(tech_api, ticket, "diagnose", {"findings": "ok"}))
    ok(transition(tech_api, ticket, "start_repair"))
    ok(transition(tech_api, ticket, "complete"))

    assert "tracking_missing" in codes(transition(desk_api, ticket, "ship"))
    assert "wrong_return_method" in codes(transition(desk_api, ticket, "notify_ready_for_pickup"))
    shipped = ok(
        transition(
            desk_api, ticket, "ship", {"carrier": "CJ대한통운", "tracking_number": "6012-3456-7890"}
        )
    )
    assert shipped["state"] == "shipped"
    status = ok(public_status(anon_api, ticket))
    assert (status["carrier"], status["tracking_number"]) == ("CJ대한통운", "6012-3456-7890")
    assert any("6012-3456-7890" in item["label"] for item in status["timeline"])
    assert ok(transition(desk_api, ticket, "confirm_delivery"))["state"] == "closed"


def test_s6_shipping_without_an_address_is_blocked(intake, desk_api, tech_api, tech, in_warranty):
    ticket = intake(serial_number=in_warranty.serial_number, return_method="courier")
    assign_and_diagnose(desk_api, tech_api, ticket, {"findings": "ok"})
    ok(transition(tech_api, ticket, "start_repair"))
    ok(transition(tech_api, ticket, "complete"))
    response = transition(desk_api, ticket, "ship", {"carrier": "CJ", "tracking_number": "1"})
    assert response.status_code == 409 and codes(response) == ["address_missing"]
    ok(
        post(
            desk_api,
            f"/repairs/{ticket}/courier-return/",
            {"recipient_name": "김민지", "address": "서울 서초구 1"},
        )
    )
    shipped = ok(transition(desk_api, ticket, "ship", {"carrier": "CJ", "tracking_number": "1"}))
    assert shipped["state"] == "shipped"


# --- S7 ------------------------------------------------------------------------------------------


def test_s7_an_overdue_promise_tops_the_board_until_the_call_is_recorded(
    intake, desk_api, tech_api, tech, in_warranty
):
    ticket = intake(serial_number=in_warranty.serial_number)
    newer = intake()  # newer, so first without the overdue promise
    ok(transition(desk_api, ticket, "assign", {"technician": "tech"}))
    tomorrow = (timezone.now() + dt.timedelta(days=1)).isoformat()
    promise = ok(
        post(
            tech_api,
            f"/repairs/{ticket}/promises/",
            {"kind": "callback", "due_at": tomorrow, "note": "call back"},
        ),
        201,
    )
    assert ok(get(desk_api, "/repairs/", overdue="true"))["count"] == 0
    assert ok(get(desk_api, "/repairs/"))["results"][0]["ticket_number"] == newer

    # Tomorrow comes and nobody called.
    Promise.objects.filter(pk=promise["id"]).update(due_at=timezone.now() - dt.timedelta(hours=1))
    board = ok(get(desk_api, "/repairs/"))["results"]
    assert board[0]["ticket_number"] == ticket and board[0]["has_overdue_promise"] is True
    assert [
        r["ticket_number"] for r in ok(get(desk_api, "/repairs/", overdue="true"))["results"]
    ] == [ticket]

    ok(post(desk_api, f"/repairs/{ticket}/calls/", {"text": "called back"}), 201)
    assert ok(get(desk_api, "/repairs/", overdue="true"))["count"] == 0
    ok(transition(tech_api, ticket, "diagnose", {"findings": "ok"}))
    assert finish_at_the_counter(desk_api, tech_api, ticket)["state"] == "closed"


# --- S8 ------------------------------------------------------------------------------------------


def test_s8_coverage_is_decided_at_intake_and_changed_only_by_a_manager_with_a_reason(
    intake, desk_api, tech_api, manager_api, anon_api, tech, in_warranty, expired, parallel
):
    coverage = {
        d.serial_number: ok(get(desk_api, f"/repairs/{intake(serial_number=d.serial_number)}/"))[
            "coverage"
        ]
        for d in (in_warranty, expired, parallel)
    }
    assert coverage == {
        in_warranty.serial_number: "warranty",
        expired.serial_number: "paid",
        parallel.serial_number: "paid",
    }

    ticket = intake(
        serial_number=expired.serial_number, customer={"name": "이영희", "phone": "010-9876-5432"}
    )
    assign_and_diagnose(desk_api, tech_api, ticket, {"findings": "hinge", "labor_fee": 30000})
    ok(transition(desk_api, ticket, "approve"))

    at_counter = transition(
        desk_api, ticket, "set_coverage", {"coverage": "warranty", "reason": "customer insists"}
    )
    assert at_counter.status_code == 403
    no_reason = transition(manager_api, ticket, "set_coverage", {"coverage": "warranty"})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    detail = ok(
        transition(
            manager_api,
            ticket,
            "set_coverage",
            {"coverage": "warranty", "reason": "receipt shows purchase 3 months ago"},
        )
    )
    assert detail["coverage"] == "warranty"
    change = [e for e in detail["timeline"] if e["kind"] == "coverage_change"]
    assert change and change[0]["actor_name"] == "manager"
    assert "receipt" in change[0]["text"]
    assert kinds(ticket).count("coverage_changed") == 1
    status = ok(public_status(anon_api, ticket, "5432"))
    assert any("receipt shows purchase" in item["label"] for item in status["timeline"])
    assert Repair.objects.get(ticket_number=ticket).amount_due == 0

    assert ok(transition(tech_api, ticket, "start_repair"))["state"] == "in_repair"
    ok(transition(tech_api, ticket, "complete"))
    ok(transition(desk_api, ticket, "notify_ready_for_pickup"))
    assert ok(transition(desk_api, ticket, "hand_over"))["state"] == "closed"
