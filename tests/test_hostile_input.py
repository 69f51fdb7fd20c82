"""Hostile and careless input, sent where it comes in: an API post or a page form. Each is a 400
naming the field, changes nothing, and is never a 500 (on PostgreSQL too, NUL bytes included).

The input of every action is declared once (workflows/inputs.py, the registry's fields) and
checked once, at the edge, by the API view and the page view alike; the services take typed
values and check only what needs the database (workflows' own rules: an unknown part or model,
an overpayment, the state, the role).
"""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from parts import services as parts_services
from parts.models import PartsOrder, Stock
from service_center.services import device_register
from tests.conftest import stock
from tests.factories import PartFactory, ProductModelFactory
from tests.hostile_support import (
    TEN_THOUSAND,
    intake_refused_by_page,
    raw_refused_by_api,
    refused_by_api,
    snapshot,
    transition_refused_by_page,
)
from tests.test_api_support import INTAKE, client_for, post
from workflows import services as s
from workflows.choices import Coverage, State
from workflows.models import Repair

pytestmark = pytest.mark.django_db


def refused(call, field: str, **kwargs) -> None:
    """`call(**kwargs)` raises ValidationFailed naming `field`, and no row changed (for the
    lower layers' services, which still check their own input)."""
    from core.errors import ValidationFailed

    before = snapshot()
    with pytest.raises(ValidationFailed) as caught:
        call(**kwargs)
    assert field in caught.value.errors, caught.value.errors
    assert snapshot() == before


# --- intake ---------------------------------------------------------------------------------

CUSTOMER = INTAKE["customer"]
INTAKE_JUNK = [
    ({"symptom": "스프링\x00빠짐"}, "symptom"),
    ({"symptom": "escape \x1b[31m red"}, "symptom"),
    ({"symptom": "가" * 2001}, "symptom"),
    ({"symptom": "   "}, "symptom"),
    ({"symptom": ["not", "text"]}, "symptom"),
    ({"serial_number": "HBS1100\x00K7Q2"}, "serial_number"),
    ({"serial_number": TEN_THOUSAND}, "serial_number"),
    ({"serial_number": "HBS#1100"}, "serial_number"),
    ({"serial_number": "AB"}, "serial_number"),
    ({"serial_number": 12345678}, "serial_number"),
    ({"customer": "김민지 010-2345-6789"}, "customer"),
    ({"customer": ["김민지", "010-2345-6789"]}, "customer"),
    ({"customer": None}, "customer"),
    ({"customer": {"name": "김\x00민지", "phone": "010-2345-6789"}}, "customer.name"),
    ({"customer": {"name": TEN_THOUSAND, "phone": "010-2345-6789"}}, "customer.name"),
    ({"customer": {"name": "김민지", "phone": "not a phone"}}, "customer.phone"),
    ({"customer": {"name": "김민지", "phone": "1" * 10_000}}, "customer.phone"),
    ({"customer": {"name": "김민지"}}, "customer.phone"),
    ({"customer": {**CUSTOMER, "email": "x y"}}, "customer.email"),
    ({"product_model": "NO-SUCH-MODEL"}, "product_model"),
    ({"product_model": TEN_THOUSAND}, "product_model"),
    ({"product_model": None}, "product_model"),
    ({"intake_channel": "carrier pigeon"}, "intake_channel"),
    ({"return_method": ["pickup"]}, "return_method"),
    ({"device_in_shop": "maybe"}, "device_in_shop"),
    ({"accessories": "충전기\x00"}, "accessories"),
    ({"courier_address": "주소" * 200}, "courier_address"),
]


@pytest.mark.parametrize(("fields", "field"), INTAKE_JUNK)
def test_the_api_refuses_a_hostile_intake_and_takes_nothing_in(desk, headset, fields, field):
    refused_by_api(desk, "/repairs/", {**INTAKE, **fields}, field)


INTAKE_FORM = {
    "customer_name": "김민지",
    "customer_phone": "010-2345-6789",
    "customer_email": "",
    "customer_address": "",
    "serial_number": "",
    "product_model": "HBS-1100",
    "symptom": "클립 스프링이 빠졌어요",
    "accessories": "",
    "intake_channel": "walk_in",
    "device_in_shop": "on",
    "return_method": "pickup",
    "courier_address": "",
}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"symptom": "스프링\x00빠짐"}, "symptom"),
        ({"symptom": "가" * 2001}, "symptom"),
        ({"symptom": "   "}, "symptom"),
        ({"serial_number": TEN_THOUSAND}, "serial_number"),
        ({"serial_number": "HBS#1100"}, "serial_number"),
        ({"customer_name": TEN_THOUSAND}, "customer_name"),
        ({"customer_phone": "not a phone"}, "customer_phone"),
        ({"customer_email": "x y"}, "customer_email"),
        ({"product_model": "NO-SUCH-MODEL"}, "product_model"),
        ({"intake_channel": "carrier pigeon"}, "intake_channel"),
        ({"courier_address": "주소" * 200}, "courier_address"),
    ],
)
def test_the_intake_form_refuses_hostile_input_beside_the_field(
    client, desk, headset, fields, field
):
    client.force_login(desk)

    intake_refused_by_page(client, {**INTAKE_FORM, **fields}, field)


def test_the_intake_form_shows_every_bad_field_at_once(client, desk, headset):
    client.force_login(desk)
    bad = {
        "customer_name": "",
        "customer_phone": "12345",
        "customer_email": "no-at-sign",
        "serial_number": "AB",
        "symptom": "",
        "intake_channel": "carrier pigeon",
    }

    html = intake_refused_by_page(client, {**INTAKE_FORM, **bad}, *bad)

    assert html.count('role="alert"') >= len(bad)


@pytest.mark.parametrize(
    "spelling", ["ＨＢＳ１１００Ｋ７Ｑ２", "hbs1100k7q2", "hbs-1100 k7q2", "HBS‐1100‐K7Q2"]
)
def test_intake_finds_the_registered_serial_however_it_is_typed(desk, in_warranty, spelling):
    response = post(client_for(desk), "/repairs/", {**INTAKE, "serial_number": spelling})

    assert response.status_code == 201, response.json()
    repair = Repair.objects.get(ticket_number=response.json()["ticket_number"])
    assert repair.device == in_warranty
    assert repair.reported_serial == "HBS1100K7Q2"
    assert repair.coverage == Coverage.WARRANTY


# --- the serial registry (service_center checks its own input) ------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"serial_number": "ＨＢＳ１１００Ｋ７Ｑ２"}, "serial_number"),  # full-width duplicate
        ({"serial_number": "hbs1100k7q2"}, "serial_number"),  # lower-case duplicate
        ({"serial_number": " HBS-1100-K7Q2 "}, "serial_number"),  # dashes and spaces
        ({"serial_number": "NEW\x00SERIAL"}, "serial_number"),
        ({"serial_number": TEN_THOUSAND}, "serial_number"),
        ({"serial_number": "X" * 41}, "serial_number"),
        ({"serial_number": ""}, "serial_number"),
        ({"serial_number": None}, "serial_number"),
        ({"product_model": "NO-SUCH-MODEL"}, "product_model"),
        ({"purchase_date": "2024-13-45"}, "purchase_date"),
        ({"purchase_date": "yesterday"}, "purchase_date"),
        ({"purchase_date": "1899-01-01"}, "purchase_date"),
        ({"purchase_date": f"{dt.date.today() + dt.timedelta(days=30)}"}, "purchase_date"),
        ({"channel": "grey_market"}, "channel"),
    ],
)
def test_registering_a_bad_or_duplicate_serial_changes_nothing(in_warranty, headset, fields, field):
    data = {
        "serial_number": "NEWSERIAL01",
        "product_model": headset.code,
        "purchase_date": "2025-01-15",
        "channel": "official",
    }
    data.update(fields)

    refused(device_register, field, **data)


# --- diagnose -------------------------------------------------------------------------------


@pytest.fixture
def diagnosing(make_repair, desk, tech, center, battery, spring, expired):
    stock(center, battery, 5)
    repair = make_repair(serial_number=expired.serial_number)
    return s.repair_assign(repair=repair, actor=desk, technician=tech)


@pytest.fixture
def other_models_part(db):
    laptop = ProductModelFactory(code="NB-15X")
    return PartFactory(part_number="NB-KEYBOARD", unit_price=89000, compatible_models=[laptop])


def transition_path(repair: Repair, name: str) -> str:
    return f"/repairs/{repair.ticket_number}/transitions/{name}/"


DIAGNOSIS = {"findings": "배터리 교체", "parts": [{"part_number": "HBS-BATT"}], "labor_fee": 10000}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"labor_fee": -1}, "labor_fee"),
        ({"labor_fee": True}, "labor_fee"),
        ({"labor_fee": 10**12}, "labor_fee"),
        ({"labor_fee": 1.5}, "labor_fee"),
        ({"labor_fee": "1e9"}, "labor_fee"),
        ({"labor_fee": "-500"}, "labor_fee"),
        ({"labor_fee": "9" * 10_000}, "labor_fee"),
        ({"labor_fee": 99_999_000}, "labor_fee"),  # with the battery, more than can be charged
        ({"findings": "\x00"}, "findings"),
        ({"findings": "가" * 4001}, "findings"),
        ({"parts": [{"part_number": "NO-SUCH-PART"}]}, "parts"),
        ({"parts": [{"part_number": "HBS-BATT"}, {"part_number": "nope"}]}, "parts"),
        ({"parts": [{"part_number": "NB-KEYBOARD"}]}, "parts"),  # for another model
        ({"parts": [{"part_number": "HBS-BATT", "quantity": 0}]}, "parts"),
        ({"parts": [{"part_number": "HBS-BATT", "quantity": -1}]}, "parts"),
        ({"parts": [{"part_number": "HBS-BATT", "quantity": True}]}, "parts"),
        ({"parts": [{"part_number": "HBS-BATT", "quantity": 100}]}, "parts"),
        ({"parts": [{"part_number": "HBS-BATT", "quantity": "٣"}]}, "parts"),
        ({"parts": [{"part_number": "HBS\x00BATT"}]}, "parts"),
        ({"parts": [{"part_number": TEN_THOUSAND}]}, "parts"),
        ({"parts": [{}]}, "parts"),
        ({"parts": ["HBS-BATT"]}, "parts"),
        ({"parts": "HBS-BATT"}, "parts"),
        ({"parts": {"part_number": "HBS-BATT"}}, "parts"),
        ({"parts": [{"part_number": "HBS-BATT"}] * 31}, "parts"),
    ],
)
def test_the_api_refuses_a_hostile_diagnosis_and_reserves_nothing(
    diagnosing, tech, other_models_part, fields, field
):
    refused_by_api(tech, transition_path(diagnosing, "diagnose"), {**DIAGNOSIS, **fields}, field)


@pytest.mark.parametrize(
    ("raw", "field"),
    [(b'{"findings": "x", "labor_fee": NaN}', ""), (b'{"labor_fee": 1e999}', "labor_fee")],
)
def test_a_labour_fee_that_is_not_a_number_is_refused(diagnosing, tech, raw, field):
    raw_refused_by_api(tech, transition_path(diagnosing, "diagnose"), raw, field)


def test_the_diagnose_form_shows_every_bad_field_at_once(client, diagnosing, tech):
    client.force_login(tech)
    form = {"findings": "", "qty_HBS-BATT": "0.5", "labor_fee": "lots"}
    path = f"/tech/repairs/{diagnosing.ticket_number}/transitions/diagnose/"

    html = transition_refused_by_page(
        client, path, form, "diagnose", "findings", "parts", "labor_fee"
    )

    assert 'value="0.5"' in html and 'value="lots"' in html


# --- money at the desk ----------------------------------------------------------------------


@pytest.fixture
def awaiting_approval(diagnosing, tech):
    return s.repair_diagnose(repair=diagnosing, actor=tech, **DIAGNOSIS)


@pytest.mark.parametrize("amount", [0, -100, True, 10**12, "lots", None, [1000], 99.5])
def test_a_deposit_must_be_a_sensible_amount(awaiting_approval, desk, amount):
    path = transition_path(awaiting_approval, "record_deposit")

    refused_by_api(desk, path, {"amount": amount}, "amount")


@pytest.mark.parametrize("amount", ["0", "-100", "lots", "", "²"])
def test_the_deposit_form_refuses_a_nonsense_amount(client, awaiting_approval, desk, amount):
    client.force_login(desk)
    path = f"/desk/repairs/{awaiting_approval.ticket_number}/transitions/record_deposit/"

    transition_refused_by_page(client, path, {"amount": amount}, "record_deposit", "amount")


@pytest.fixture
def at_the_counter(awaiting_approval, desk, tech):
    s.repair_approve(repair=awaiting_approval, actor=desk)
    s.repair_start(repair=awaiting_approval, actor=tech)
    s.repair_complete(repair=awaiting_approval, actor=tech)
    return s.repair_notify_ready_for_pickup(repair=awaiting_approval, actor=desk)


@pytest.mark.parametrize("amount", [-1, True, False, 10**12, "25,000", {"won": 1}, "٢٥"])
def test_hand_over_refuses_a_nonsense_payment(at_the_counter, desk, amount):
    path = transition_path(at_the_counter, "hand_over")

    refused_by_api(desk, path, {"amount_paid": amount}, "amount_paid")


def test_hand_over_refuses_infinity(at_the_counter, desk):
    path = transition_path(at_the_counter, "hand_over")

    raw_refused_by_api(desk, path, b'{"amount_paid": 1e999}', "amount_paid")


def test_hand_over_refuses_more_than_is_due_at_the_api_and_on_the_page(
    client, at_the_counter, desk
):
    assert at_the_counter.balance_due == 25000
    path = transition_path(at_the_counter, "hand_over")

    refused_by_api(desk, path, {"amount_paid": 25001}, "amount_paid", code="overpayment")
    client.force_login(desk)
    page = f"/desk/repairs/{at_the_counter.ticket_number}/transitions/hand_over/"
    form = {"amount_paid": "25001", "method": "card", "confirm": "1"}
    transition_refused_by_page(client, page, form, "hand_over", "amount_paid")


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"amount": "lots", "method": "cash"}, ["amount"]),
        ({"amount": 0, "method": "cash"}, ["amount"]),
        ({"amount": 10**12, "method": "cash"}, ["amount"]),
        ({"amount": 1000, "method": "bitcoin"}, ["method"]),
        ({"amount": 1000}, ["method"]),
        ({"amount": -5, "method": "gold"}, ["amount", "method"]),
    ],
)
def test_a_payment_is_refused_at_the_api_naming_every_bad_field(
    awaiting_approval, desk, data, fields
):
    refused_by_api(desk, f"/repairs/{awaiting_approval.ticket_number}/payments/", data, *fields)


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"amount": 1000, "method": "cash", "reason": ""}, ["reason"]),
        ({"amount": 1000, "method": "cash", "reason": "\x00"}, ["reason"]),
        ({"amount": 1000, "method": "cash", "reason": TEN_THOUSAND}, ["reason"]),
        ({"amount": "x", "method": "x", "reason": ""}, ["amount", "method", "reason"]),
    ],
)
def test_a_refund_is_refused_at_the_api_naming_every_bad_field(at_the_counter, desk, data, fields):
    refused_by_api(desk, f"/repairs/{at_the_counter.ticket_number}/refunds/", data, *fields)


# --- coverage, assignment, check-in ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"coverage": "free"}, "coverage"),
        ({"coverage": None}, "coverage"),
        ({"coverage": "paid"}, "coverage"),  # it already is
        ({"reason": ""}, "reason"),
        ({"reason": "\x00"}, "reason"),
        ({"reason": TEN_THOUSAND}, "reason"),
    ],
)
def test_set_coverage_refuses_hostile_input(awaiting_approval, desk, fields, field):
    data = {"coverage": "warranty", "reason": "영수증 확인", **fields}

    refused_by_api(desk, transition_path(awaiting_approval, "set_coverage"), data, field)


def test_the_coverage_form_shows_every_bad_field_at_once(client, awaiting_approval, desk):
    client.force_login(desk)
    path = f"/desk/repairs/{awaiting_approval.ticket_number}/transitions/set_coverage/"
    form = {"coverage": "free", "reason": ""}

    transition_refused_by_page(client, path, form, "set_coverage", "coverage", "reason")


@pytest.mark.parametrize("technician", ["nobody", 10**9, "desk", "'; DROP TABLE auth_user; --"])
def test_assign_refuses_anyone_but_a_technician_of_this_center(make_repair, desk, technician):
    repair = make_repair()

    refused_by_api(
        desk, transition_path(repair, "assign"), {"technician": technician}, "technician"
    )


def test_assign_refuses_an_inactive_technician(make_repair, desk, tech):
    get_user_model().objects.filter(pk=tech.pk).update(is_active=False)
    repair = make_repair()

    refused_by_api(desk, transition_path(repair, "assign"), {"technician": "tech"}, "technician")


@pytest.mark.parametrize("serial", ["HBS\x001100", "HBS#1100", TEN_THOUSAND, 1100])
def test_a_serial_at_the_counter_is_checked_like_any_other(make_repair, desk, serial):
    repair = make_repair(device_in_shop=False)
    path = transition_path(repair, "check_in_device")

    refused_by_api(desk, path, {"serial_number": serial}, "serial_number")


@pytest.mark.parametrize(
    ("name", "data", "field"),
    [
        ("cancel", {"reason": ""}, "reason"),
        ("cancel", {"reason": "x" * 501}, "reason"),
        ("decline", {"reason": ["x"]}, "reason"),
        ("ship", {"carrier": "x" * 61}, "carrier"),
        ("complete", {"work_notes": "\x1b"}, "work_notes"),
        ("report_unrepairable", {"reason": " "}, "reason"),
    ],
)
def test_every_transition_checks_its_fields_at_the_edge(
    diagnosing, manager, tech, name, data, field
):
    # Checked after the role, before the state: the repair need not be where it could run.
    owner_only = name in ("complete", "report_unrepairable")

    refused_by_api(tech if owner_only else manager, transition_path(diagnosing, name), data, field)


# --- what the lower layers still check themselves (parts services) --------------------------


@pytest.mark.parametrize("delta", [0, True, 10**6, -(10**6), "5", 2.0])
def test_a_stock_adjustment_must_be_a_sensible_whole_number(center, battery, delta):
    refused(
        parts_services.stock_adjust,
        "delta",
        center=center,
        part=battery,
        delta=delta,
        reason="재고 실사",
    )


def test_stock_cannot_be_adjusted_below_what_repairs_have_reserved(
    awaiting_approval, center, battery
):
    assert Stock.objects.get(center=center, part=battery).reserved == 1

    refused(
        parts_services.stock_adjust, "delta", center=center, part=battery, delta=-5, reason="분실"
    )


def test_receiving_more_than_was_ordered_is_refused(make_repair, desk, tech, center, spring):
    stock(center, spring, 0)
    repair = make_repair()
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    s.repair_diagnose(
        repair=repair, actor=tech, findings="스프링", parts=[{"part_number": "CLIP-SPRING-01"}]
    )
    order = PartsOrder.objects.get()

    for lines in (
        [("CLIP-SPRING-01", 2)],
        [("HBS-BATT", 1)],
        [("CLIP-SPRING-01", 0)],
        [("CLIP-SPRING-01", True)],
    ):
        refused(parts_services.parts_order_receive, "lines", order_id=order.pk, lines=lines)
    assert Repair.objects.get(pk=repair.pk).state == State.AWAITING_APPROVAL
