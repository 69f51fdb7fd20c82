"""The condition checklist at intake: validated at the edge, stored, echoed, printed."""

import io

import pytest
from pypdf import PdfReader

from tests.test_api_support import *  # noqa: F403
from tests.test_api_support import INTAKE, V1, get, post
from workflows import condition
from workflows.tickets import render_claim_ticket

CHECKLIST = [
    {"item": "screen", "state": "damaged", "note": "왼쪽 위 긁힘"},
    {"item": "casing", "state": "ok", "note": ""},
    {"item": "liquid_indicator", "state": "not_checked"},
]


def pdf_text(pdf: bytes) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.split())


def test_intake_stores_the_checklist_and_the_detail_echoes_it(desk_api, headset):
    response = post(desk_api, "/repairs/", {**INTAKE, "condition": CHECKLIST})
    assert response.status_code == 201, response.json()
    assert response.json()["condition"] == [
        {"item": "screen", "state": "damaged", "note": "왼쪽 위 긁힘"},
        {"item": "casing", "state": "ok", "note": ""},
        {"item": "liquid_indicator", "state": "not_checked", "note": ""},
    ]
    again = get(desk_api, f"/repairs/{response.json()['ticket_number']}/")
    assert again.json()["condition"] == response.json()["condition"]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"item": "antenna", "state": "ok"}, "condition.0.item"),
        ({"item": "screen", "state": "broken"}, "condition.0.state"),
        ({"item": "screen", "state": "ok", "note": "x" * 301}, "condition.0.note"),
        ({"item": "screen", "state": "ok", "note": "a\x00b"}, "condition.0.note"),
        ({"item": "screen", "state": "ok", "note": 7}, "condition.0.note"),
        ("screen", "condition.0.non_field_errors"),
    ],
)
def test_a_bad_checklist_line_is_a_400_naming_the_field_and_nothing_is_stored(
    desk_api, headset, line, field
):
    from workflows.models import Repair

    response = post(desk_api, "/repairs/", {**INTAKE, "condition": [line]})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert any(name.startswith(field.rsplit(".non_field_errors")[0]) for name in body["errors"])
    assert Repair.objects.count() == 0


def test_an_item_listed_twice_is_refused(desk_api, headset):
    lines = [{"item": "screen", "state": "ok"}, {"item": "screen", "state": "damaged"}]
    response = post(desk_api, "/repairs/", {**INTAKE, "condition": lines})
    assert response.status_code == 400
    assert "condition" in response.json()["errors"]


def test_a_checklist_that_is_not_a_list_is_refused(desk_api, headset):
    response = client_post_raw(desk_api, {**INTAKE, "condition": {"item": "screen"}})
    assert response.status_code == 400
    assert "condition" in response.json()["errors"]


def client_post_raw(client, body):
    return client.post(V1 + "/repairs/", body, format="json")


def test_items_follow_the_product_category_with_a_default_list():
    assert condition.items_for("") == condition.DEFAULT_ITEMS
    assert condition.items_for("audio") == condition.DEFAULT_ITEMS
    assert condition.items_for("Earbuds") == condition.CATEGORY_ITEMS["earbuds"]
    assert set(condition.DEFAULT_ITEMS) == {
        "screen",
        "casing",
        "buttons",
        "liquid_indicator",
        "power",
        "accessories",
    }
    assert all(set(items) <= set(condition.ITEMS) for items in condition.CATEGORY_ITEMS.values())


@pytest.mark.parametrize("variant", ["a4", "receipt"])
def test_the_claim_ticket_prints_the_checklist_in_the_repairs_language(make_repair, variant):
    repair = make_repair(condition=CHECKLIST, language="en")
    text = pdf_text(render_claim_ticket(repair, variant=variant))
    assert "Condition at intake" in text
    assert "Screen: Damaged" in text and "왼쪽 위 긁힘" in text
    assert "Casing: OK" in text and "Liquid indicator: Not checked" in text


def test_the_korean_ticket_prints_the_checklist_in_korean(make_repair):
    repair = make_repair(condition=CHECKLIST, language="ko")
    text = pdf_text(render_claim_ticket(repair, variant="a4"))
    assert "화면: 손상" in text


def test_a_ticket_without_a_checklist_prints_no_checklist_row(make_repair):
    text = pdf_text(render_claim_ticket(make_repair(language="en"), variant="a4"))
    assert "Condition at intake" not in text


def test_a_full_checklist_keeps_the_a4_ticket_on_one_page(make_repair):
    lines = [
        {"item": i, "state": "damaged", "note": "모서리 찍힘, 작은 흠집 " * 3}
        for i in condition.DEFAULT_ITEMS
    ]
    pdf = render_claim_ticket(make_repair(condition=lines), variant="a4")
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
