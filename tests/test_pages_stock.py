"""The stock page (/desk/stock/): counts, the movements that explain them, and the managers'
adjust and transfer forms (errors beside their fields, one-time form tokens)."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from parts.models import PartsOrder, Stock, StockMovement
from service_center.services import staff_create
from tests.conftest import PASSWORD, stock
from tests.factories import PartFactory
from tests.test_stock_ledger import assert_stock_agrees
from workflows import services as s
from workflows.services import supply

pytestmark = pytest.mark.django_db
PAGE = "/desk/stock/"


def token_of(html: str, form_id: str) -> str:
    form = html.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
    return re.search(r'name="form_token" value="([^"]+)"', form).group(1)


def movement_rows(html: str) -> list[str]:
    return re.findall(r'<tr class="movement"[^>]*>(.*?)</tr>', html, flags=re.S)


@pytest.fixture
def sc_manager(other_center):
    return staff_create(username="mgr_sc", role="manager", center_code="SC", password=PASSWORD)


@pytest.fixture
def history(make_repair, desk, tech, manager, center, spring, expired):
    """A spring that waited for a parts order, arrived, and a count corrected by the manager."""
    stock(center, spring, 0)
    repair = make_repair(serial_number=expired.serial_number)
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    s.repair_diagnose(
        repair=repair, actor=tech, findings="교체", parts=[{"part_number": spring.part_number}]
    )
    order = PartsOrder.objects.get()
    supply.parts_order_receive(order_id=order.pk, actor_user=desk)
    supply.stock_adjust(center=center, part=spring, delta=4, reason="실사 결과", actor_user=manager)
    return repair, order


def test_the_desk_sees_counts_and_why_newest_first(client, desk, history):
    repair, order = history
    client.force_login(desk)

    response = client.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    stock_row = re.search(r'<tr id="stock-CLIP-SPRING-01">(.*?)</tr>', html, flags=re.S).group(1)
    assert re.findall(r'class="num">(\d+)<', stock_row) == [
        "5",
        "1",
        "4",
    ]  # on hand, reserved, free
    rows = movement_rows(html)
    assert len(rows) == 3  # the row started at zero: no opening movement
    adjust, reserve, receive = rows
    assert "실사 결과" in adjust and "+4" in adjust and "manager" in adjust
    assert f'href="/desk/repairs/{repair.ticket_number}/"' in reserve and "+1" in reserve
    assert f'#order-{order.pk}">PO-{order.pk}</a>' in receive and "desk" in receive
    assert 'href="/desk/stock/"' in html  # in the navigation
    assert 'id="transfer-form"' not in html and 'id="adjust-form"' not in html


def test_the_filter_shows_one_part_and_an_unknown_part_is_said(
    client, desk, history, battery, center
):
    stock(center, battery, 3)
    client.force_login(desk)

    spring_only = client.get(PAGE, {"part": "CLIP-SPRING-01"}).content.decode()
    battery_only = client.get(PAGE, {"part": "HBS-BATT"}).content.decode()
    unknown = client.get(PAGE, {"part": "NOPE"})
    nul = client.get(PAGE, {"part": "NOPE\x00"})

    assert len(movement_rows(spring_only)) == 3
    assert len(movement_rows(battery_only)) == 1  # its opening balance
    assert unknown.status_code == 200
    assert "NOPE 부품이 없습니다." in unknown.content.decode()
    assert movement_rows(unknown.content.decode()) == []
    assert nul.status_code == 400  # the NUL-byte page, not a 500


def test_movements_are_paginated(client, manager, center, spring):
    stock(center, spring, 0)
    for n in range(30):
        supply.stock_adjust(
            center=center, part=spring, delta=1, reason=f"count {n}", actor_user=manager
        )
    client.force_login(manager)

    first = client.get(PAGE).content.decode()
    second = client.get(PAGE, {"page": 2}).content.decode()
    bogus = client.get(PAGE, {"page": "x"})

    assert len(movement_rows(first)) == 25 and "count 29" in movement_rows(first)[0]
    assert len(movement_rows(second)) == 5 and "count 0" in movement_rows(second)[-1]
    assert bogus.status_code == 200


@pytest.mark.parametrize("size", [2, 30])
@pytest.mark.parametrize(("who", "queries"), [("manager", 10), ("desk", 8), ("tech", 8)])
def test_the_page_costs_the_same_queries_at_any_size(
    client, request, manager, center, other_center, size, who, queries, django_assert_num_queries
):
    for n in range(size):
        part = PartFactory(part_number=f"P-{n:03d}", name=f"part {n}", unit_price=100)
        stock(center, part, n + 1)
        supply.stock_adjust(center=center, part=part, delta=1, reason="x", actor_user=manager)
    client.force_login(request.getfixturevalue(who))
    client.get(PAGE)  # the session and the language settle

    with django_assert_num_queries(queries):
        response = client.get(PAGE)
    with django_assert_num_queries(queries + 1):  # the filter looks the part up
        filtered = client.get(PAGE, {"part": "P-001", "page": "2"})

    assert response.status_code == filtered.status_code == 200
    assert len(movement_rows(response.content.decode())) == min(2 * size, 25)
    assert len(movement_rows(filtered.content.decode())) == 2  # page 2 of 1 shows the last


def test_a_technician_reads_the_page_but_may_not_change_stock(
    client, tech, history, center, spring
):
    client.force_login(tech)

    page = client.get(PAGE)
    post = client.post(
        "/desk/stock/adjust/", {"part_number": spring.part_number, "delta": 1, "reason": "x"}
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="adjust-form"' not in html and len(movement_rows(html)) == 3
    assert "/tech/repairs/" in html  # its ticket links open the technician's page
    assert post.status_code == 403
    assert Stock.objects.get(center=center, part=spring).on_hand == 5


@pytest.mark.parametrize("form", ["adjust", "transfer"])
def test_the_desk_may_not_post_the_managers_forms(client, desk, other_center, center, spring, form):
    stock(center, spring, 5)
    client.force_login(desk)

    body = {
        "part_number": spring.part_number,
        "delta": 1,
        "quantity": 1,
        "to_center": "SC",
        "reason": "x",
    }
    response = client.post(f"/desk/stock/{form}/", body)

    assert response.status_code == 403
    assert Stock.objects.get(center=center, part=spring).on_hand == 5


# --- the manager's forms ---------------------------------------------------------------------


def test_a_manager_transfers_from_the_page(client, manager, center, other_center, spring):
    stock(center, spring, 5)
    client.force_login(manager)
    html = client.get(PAGE).content.decode()
    assert '<option value="SC">' in html and '<option value="GN">' not in html

    body = {
        "form_token": token_of(html, "transfer-form"),
        "to_center": "SC",
        "part_number": spring.part_number,
        "quantity": "2",
        "reason": "서초 요청",
    }
    response = client.post("/desk/stock/transfer/", body, follow=True)

    assert response.redirect_chain[-1][0] == PAGE
    assert Stock.objects.get(center=center, part=spring).on_hand == 3
    assert Stock.objects.get(center=other_center, part=spring).on_hand == 2
    out = StockMovement.objects.get(kind="transfer_out")
    assert out.reason.startswith("서초 요청 (→ SC, TR-") and out.created_by == manager
    assert "서초 요청" in response.content.decode()
    call_command("audit_ledgers")


def test_a_double_submit_of_the_transfer_form_moves_the_units_once(
    client, manager, center, other_center, spring
):
    stock(center, spring, 5)
    client.force_login(manager)
    html = client.get(PAGE).content.decode()
    body = {
        "form_token": token_of(html, "transfer-form"),
        "to_center": "SC",
        "part_number": spring.part_number,
        "quantity": "2",
        "reason": "서초 요청",
    }

    first = client.post("/desk/stock/transfer/", body)
    second = client.post("/desk/stock/transfer/", body, follow=True)

    assert first.status_code == 302
    assert Stock.objects.get(center=center, part=spring).on_hand == 3
    assert Stock.objects.get(center=other_center, part=spring).on_hand == 2
    assert StockMovement.objects.filter(kind="transfer_out").count() == 1
    page = second.content.decode()
    assert "nothing was recorded twice" in page or "두 번" in page
    assert_stock_agrees()


def test_a_double_submit_of_the_adjust_form_records_once(client, manager, center, spring):
    stock(center, spring, 5)
    client.force_login(manager)
    html = client.get(PAGE).content.decode()
    body = {
        "form_token": token_of(html, "adjust-form"),
        "part_number": spring.part_number,
        "delta": "3",
        "reason": "입고",
    }

    client.post("/desk/stock/adjust/", body)
    client.post("/desk/stock/adjust/", body)

    assert Stock.objects.get(center=center, part=spring).on_hand == 8
    assert StockMovement.objects.filter(kind="adjust", reason="입고").count() == 1


def test_every_transfer_error_shows_beside_its_field_and_what_was_typed_stays(
    client, manager, center, other_center, spring
):
    stock(center, spring, 5)
    client.force_login(manager)
    html = client.get(PAGE).content.decode()
    body = {
        "form_token": token_of(html, "transfer-form"),
        "to_center": "XX",
        "part_number": "NO-SUCH",
        "quantity": "0",
        "reason": "",
    }

    response = client.post("/desk/stock/transfer/", body)

    assert response.status_code == 400
    form = response.content.decode().split('id="transfer-form"', 1)[1].split("</form>", 1)[0]
    errors = re.findall(r'<label>(.*?)</label>\s*(<p class="ferr".*?</p>)', form, flags=re.S)
    assert len(errors) == 4, form  # to center, part, quantity, reason
    assert 'name="quantity" type="number" min="1" max="100000" value="0"' in form
    assert StockMovement.objects.filter(kind="transfer_out").count() == 0


def test_more_than_is_free_is_refused_beside_the_quantity(
    client, manager, center, other_center, spring
):
    stock(center, spring, 5)
    client.force_login(manager)
    html = client.get(PAGE).content.decode()
    body = {
        "form_token": token_of(html, "transfer-form"),
        "to_center": "SC",
        "part_number": spring.part_number,
        "quantity": "6",
        "reason": "많이",
    }

    response = client.post("/desk/stock/transfer/", body)

    assert response.status_code == 400
    form = response.content.decode().split('id="transfer-form"', 1)[1].split("</form>", 1)[0]
    quantity = form.split('name="quantity"', 1)[1].split("<label>", 1)[0]
    assert 'class="ferr"' in quantity and 'value="6"' in form and 'value="많이"' in form
    assert Stock.objects.get(center=center, part=spring).on_hand == 5


def test_adjust_errors_show_at_once(client, manager, center, spring):
    stock(center, spring, 5)
    client.force_login(manager)
    html = client.get(PAGE).content.decode()
    body = {
        "form_token": token_of(html, "adjust-form"),
        "part_number": "NO-SUCH",
        "delta": "0",
        "reason": "",
    }

    response = client.post("/desk/stock/adjust/", body)

    assert response.status_code == 400
    form = response.content.decode().split('id="adjust-form"', 1)[1].split("</form>", 1)[0]
    assert form.count('class="ferr"') == 3, form
    assert Stock.objects.get(center=center, part=spring).on_hand == 5
