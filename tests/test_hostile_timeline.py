"""Hostile input to the timeline actions (notes, calls, promises, courier return), at the API
and on the pages: both check it with the same serializer (workflows/inputs.py); each bad field
is named at once, nothing is written, never a 500."""

import pytest
from django.utils.html import escape

from core.validation import has_control_characters
from tests.hostile_support import TEN_THOUSAND, refused_by_api, refused_by_page, snapshot
from tests.test_api_support import client_for, post
from workflows import services as s

pytestmark = pytest.mark.django_db

PROMISE = {"kind": "callback", "due_at": "2099-01-02T10:00", "note": "전화"}
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

CALL = {"text": "통화", "direction": "outgoing"}
CALL_JUNK = [
    ({"text": "\x00"}, "text"),
    ({"text": "a\x1bb"}, "text"),
    ({"text": TEN_THOUSAND}, "text"),
    ({"direction": "sideways"}, "direction"),
]

API_JUNK = [
    *(
        ("promises", PROMISE, fields, field)
        for fields, field in [*PROMISE_JUNK, ({"due_at": None}, "due_at"), ({"kind": 7}, "kind")]
    ),
    *(
        ("calls", CALL, fields, field)
        for fields, field in [*CALL_JUNK, ({"text": ""}, "text"), ({"text": ["x"]}, "text")]
    ),
]


@pytest.mark.parametrize(("action", "valid", "fields", "field"), API_JUNK)
def test_the_api_refuses_a_promise_or_a_call_naming_the_bad_field(
    make_repair, desk, action, valid, fields, field
):
    repair = make_repair()

    refused_by_api(desk, f"/repairs/{repair.ticket_number}/{action}/", {**valid, **fields}, field)


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

    refused_by_api(desk, f"/repairs/{repair.ticket_number}/notes/", data, field)
    refused_by_page(client, f"/desk/repairs/{repair.ticket_number}/note/", data, field)


def test_the_promise_form_shows_every_bad_field_at_once(client, make_repair, desk):
    repair = make_repair()
    client.force_login(desk)
    data = {"kind": "someday", "due_at": "soon", "note": "A" * 301}

    refused_by_api(desk, f"/repairs/{repair.ticket_number}/promises/", data, *data)
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

    refused_by_api(desk, f"/repairs/{repair.ticket_number}/courier-return/", data, field)
    public = {**data, "token": repair.status_token}
    refused_by_api(None, "/public/courier-return/", public, field)
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


@pytest.mark.parametrize("reason", ["x" * 501, ["too", "expensive"]])
def test_the_customers_decline_reason_is_checked_like_the_desks(
    client, make_repair, desk, tech, expired, reason
):
    repair = make_repair(serial_number=expired.serial_number)
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    s.repair_diagnose(repair=repair, actor=tech, findings="배터리", labor_fee=10000)

    public = {"token": repair.status_token, "reason": reason}
    refused_by_api(None, "/public/decline/", public, "reason")
    if isinstance(reason, str):
        before = snapshot()
        response = client.post(f"/status/t/{repair.status_token}/decline/", {"reason": reason})
        assert response.status_code == 400
        messages = response.context["errors"]["reason"]
        assert all(f'role="alert">{escape(m)}</p>' in response.content.decode() for m in messages)
        assert messages and snapshot() == before
