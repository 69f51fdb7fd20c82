"""The public status page never prints the customer's full name or home address."""

from core.privacy import mask_address, mask_name
from core.roles import CUSTOMER_ACTOR
from workflows import services as s

NAME = "김민지"
ADDRESS = "서울 마포구 월드컵북로 400 5층"


def _page(client, repair):
    response = client.get(f"/status/t/{repair.status_token}/")
    assert response.status_code == 200
    return response.content.decode()


def test_names_keep_their_first_and_last_letters_only():
    assert mask_name("김민지") == "김*지"
    assert mask_name("이준") == "이*"
    assert mask_name("Jane Doe") == "J**e D*e"
    assert mask_name("") == ""


def test_addresses_keep_city_and_district_only():
    assert mask_address(ADDRESS) == "서울 마포구 ***"
    assert mask_address("서울") == "서울 ***"
    assert mask_address("") == ""


def test_the_courier_form_starts_empty_with_a_masked_hint(client, make_repair):
    repair = make_repair(customer={"name": NAME, "phone": "010-2345-6789", "address": ADDRESS})
    html = _page(client, repair)
    assert NAME not in html and "월드컵북로" not in html
    assert 'placeholder="김*지"' in html and 'placeholder="서울 마포구 ***"' in html


def test_a_courier_return_shows_masked_recipient_and_address(client, make_repair):
    repair = make_repair(customer={"name": NAME, "phone": "010-2345-6789"})
    s.repair_request_courier_return(
        repair=repair.pk, actor=CUSTOMER_ACTOR, recipient_name="박서준", address=ADDRESS, phone=""
    )
    html = _page(client, repair)
    assert "박서준" not in html and "월드컵북로" not in html and NAME not in html
    assert "박*준" in html and "서울 마포구 ***" in html


def test_a_rejected_courier_form_keeps_what_the_customer_typed(client, make_repair):
    repair = make_repair(customer={"name": NAME, "phone": "010-2345-6789"})
    response = client.post(
        f"/status/t/{repair.status_token}/courier/",
        {"recipient_name": "박서준", "address": "", "phone": ""},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'value="박서준"' in html
