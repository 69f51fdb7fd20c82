"""GET /api/v1/stock/movements/?part=&since=: the center's stock ledger, newest first."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from parts.models import PartsOrder, StockMovement
from tests.conftest import PASSWORD, stock
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import client_for, get
from workflows import services as s
from workflows.services import supply

pytestmark = pytest.mark.django_db
PATH = "/stock/movements/"


def rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def adjust(center, part, delta, reason="실사", user=None):
    supply.stock_adjust(center=center, part=part, delta=delta, reason=reason, actor_user=user)


@pytest.fixture
def waited_and_received(make_repair, desk, tech, center, spring, expired):
    """A repair whose spring waited, then arrived on a parts order received by the desk."""
    stock(center, spring, 0)
    repair = make_repair(serial_number=expired.serial_number)
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    s.repair_diagnose(
        repair=repair, actor=tech, findings="교체", parts=[{"part_number": spring.part_number}]
    )
    order = PartsOrder.objects.get()
    supply.parts_order_receive(order_id=order.pk, actor_user=desk)
    return repair, order


def test_rows_come_newest_first_with_the_repair_the_order_and_who(waited_and_received, desk):
    repair, order = waited_and_received

    found = rows(get(client_for(desk), PATH))

    assert [(r["kind"], r["delta_on_hand"], r["delta_reserved"]) for r in found] == [
        ("reserve", 0, 1),
        ("receive", 1, 0),
    ]
    reserve = found[0]
    assert set(reserve) == {
        "id",
        "at",
        "center",
        "part_number",
        "kind",
        "delta_on_hand",
        "delta_reserved",
        "reason",
        "ticket_number",
        "parts_order",
        "by",
    }
    assert (reserve["center"], reserve["part_number"]) == ("GN", "CLIP-SPRING-01")
    assert (reserve["ticket_number"], reserve["parts_order"], reserve["by"]) == (
        repair.ticket_number,
        order.pk,
        "desk",
    )
    assert found[1]["ticket_number"] is None  # the delivery itself is for the shelf


def test_the_adjustment_reason_is_listed(manager, center, spring):
    stock(center, spring, 1)
    adjust(center, spring, 4, reason="창고에서 4개 발견", user=manager)

    found = rows(get(client_for(manager), PATH))

    assert [(r["kind"], r["reason"], r["by"]) for r in found] == [
        ("adjust", "창고에서 4개 발견", "manager"),
        ("adjust", "opening balance", None),
    ]


def test_part_filters_by_part_number(desk, center, spring, battery):
    stock(center, spring, 2)
    stock(center, battery, 3)

    found = rows(get(client_for(desk), PATH, part="HBS-BATT"))

    assert [(r["part_number"], r["delta_on_hand"]) for r in found] == [("HBS-BATT", 3)]


def test_since_takes_a_date_or_a_date_and_time(desk, center, spring):
    stock(center, spring, 1)
    StockMovement.objects.update(created_at=timezone.now() - dt.timedelta(days=10))
    adjust(center, spring, 2)
    client = client_for(desk)
    today = timezone.localdate()

    assert [r["delta_on_hand"] for r in rows(get(client, PATH, since=today.isoformat()))] == [2]
    week_ago = (timezone.localtime() - dt.timedelta(days=7)).isoformat()
    assert [r["delta_on_hand"] for r in rows(get(client, PATH, since=week_ago))] == [2]
    month_ago = today - dt.timedelta(days=30)
    assert [r["delta_on_hand"] for r in rows(get(client, PATH, since=month_ago))] == [2, 1]


def test_it_is_paginated_like_the_other_lists(desk, center, spring):
    stock(center, spring, 1)
    for _ in range(4):
        adjust(center, spring, 1)

    page = get(client_for(desk), PATH, page_size=2).json()

    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"part": "NO-SUCH-PART"}, "part"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-13-45"}, "since"),
        ({"since": "2026-01-01T25:00"}, "since"),
        ({"since": "0001-01-01"}, "since"),
        ({"since": "9999-12-31T23:59:59-12:00"}, "since"),
        ({"since": "2" * 500}, "since"),
        ({"center": "NOPE"}, "center"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(desk, center, spring, params, field):
    stock(center, spring, 1)

    response = get(client_for(desk), PATH, **params)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["detail"]
    assert list(body["errors"]) == [field]


@pytest.mark.parametrize("params", [{"part": "CLIP\x00SPRING"}, {"since": "2026-01-01\x00"}])
def test_a_nul_in_the_query_is_refused_before_the_database(desk, params):
    response = get(client_for(desk), PATH, **params)
    assert (response.status_code, response.json()["code"]) == (400, "bad_request")


def test_another_centers_staff_sees_none_of_yours(
    waited_and_received, foreign_desk, other_center, spring
):
    stock(other_center, spring, 7)
    assert StockMovement.objects.filter(center__code="GN").count() == 2
    client = client_for(foreign_desk)

    found = rows(get(client, PATH))

    assert [(r["center"], r["part_number"], r["delta_on_hand"]) for r in found] == [
        ("SC", "CLIP-SPRING-01", 7)
    ]
    assert rows(get(client, PATH, part="CLIP-SPRING-01")) == found
    asked = get(client, PATH, center="GN")
    assert asked.status_code == 403 and asked.json()["code"] == "permission_denied"


def test_a_superuser_sees_every_center_or_the_one_asked_for(
    waited_and_received, other_center, spring
):
    stock(other_center, spring, 7)
    root = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    client = client_for(root)

    assert {r["center"] for r in rows(get(client, PATH))} == {"GN", "SC"}
    assert {r["center"] for r in rows(get(client, PATH, center="SC"))} == {"SC"}


def test_it_needs_staff(anon_api):
    response = get(anon_api, PATH)
    assert response.status_code in (401, 403)


def _queries(client, **params) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        found = rows(get(client, PATH, page_size=100, **params))
    return len(captured), len(found)


def test_the_list_runs_the_same_queries_for_3_rows_as_for_60(
    make_repair, desk, tech, manager, center, spring, expired, django_assert_num_queries
):
    stock(center, spring, 1)
    client = client_for(desk)
    rows(get(client, PATH))  # the token row exists from here on
    adjust(center, spring, 2, user=manager)
    repair = make_repair(serial_number=expired.serial_number)
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    s.repair_diagnose(
        repair=repair, actor=tech, findings="x", parts=[{"part_number": spring.part_number}]
    )
    few = _queries(client)
    for n in range(57):
        adjust(center, spring, 1, reason=f"입고 {n}", user=manager)
    many = _queries(client)

    assert (few[1], many[1]) == (3, 60)
    assert few[0] == many[0]
    with django_assert_num_queries(3):  # token + user + groups (1), count (1), rows (1)
        get(client, PATH, page_size=100)
    with django_assert_num_queries(4):  # ... and the part number's part (1)
        get(client, PATH, page_size=100, part="CLIP-SPRING-01", since="2020-01-01")
