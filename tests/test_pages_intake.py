"""The intake form: live serial and customer lookups, errors beside the fields, input kept."""

import re

from tests.conftest import intake_form
from workflows.models import Repair


def test_intake_keeps_what_was_typed_and_says_what_is_missing(client, desk, headset):
    client.force_login(desk)
    form = intake_form(
        symptom="스프링 빠짐", intake_channel="phone", unticked=("product_model", "device_in_shop")
    )
    response = client.post("/desk/intake/", form)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="김민지"' in html and "스프링 빠짐" in html
    assert 'id="product_model" name="product_model" aria-invalid="true"' in html
    assert "제품 모델" in html  # the message is in Korean, beside the product model field
    assert not Repair.objects.exists()


def test_a_phoned_in_repair_without_serial_is_taken_in_as_coverage_to_be_confirmed(
    client, desk, headset
):
    client.force_login(desk)
    form = intake_form(symptom="스프링 빠짐", intake_channel="phone", unticked=("device_in_shop",))
    response = client.post("/desk/intake/", form)
    repair = Repair.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/desk/repairs/{repair.ticket_number}/"
    assert repair.coverage == "undetermined" and repair.device_in_shop is False


def test_a_bad_phone_is_reported_beside_the_phone_field(client, desk, headset):
    client.force_login(desk)
    form = intake_form(customer_name="김", customer_phone="12", symptom="x")
    response = client.post("/desk/intake/", form)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'name="customer_phone" type="tel" inputmode="tel" value="12"' in html
    assert "010-1234-5678" in html


def test_the_serial_lookup_tells_the_warranty_before_the_customer_leaves(
    client, desk, in_warranty, expired
):
    client.force_login(desk)
    found = client.get("/desk/lookup/serial/", {"serial": "hbs1100-k7q2"}).json()
    assert found["status"] == "in_warranty" and found["product_model"]["code"] == "HBS-1100"
    assert (
        client.get("/desk/lookup/serial/", {"serial": "HBS1100OLD1"}).json()["status"] == "expired"
    )
    assert client.get("/desk/lookup/serial/", {"serial": "NOPE1234"}).json()["status"] == "unknown"
    assert client.get("/desk/lookup/serial/", {"serial": "!"}).status_code == 400


def test_the_customer_lookup_shows_devices_and_past_repairs(client, desk, make_repair, in_warranty):
    repair = make_repair(serial_number=in_warranty.serial_number)
    client.force_login(desk)
    assert client.get("/desk/lookup/customer/", {"phone": "010-2345-6789"}).status_code == 405
    answer = client.post("/desk/lookup/customer/", {"phone": "010-2345-6789"}).json()
    assert answer["count"] == 1
    assert in_warranty.serial_number in answer["html"]
    assert repair.ticket_number in answer["html"]


def test_the_intake_page_puts_the_cursor_in_the_phone_field(client, desk, headset):
    client.force_login(desk)
    html = client.get("/desk/intake/").content.decode()
    assert html.count("autofocus") == 1
    assert re.search(r'<input id="customer_phone"[^>]* autofocus', html)


def test_an_empty_intake_submit_names_every_missing_field_at_once(client, desk, headset):
    client.force_login(desk)
    response = client.post("/desk/intake/", {})
    assert response.status_code == 400
    html = response.content.decode()
    for field in ("customer_phone", "customer_name", "symptom"):
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', html), field
    assert html.count('class="ferr"') >= 4
    assert "autofocus" not in html  # the browser's focus goes where the clerk left it
    assert not Repair.objects.exists()


def test_a_phoned_in_intake_with_nothing_typed_names_the_model_with_the_rest(client, desk, headset):
    client.force_login(desk)
    form = intake_form(
        customer_name="", customer_phone="", symptom="", product_model="", intake_channel="phone"
    )
    response = client.post("/desk/intake/", form)
    assert response.status_code == 400
    html = response.content.decode()
    for field in ("customer_phone", "customer_name", "symptom", "product_model"):
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', html), field
    assert not Repair.objects.exists()
