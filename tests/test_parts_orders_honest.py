"""Parts orders that say what happened (issue 11): receiving names the repairs first come, first
served actually gave the parts to, and the order page stops calling a line "for" a repair
whose part went to an older request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parts.models import PartsOrder, Stock
from tests.conftest import stock
from tests.parts_orders_support import order_of, waiting_repair
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import get, post
from workflows import services as s
from workflows.models import Repair, RepairEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_waiting(make_repair, desk, tech, center, spring, in_warranty):
    """A (older) and B both wait for a spring; each has the order its diagnosis requested."""
    stock(center, spring, 0)
    a = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 1)
    b = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 2)
    return a, b


def _receive(client, order_id: int):
    return post(client, f"/parts-orders/{order_id}/transitions/receive/")


# --- the API's answer --------------------------------------------------------------------------


def test_receiving_b_s_order_says_the_spring_went_to_the_older_repair_a(desk_api, two_waiting):
    a, b = two_waiting
    response = _receive(desk_api, order_of(b).pk)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["served"] == [
        {
            "ticket_number": a.ticket_number,
            "parts": [{"part_number": "CLIP-SPRING-01", "quantity": 1}],
        }
    ]
    # Additive: the order's own fields are all still there, and its line still names B.
    assert body["id"] == order_of(b).pk and body["state"] == "received"
    assert body["lines"][0]["ticket_number"] == b.ticket_number
    assert {"center", "carrier", "tracking_number", "eta", "received_at", "cancel_reason"} <= set(
        body
    )
    assert Repair.objects.get(pk=a.pk).state == "ready_to_repair"
    assert Repair.objects.get(pk=b.pk).state == "awaiting_parts"


def test_receiving_with_nobody_waiting_serves_nobody(desk_api, center, spring):
    from parts import services as ps

    stock(center, spring, 0)
    order = ps.parts_order_request(center_id=center.pk, lines=[(spring, 3, None)])

    body = _receive(desk_api, order.pk).json()

    assert body["served"] == []
    assert Stock.objects.get(center=center, part=spring).on_hand == 3


def test_a_partial_delivery_serves_the_head_of_the_queue_only(desk_api, two_waiting, spring):
    from parts import services as ps

    a, b = two_waiting
    order = ps.parts_order_request(center_id=a.center_id, lines=[(spring, 1, a), (spring, 1, b)])
    first = post(
        desk_api,
        f"/parts-orders/{order.pk}/transitions/receive/",
        {"lines": [{"part_number": "CLIP-SPRING-01", "quantity": 1}]},
    ).json()
    assert [x["ticket_number"] for x in first["served"]] == [a.ticket_number]
    second = _receive(desk_api, order.pk).json()
    assert [x["ticket_number"] for x in second["served"]] == [b.ticket_number]


def test_the_put_aside_event_records_the_order_it_came_from(desk_api, two_waiting):
    a, b = two_waiting
    _receive(desk_api, order_of(b).pk)
    event = RepairEvent.objects.get(repair=a, text_code="parts_put_aside")
    assert event.data["order"] == order_of(b).pk
    assert event.data["parts"] == [{"part_number": "CLIP-SPRING-01", "quantity": 1}]


# --- the page ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "The parts went to (oldest request first)"),
        ("ko", "먼저 접수된 순서대로 부품을 배정한 수리"),
    ],
)
def test_the_page_says_which_tickets_receiving_served(client, desk, two_waiting, language, said):
    a, b = two_waiting
    client.force_login(desk)
    response = client.post(
        f"/desk/parts-orders/{order_of(b).pk}/receive/", follow=True, HTTP_ACCEPT_LANGUAGE=language
    )
    html = response.content.decode()
    assert response.status_code == 200
    flash = html[html.index('class="flash') :][:600]
    assert said in flash and a.ticket_number in flash and b.ticket_number not in flash


@pytest.mark.parametrize(
    ("language", "said"),
    [("en", "Nobody was waiting for these parts"), ("ko", "이 부품을 기다리는 수리가 없어")],
)
def test_the_page_says_when_nobody_was_waiting(client, desk, center, spring, language, said):
    from parts import services as ps

    order = ps.parts_order_request(center_id=center.pk, lines=[(spring, 2, None)])
    client.force_login(desk)
    response = client.post(
        f"/desk/parts-orders/{order.pk}/receive/", follow=True, HTTP_ACCEPT_LANGUAGE=language
    )
    html = response.content.decode()
    assert said in html[html.index('class="flash') :][:600]


def _order_block(html: str, order_id: int) -> str:
    start = html.index(f'id="order-{order_id}"')
    end = html.find('id="order-', start + 10)
    return html[start : end if end != -1 else len(html)]


@pytest.mark.parametrize(
    ("language", "requested", "went", "old"),
    [
        ("en", "requested for", "What arrived went to", "For repair"),
        ("ko", "요청한 수리:", "도착한 부품을 배정한 수리", "해당 수리"),
    ],
)
def test_the_order_page_no_longer_says_for_b_when_the_part_went_to_a(
    client, desk, two_waiting, language, requested, went, old
):
    a, b = two_waiting
    s.parts_order_receive(order_id=order_of(b).pk)
    client.force_login(desk)
    html = client.get("/desk/parts-orders/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    block = _order_block(html, order_of(b).pk)
    assert f"{requested} {b.ticket_number}" in block
    went_to = block[block.index(went) :]
    assert a.ticket_number in went_to and b.ticket_number not in went_to
    assert old not in html


def test_an_open_order_shows_what_its_partial_delivery_went_to(client, desk, two_waiting, spring):
    from parts import services as ps

    a, b = two_waiting
    order = ps.parts_order_request(center_id=a.center_id, lines=[(spring, 2, b)])
    s.parts_order_receive(order_id=order.pk, lines=[("CLIP-SPRING-01", 1)])
    client.force_login(desk)
    html = client.get("/desk/parts-orders/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    block = _order_block(html, order.pk)
    assert "Requested for" in block and b.ticket_number in block
    assert a.ticket_number in block[block.index("What arrived went to") :]


def _page_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/desk/parts-orders/")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_orders_page_runs_a_constant_number_of_queries(
    client, desk, make_repair, tech, center, spring, in_warranty, django_assert_num_queries
):
    stock(center, spring, 0)
    client.force_login(desk)

    def received_orders(first: int, n: int) -> None:
        for i in range(first, first + n):
            waiting_repair(make_repair, desk, tech, in_warranty.serial_number, i)
        for order in PartsOrder.objects.filter(state="requested").order_by("pk")[: n // 2]:
            s.parts_order_receive(order_id=order.pk)

    received_orders(1, 2)
    few = _page_queries(client)
    received_orders(10, 8)
    assert _page_queries(client) == few
    # session, user, role groups, profile, center; open orders (the first 50) and their lines,
    # how many are open; recent orders and their lines; the served events.
    with django_assert_num_queries(11):
        client.get("/desk/parts-orders/")


def test_the_served_read_is_one_query(center, two_waiting, django_assert_num_queries):
    from workflows import page_selectors

    a, b = two_waiting
    a_order, b_order = order_of(a).pk, order_of(b).pk
    s.parts_order_receive(order_id=b_order)
    s.parts_order_receive(order_id=a_order)
    with django_assert_num_queries(1):
        served = page_selectors.parts_orders_served(
            center_id=center.pk, order_ids=[a_order, b_order]
        )
    assert [x.ticket_number for x in served[b_order]] == [a.ticket_number]
    assert [x.ticket_number for x in served[a_order]] == [b.ticket_number]
    assert served[a_order][0].parts == [("CLIP-SPRING-01", 1)]


def test_the_list_of_orders_still_reads_its_lines(desk_api, two_waiting):
    a, b = two_waiting
    results = get(desk_api, "/parts-orders/").json()["results"]
    assert {r["lines"][0]["ticket_number"] for r in results} == {a.ticket_number, b.ticket_number}
