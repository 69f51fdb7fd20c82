"""Careless typing on the staff pages: the form comes back with the error beside the field and
everything typed still in it; nothing is written. (These were 500s: a phone that has the right
length but no valid number behind it, and a quantity that str.isdigit() accepts but int() not.)"""

import html as html_lib
import re

import pytest

from parts.models import Reservation, Stock
from service_center.models import Customer
from tests.conftest import stock
from workflows import services as s
from workflows.models import Notification, Repair, RepairEvent

MISTYPED_PHONES = ["010-1234-56789", "12345", "010-123"]
PHONE_ERROR_KO = "올바른 전화번호를 입력하세요. 예: 010-1234-5678"
PHONE_ERROR_EN = "Enter a valid phone number, e.g. 010-1234-5678."
QTY_ERROR_KO = "수량은 1~99 사이의 정수입니다."


def _intake_form(phone: str, headset) -> dict[str, str]:
    return {
        "customer_name": "김민지",
        "customer_phone": phone,
        "customer_email": "minji@example.com",
        "customer_address": "서울 강남구 테헤란로 1",
        "serial_number": "HBS1100ZZZ9",
        "product_model": headset.code,
        "symptom": "왼쪽 이어폰에서 소리가 안 나요",
        "accessories": "충전 케이블",
        "intake_channel": "walk_in",
        "device_in_shop": "on",
        "return_method": "courier",
        "courier_address": "서울 서초구 반포대로 2",
    }


def _value_of(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    assert match, f"no input {name}"
    value = re.search(r'\bvalue="([^"]*)"', match.group(0))
    return html_lib.unescape(value.group(1)) if value else ""


@pytest.mark.parametrize("phone", MISTYPED_PHONES)
def test_a_mistyped_phone_on_the_intake_page_is_reported_beside_the_field_keeping_the_form(
    client, desk, headset, phone
):
    client.force_login(desk)
    form = _intake_form(phone, headset)
    response = client.post("/desk/intake/", form)
    # A form sent back with errors is a 400 throughout the pages (test_pages_intake.py).
    assert response.status_code == 400
    html = response.content.decode()
    # The error sits right under the phone field, before the customer matches box and the name.
    phone_block = html[html.index('id="customer_phone"') : html.index('id="customer-matches"')]
    assert f'<p class="ferr" role="alert">{PHONE_ERROR_KO}</p>' in phone_block
    assert 'aria-invalid="true"' in phone_block
    # Everything typed is still in the form.
    for name in (
        "customer_phone",
        "customer_name",
        "customer_email",
        "customer_address",
        "serial_number",
        "accessories",
        "courier_address",
    ):
        assert _value_of(html, name) == form[name], name
    assert "왼쪽 이어폰에서 소리가 안 나요</textarea>" in html
    assert f'<option value="{headset.code}" selected>' in html
    assert re.search(r'name="return_method" value="courier" checked', html)
    assert not Repair.objects.exists() and not Customer.objects.exists()


def test_the_intake_page_speaks_english_too(client, desk, headset):
    client.force_login(desk)
    response = client.post(
        "/desk/intake/", _intake_form("12345", headset), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert PHONE_ERROR_EN in response.content.decode()


@pytest.mark.parametrize("phone", MISTYPED_PHONES)
def test_a_mistyped_phone_in_the_customer_lookup_is_an_error_for_the_phone_field(
    client, desk, make_repair, phone
):
    make_repair()  # a customer exists: a bad phone must not match or crash on them
    customers = Customer.objects.count()
    client.force_login(desk)
    response = client.post(
        "/desk/lookup/customer/", {"phone": phone}, HTTP_ACCEPT="application/json"
    )
    # The intake page's script writes these messages under the phone field; the page does not
    # reload, so nothing typed there is lost.
    assert response.status_code == 400
    assert response.json() == {"ok": False, "errors": {"phone": [PHONE_ERROR_KO]}}
    assert Customer.objects.count() == customers


def test_the_customer_lookup_error_is_in_the_clerks_language(client, desk):
    client.force_login(desk)
    response = client.post(
        "/desk/lookup/customer/", {"phone": "010-123"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.json()["errors"] == {"phone": [PHONE_ERROR_EN]}


def test_the_customer_lookup_still_finds_a_well_typed_phone(client, desk, make_repair):
    make_repair()
    client.force_login(desk)
    answer = client.post("/desk/lookup/customer/", {"phone": "01023456789"}).json()
    assert answer["ok"] is True and answer["count"] == 1


def test_the_api_intake_refuses_a_mistyped_phone_with_a_400_naming_the_field(client, desk, headset):
    client.force_login(desk)
    response = client.post(
        "/api/v1/repairs/",
        {
            "customer": {"name": "김민지", "phone": "010-123"},
            "symptom": "x",
            "product_model": headset.code,
            "intake_channel": "walk_in",
            "device_in_shop": True,
            "return_method": "pickup",
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "customer.phone" in response.json()["errors"]
    assert not Repair.objects.exists()


# --- the diagnose form's quantities -----------------------------------------------------------


@pytest.fixture
def diagnosing(make_repair, desk, tech, spring, battery, center):
    stock(center, spring, 3)
    stock(center, battery, 1)
    repair = make_repair()
    return s.repair_assign(repair=repair, actor=desk, technician=tech)


def _snapshot(repair):
    repair.refresh_from_db()
    return (
        repair.state,
        repair.labor_fee,
        repair.version if hasattr(repair, "version") else None,
        RepairEvent.objects.count(),
        Notification.objects.count(),
        list(Reservation.objects.values_list("pk", "status")),
        sorted(Stock.objects.values_list("pk", "on_hand", "reserved")),
    )


@pytest.mark.parametrize("typed", ["²", "٣", "-1", "abc", "100000", "1.5", "9" * 5000])
def test_a_quantity_that_is_not_1_to_99_gives_the_diagnose_form_again(
    client, tech, diagnosing, typed
):
    before = _snapshot(diagnosing)
    client.force_login(tech)
    url = f"/tech/repairs/{diagnosing.ticket_number}/transitions/diagnose/"
    response = client.post(
        url,
        {
            "findings": "스프링 교체",
            "qty_CLIP-SPRING-01": typed,
            "qty_HBS-BATT": "1",
            "labor_fee": "5000",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    # The diagnose step is open again, with the message under the parts table and the input kept.
    assert re.search(r'<details class="action[^"]*" id="details-diagnose" open>', html)
    diagnose = html[html.index('id="details-diagnose"') :]
    assert f'<p class="ferr" role="alert">{QTY_ERROR_KO}</p>' in diagnose
    assert "스프링 교체</textarea>" in diagnose
    assert _value_of(diagnose, "qty_CLIP-SPRING-01") == typed
    assert _value_of(diagnose, "qty_HBS-BATT") == "1"
    assert _snapshot(diagnosing) == before


def test_well_typed_quantities_still_diagnose(client, tech, diagnosing):
    client.force_login(tech)
    url = f"/tech/repairs/{diagnosing.ticket_number}/transitions/diagnose/"
    response = client.post(
        url,
        {"findings": "스프링 교체", "qty_CLIP-SPRING-01": " 2 ", "qty_HBS-BATT": "0"},
    )
    assert response.status_code == 302
    reservations = list(Reservation.objects.values_list("part__part_number", "quantity"))
    assert reservations == [("CLIP-SPRING-01", 2)]
