"""Hostile and careless input: each is a ValidationFailed naming the field and changes nothing."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils.html import escape

from core.errors import ValidationFailed
from core.validation import has_control_characters
from parts import services as parts_services
from parts.models import Part, PartsOrder, PartsOrderLine, Reservation, Stock
from service_center.models import Customer, Device
from service_center.services import device_register
from tests.conftest import stock
from tests.factories import PartFactory, ProductModelFactory
from tests.test_api_support import client_for, post
from workflows import services as s
from workflows.choices import Coverage, State
from workflows.models import Notification, Promise, Repair, RepairEvent

TEN_THOUSAND = "A" * 10_000
MODELS = [
    Repair,
    Customer,
    Device,
    RepairEvent,
    Notification,
    Promise,
    Reservation,
    PartsOrder,
    PartsOrderLine,
    Part,
    Stock,
]


def snapshot() -> dict:
    counts = {m.__name__: m.objects.count() for m in MODELS}
    counts["repairs"] = sorted(
        Repair.objects.values_list(
            "pk",
            "state",
            "coverage",
            "labor_fee",
            "amount_paid",
            "deposit_paid",
            "device_id",
            "device_in_shop",
        )
    )
    counts["stock"] = sorted(Stock.objects.values_list("pk", "on_hand", "reserved"))
    return counts


def refused(call, field: str, **kwargs) -> None:
    """`call(**kwargs)` raises ValidationFailed naming `field`, and no row changed."""
    before = snapshot()
    with pytest.raises(ValidationFailed) as caught:
        call(**kwargs)
    assert field in caught.value.errors, caught.value.errors
    assert all(isinstance(m, str) and m for m in caught.value.errors[field])
    assert snapshot() == before


# --- intake ---------------------------------------------------------------------------------


@pytest.fixture
def intake(center, desk, headset, in_warranty):
    def make(**fields):
        data = {
            "customer": {"name": "김민지", "phone": "010-2345-6789"},
            "symptom": "클립 스프링이 빠졌어요",
            "product_model": headset.code,
        }
        data.update(fields)
        return s.repair_intake(center=center, actor=desk, **data)

    return make


@pytest.mark.parametrize(
    ("fields", "field"),
    [
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
        (
            {"customer": {"name": "김민지", "phone": "010-2345-6789", "email": "x y"}},
            "customer.email",
        ),
        ({"product_model": "NO-SUCH-MODEL"}, "product_model"),
        ({"product_model": TEN_THOUSAND}, "product_model"),
        ({"product_model": None}, "product_model"),
        ({"intake_channel": "carrier pigeon"}, "intake_channel"),
        ({"return_method": ["pickup"]}, "return_method"),
        ({"device_in_shop": "maybe"}, "device_in_shop"),
        ({"accessories": "충전기\x00"}, "accessories"),
        ({"courier_address": "주소" * 200}, "courier_address"),
    ],
)
def test_intake_refuses_hostile_input_and_writes_nothing(intake, fields, field):
    refused(intake, field, **fields)


@pytest.mark.parametrize(
    "spelling", ["ＨＢＳ１１００Ｋ７Ｑ２", "hbs1100k7q2", "hbs-1100 k7q2", "HBS‐1100‐K7Q2"]
)
def test_intake_finds_the_registered_serial_however_it_is_typed(intake, in_warranty, spelling):
    repair = intake(serial_number=spelling)

    assert repair.device == in_warranty
    assert repair.reported_serial == "HBS1100K7Q2"
    assert repair.coverage == Coverage.WARRANTY


# --- the serial registry --------------------------------------------------------------------


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


# --- transitions ----------------------------------------------------------------------------


@pytest.fixture
def diagnosing(make_repair, desk, tech, center, battery, spring, expired):
    stock(center, battery, 5)
    repair = make_repair(serial_number=expired.serial_number)
    return s.repair_assign(repair=repair, actor=desk, technician=tech)


@pytest.fixture
def other_models_part(db):
    laptop = ProductModelFactory(code="NB-15X")
    return PartFactory(part_number="NB-KEYBOARD", unit_price=89000, compatible_models=[laptop])


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"labor_fee": -1}, "labor_fee"),
        ({"labor_fee": True}, "labor_fee"),
        ({"labor_fee": 10**12}, "labor_fee"),
        ({"labor_fee": 1.5}, "labor_fee"),
        ({"labor_fee": float("nan")}, "labor_fee"),
        ({"labor_fee": "1e9"}, "labor_fee"),
        ({"labor_fee": "-500"}, "labor_fee"),
        ({"labor_fee": "9" * 10_000}, "labor_fee"),
        ({"findings": "\x00"}, "findings"),
        ({"findings": "가" * 4001}, "findings"),
        ({"parts": [{"part_number": "NO-SUCH-PART"}]}, "parts"),
        ({"parts": [{"part_number": "HBS-BATT"}, {"part_number": "nope"}]}, "parts"),
        ({"parts": [{"part_number": "NB-KEYBOARD"}]}, "parts"),  # for another model
        ({"parts": [{"part_number": "HBS-BATT", "quantity": 0}]}, "parts"),
        ({"parts": [{"part_number": "HBS-BATT", "quantity": -1}]}, "parts"),
        ({"parts": [{"part_number": "HBS-BATT", "quantity": True}]}, "parts"),
        ({"parts": [{"part_number": "HBS-BATT", "quantity": 100}]}, "parts"),
        ({"parts": [{"part_number": "HBS-BATT", "quantity": "2"}]}, "parts"),
        ({"parts": [{"part_number": "HBS\x00BATT"}]}, "parts"),
        ({"parts": [{"part_number": TEN_THOUSAND}]}, "parts"),
        ({"parts": [{}]}, "parts"),
        ({"parts": ["HBS-BATT"]}, "parts"),
        ({"parts": "HBS-BATT"}, "parts"),
        ({"parts": {"part_number": "HBS-BATT"}}, "parts"),
        ({"parts": [{"part_number": "HBS-BATT"}] * 31}, "parts"),
    ],
)
def test_diagnose_refuses_hostile_input_and_reserves_nothing(
    diagnosing, tech, other_models_part, fields, field
):
    data = {"findings": "배터리 교체", "parts": [{"part_number": "HBS-BATT"}], "labor_fee": 10000}
    data.update(fields)

    refused(s.repair_diagnose, field, repair=diagnosing, actor=tech, **data)


@pytest.fixture
def awaiting_approval(diagnosing, tech):
    return s.repair_diagnose(
        repair=diagnosing,
        actor=tech,
        findings="배터리 교체",
        parts=[{"part_number": "HBS-BATT"}],
        labor_fee=10000,
    )


@pytest.mark.parametrize("amount", [0, -100, True, 10**12, "lots", None, [1000], 99.5])
def test_a_deposit_must_be_a_sensible_amount(awaiting_approval, desk, amount):
    refused(s.repair_record_deposit, "amount", repair=awaiting_approval, actor=desk, amount=amount)


@pytest.fixture
def at_the_counter(awaiting_approval, desk, tech):
    s.repair_approve(repair=awaiting_approval, actor=desk)
    s.repair_start(repair=awaiting_approval, actor=tech)
    s.repair_complete(repair=awaiting_approval, actor=tech)
    return s.repair_notify_ready_for_pickup(repair=awaiting_approval, actor=desk)


@pytest.mark.parametrize("amount", [-1, True, False, 10**12, "25,000", float("inf"), {"won": 1}])
def test_hand_over_refuses_a_nonsense_payment(at_the_counter, desk, amount):
    refused(
        s.repair_hand_over, "amount_paid", repair=at_the_counter, actor=desk, amount_paid=amount
    )


def test_hand_over_refuses_more_than_is_due(at_the_counter, desk):
    assert at_the_counter.balance_due == 25000

    refused(s.repair_hand_over, "amount_paid", repair=at_the_counter, actor=desk, amount_paid=25001)


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
    data = {"coverage": "warranty", "reason": "영수증 확인"}
    data.update(fields)

    refused(s.repair_set_coverage, field, repair=awaiting_approval, actor=desk, **data)


@pytest.mark.parametrize("technician", ["nobody", 10**9, "desk", "'; DROP TABLE auth_user; --"])
def test_assign_refuses_anyone_but_a_technician_of_this_center(make_repair, desk, technician):
    repair = make_repair()

    refused(s.repair_assign, "technician", repair=repair, actor=desk, technician=technician)


def test_assign_refuses_an_inactive_technician(make_repair, desk, tech):
    get_user_model().objects.filter(pk=tech.pk).update(is_active=False)
    tech.refresh_from_db()

    refused(s.repair_assign, "technician", repair=make_repair(), actor=desk, technician=tech)


@pytest.mark.parametrize("ready_by", ["tomorrow", "2026-02-30", "1999-12-31T10:00", "9" * 10_000])
def test_invite_refuses_a_ready_by_that_is_not_a_date(make_repair, desk, ready_by):
    repair = make_repair(device_in_shop=False)

    refused(s.repair_invite_for_repair, "ready_by", repair=repair, actor=desk, ready_by=ready_by)


# --- timeline actions: their input is checked at the edge (workflows/inputs.py), by the API view
# and by the page view with the same serializer; the services take typed values.


def refused_by_api(path: str, data: dict, *fields: str, user) -> None:
    """POSTing `data` answers 400 `invalid` naming each of `fields`, and no row changed."""
    before = snapshot()
    response = post(client_for(user), path, data)
    body = response.json()
    assert response.status_code == 400, body
    assert body["code"] == "invalid" and body["detail"], body
    assert all(f in body["errors"] and all(body["errors"][f]) for f in fields), body
    assert snapshot() == before


def refused_by_page(client, path: str, data: dict, *fields: str) -> str:
    """The form comes back (400) with each field's message beside it and what was typed, and no
    row changed. Returns the page."""
    before = snapshot()
    response = client.post(path, data)
    html = response.content.decode()
    assert response.status_code == 400
    if any(has_control_characters(v) for v in data.values()):
        assert snapshot() == before  # refused at the door (core.middleware), before the view
        return html
    assert response.context["form_values"] == data
    for field in fields:
        messages = response.context["form_errors"][field]
        assert messages and all(
            f'class="ferr" role="alert">{escape(m)}</p>' in html for m in messages
        )
    assert snapshot() == before
    return html


PROMISE = {"kind": "callback", "due_at": "2030-01-02T10:00", "note": "전화"}
PROMISE_JUNK = [
    ({"kind": "someday"}, "kind"),
    ({"kind": ""}, "kind"),
    ({"due_at": "soon"}, "due_at"),
    ({"due_at": ""}, "due_at"),
    ({"due_at": "1999-12-31T10:00"}, "due_at"),
    ({"due_at": "9" * 10_000}, "due_at"),
    ({"note": "\x00"}, "note"),
    ({"note": TEN_THOUSAND}, "note"),
]


@pytest.mark.parametrize(
    ("fields", "field"), [*PROMISE_JUNK, ({"due_at": None}, "due_at"), ({"kind": 7}, "kind")]
)
def test_the_api_refuses_a_promise_without_a_kind_and_a_due_time(make_repair, desk, fields, field):
    repair = make_repair()

    refused_by_api(
        f"/repairs/{repair.ticket_number}/promises/", {**PROMISE, **fields}, field, user=desk
    )


@pytest.mark.parametrize(("fields", "field"), PROMISE_JUNK)
def test_the_promise_form_refuses_a_promise_without_a_kind_and_a_due_time(
    client, make_repair, desk, fields, field
):
    repair = make_repair()
    client.force_login(desk)

    html = refused_by_page(
        client, f"/desk/repairs/{repair.ticket_number}/promise/", {**PROMISE, **fields}, field
    )
    if field != "note":
        assert 'value="전화"' in html


CALL = {"text": "통화", "direction": "outgoing"}
CALL_JUNK = [
    ({"text": "\x00"}, "text"),
    ({"text": "a\x1bb"}, "text"),
    ({"text": TEN_THOUSAND}, "text"),
    ({"direction": "sideways"}, "direction"),
]


@pytest.mark.parametrize(
    ("fields", "field"), [*CALL_JUNK, ({"text": ""}, "text"), ({"text": ["x"]}, "text")]
)
def test_the_api_refuses_a_call_record_without_text_and_a_direction(
    make_repair, desk, fields, field
):
    repair = make_repair()

    refused_by_api(f"/repairs/{repair.ticket_number}/calls/", {**CALL, **fields}, field, user=desk)


@pytest.mark.parametrize(("fields", "field"), CALL_JUNK)
def test_the_call_form_refuses_a_call_record_without_text_and_a_direction(
    client, make_repair, desk, fields, field
):
    # An empty text is not junk on the page: the one-click call records "Called the customer."
    repair = make_repair()
    client.force_login(desk)

    refused_by_page(
        client, f"/desk/repairs/{repair.ticket_number}/call/", {**CALL, **fields}, field
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"text": "  "}, "text"),
        ({"text": "\x00"}, "text"),
        ({"text": "n", "customer_visible": "maybe"}, "customer_visible"),
    ],
)
def test_a_note_is_refused_at_the_api_and_on_the_page(client, make_repair, desk, data, field):
    repair = make_repair()
    client.force_login(desk)

    refused_by_api(f"/repairs/{repair.ticket_number}/notes/", data, field, user=desk)
    refused_by_page(client, f"/desk/repairs/{repair.ticket_number}/note/", data, field)


def test_the_promise_form_shows_every_bad_field_at_once(client, make_repair, desk):
    repair = make_repair()
    client.force_login(desk)
    data = {"kind": "someday", "due_at": "soon", "note": "A" * 301}

    refused_by_api(f"/repairs/{repair.ticket_number}/promises/", data, *data, user=desk)
    refused_by_page(client, f"/desk/repairs/{repair.ticket_number}/promise/", data, *data)


COURIER = {
    "recipient_name": "박서준",
    "address": "서울 마포구 월드컵북로 1",
    "phone": "010-2345-6789",
}
COURIER_JUNK = [
    ({"recipient_name": ""}, "recipient_name"),
    ({"recipient_name": "박\x00"}, "recipient_name"),
    ({"address": " "}, "address"),
    ({"address": TEN_THOUSAND}, "address"),
    ({"phone": "12345"}, "phone"),
    ({"phone": "010-123"}, "phone"),
    ({"phone": "9" * 100}, "phone"),
]


@pytest.mark.parametrize(("fields", "field"), COURIER_JUNK)
def test_a_courier_return_is_refused_at_the_api_and_on_the_status_page(
    client, make_repair, desk, fields, field
):
    repair = make_repair()
    data = {**COURIER, **fields}

    refused_by_api(f"/repairs/{repair.ticket_number}/courier-return/", data, field, user=desk)
    public = {**data, "token": repair.status_token}
    refused_by_api("/public/courier-return/", public, field, user=None)
    before = snapshot()
    response = client.post(f"/status/t/{repair.status_token}/courier/", data)
    assert response.status_code == 400
    if not has_control_characters(data[field]):
        assert response.context["errors"][field]
        assert response.context["values"] == data
    assert snapshot() == before


def test_the_courier_form_shows_every_bad_field_at_once(client, make_repair):
    repair = make_repair()
    data = {"recipient_name": "박서준", "address": "", "phone": "12345"}

    response = client.post(f"/status/t/{repair.status_token}/courier/", data)

    html = response.content.decode()
    assert response.status_code == 400 and 'value="박서준"' in html
    for field in ("address", "phone"):
        assert all(
            f'<p class="puberror">{escape(m)}</p>' in html
            for m in response.context["errors"][field]
        )
    repair.refresh_from_db()
    assert repair.return_method != "courier"


def test_a_courier_phone_is_kept_in_its_national_format(make_repair, desk):
    repair = make_repair()

    response = post(
        client_for(desk),
        f"/repairs/{repair.ticket_number}/courier-return/",
        {**COURIER, "phone": "01023456789"},
    )

    assert response.status_code == 200, response.json()
    assert response.json()["courier_phone"] == "010-2345-6789"


def test_a_serial_at_the_counter_is_checked_like_any_other(make_repair, desk):
    repair = make_repair(device_in_shop=False)

    refused(
        s.repair_check_in_device,
        "serial_number",
        repair=repair,
        actor=desk,
        serial_number="HBS\x001100",
    )


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
