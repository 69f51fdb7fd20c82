"""The customer's status page: nothing without the right ticket and digits, no-store, throttled."""

import pytest
from django.core.cache import cache

from tests.conftest import stock


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def quoted(make_repair, desk, tech, expired, battery, center, diagnose):
    stock(center, battery, 1)
    repair = make_repair(serial_number=expired.serial_number)
    return diagnose(
        repair, "배터리 교체", parts=[{"part_number": battery.part_number}], labor_fee=5000
    )


def _lookup(client, ticket, digits):
    return client.post("/status/", {"ticket_number": ticket, "phone_last4": digits})


def test_the_lookup_page_shows_nothing_about_any_repair(client, quoted):
    response = client.get("/status/")
    assert response.status_code == 200
    assert quoted.ticket_number not in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_digits_in_a_query_string_open_nothing(client, quoted):
    response = client.get("/status/", {"ticket": quoted.ticket_number, "phone_last4": "6789"})
    assert response.status_code == 200
    assert "배터리 교체" not in response.content.decode()
    assert 'name="phone_last4"' in response.content.decode()


def test_the_right_ticket_and_digits_open_the_page_without_digits_in_the_url(client, quoted):
    response = _lookup(client, quoted.ticket_number.lower(), "6789")
    assert response.status_code == 302
    assert response["Location"] == f"/status/t/{quoted.status_token}/"
    assert "6789" not in response["Location"]
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert "010-****-6789" in html and "2345" not in html
    assert "tech" in html  # the technician's name
    assert "20,000" in html  # the quote


def test_a_wrong_ticket_and_wrong_digits_look_the_same(client, quoted):
    wrong_digits = _lookup(client, quoted.ticket_number, "0000")
    wrong_ticket = _lookup(client, "GN-2611-ZZZZZZ", "6789")
    assert wrong_digits.status_code == wrong_ticket.status_code == 404
    a = wrong_digits.content.decode().replace(quoted.ticket_number, "T")
    b = wrong_ticket.content.decode().replace("GN-2611-ZZZZZZ", "T")
    strip = __import__("re").compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert strip.sub("", a) == strip.sub("", b)


def test_a_ticket_locks_after_a_few_wrong_guesses_from_any_address(client, quoted, settings):
    for i in range(settings.PUBLIC_LOOKUP_FAILURES_PER_TICKET):
        client.post(
            "/status/",
            {"ticket_number": quoted.ticket_number, "phone_last4": f"{i:04d}"},
            REMOTE_ADDR=f"10.0.0.{i}",
        )
    locked = client.post(
        "/status/",
        {"ticket_number": quoted.ticket_number, "phone_last4": "6789"},
        REMOTE_ADDR="10.0.1.1",
    )
    assert locked.status_code == 429 and locked["Retry-After"]


def test_one_address_is_throttled_after_many_lookups(client, quoted, settings):
    settings.PUBLIC_LOOKUP_RATE_PER_IP = 3
    codes = [_lookup(client, f"GN-2611-AAAAA{i}", "1234").status_code for i in range(5)]
    assert codes[:3] == [404, 404, 404] and codes[-1] == 429


def test_the_customer_approves_the_quote_on_the_page(client, quoted):
    url = f"/status/t/{quoted.status_token}/"
    response = client.post(url + "approve/")
    assert response.status_code == 302
    quoted.refresh_from_db()
    assert quoted.state == "ready_to_repair" and quoted.quote_approved_by == "customer"


def test_courier_return_keeps_the_input_on_error_and_then_succeeds(client, quoted):
    url = f"/status/t/{quoted.status_token}/courier/"
    bad = client.post(url, {"recipient_name": "김민지", "address": ""})
    assert bad.status_code == 400 and 'value="김민지"' in bad.content.decode()
    good = client.post(url, {"recipient_name": "김민지", "address": "부산 해운대구 1"})
    assert good.status_code == 302
    quoted.refresh_from_db()
    assert quoted.return_method == "courier" and quoted.courier_address == "부산 해운대구 1"


def test_an_unknown_link_shows_the_lookup_form(client, quoted):
    response = client.get("/status/t/not-a-real-token/")
    assert response.status_code == 404
    assert 'name="phone_last4"' in response.content.decode()


def _lock(client, ticket, settings):
    for i in range(settings.PUBLIC_LOOKUP_FAILURES_PER_TICKET):
        client.post("/status/", {"ticket_number": ticket, "phone_last4": f"{i:04d}"})
    return client.post("/status/", {"ticket_number": ticket, "phone_last4": "6789"})


def test_a_locked_ticket_says_when_to_try_again_and_which_number_to_call(
    client, quoted, center, settings
):
    center.phone = "02-555-0100"
    center.save()
    client.cookies["django_language"] = "en"
    locked = _lock(client, quoted.ticket_number, settings)
    assert locked.status_code == 429
    html = locked.content.decode()
    minutes = -(-int(locked["Retry-After"]) // 60)
    assert f"try again in {minutes} minute" in html
    assert 'href="tel:02-555-0100"' in html and center.name in html


def test_a_locked_unknown_ticket_of_a_known_center_says_the_same(client, center, settings):
    center.phone = "02-555-0100"
    center.save()
    locked = _lock(client, "GN-2611-ZZZZZZ", settings)
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "분 후에 다시" in html
    assert 'href="tel:02-555-0100"' in html


def test_a_locked_ticket_of_no_known_center_gives_the_generic_advice(client, db, settings):
    client.cookies["django_language"] = "en"
    html = _lock(client, "ZZ-2611-ZZZZZZ", settings).content.decode()
    assert "on the number on your claim ticket" in html
    assert "tel:" not in html
