"""The intake form: live serial and customer lookups, errors beside the fields, input kept."""

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
