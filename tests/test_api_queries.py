"""Constant query counts: the detail, the list (5 rows or 50), the public status lookup."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import stock
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import client_for, get, post
from workflows import services as s

pytestmark = pytest.mark.django_db

# Measured: token+user+profile+roles (1: the groups are EXISTS in the token's query) + the repair
# (1) + reservations (1) + promises (1) + events (1) + appointments (1) + the customer's other
# repairs (1), after the narrow visibility check every request runs before the body cache is
# asked (1; a hit stops there: tests/test_detail_cache.py). It was 8 with a second query for the
# groups, then 7.
DETAIL_QUERIES = 8
# key lookup (1), then the repair, reservations, events, promises, appointments
PUBLIC_QUERIES = 6


def _busy_repair(make_repair, desk, tech, spring, battery, center):
    stock(center, spring, 1)
    stock(center, battery, 0)
    make_repair(symptom="an earlier one")
    repair = s.repair_assign(repair=make_repair(), actor=desk, technician=tech)
    s.repair_set_coverage(repair=repair, actor=desk, coverage="paid", reason="agreed")
    parts = [{"part_number": spring.part_number}, {"part_number": battery.part_number}]
    s.repair_diagnose(repair=repair, actor=tech, findings="x", parts=parts, labor_fee=1000)
    for n in range(5):
        s.repair_record_call(repair=repair, actor=desk, text=f"call {n}")
        s.repair_record_promise(
            repair=repair,
            actor=desk,
            kind="callback",
            due_at=timezone.now() + dt.timedelta(days=n + 1),
        )
    return repair


def test_repair_detail_runs_a_constant_number_of_queries(
    make_repair, desk, tech, spring, battery, center, django_assert_num_queries
):
    repair = _busy_repair(make_repair, desk, tech, spring, battery, center)
    client = client_for(desk)
    with django_assert_num_queries(DETAIL_QUERIES):
        response = get(client, f"/repairs/{repair.ticket_number}/")
    assert response.status_code == 200
    assert len(response.json()["timeline"]) > 10 and len(response.json()["reservations"]) == 2


def _list_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = get(client, "/repairs/", page_size=50)
    assert response.status_code == 200
    return len(captured), len(response.json()["results"])


def test_repair_list_runs_the_same_queries_for_5_rows_as_for_50(
    make_repair, desk, tech, spring, battery, center, django_assert_max_num_queries
):
    client = client_for(desk)
    get(client, "/repairs/")  # warm the token row in nothing but the DB: count from here
    for _ in range(3):
        _busy_repair(make_repair, desk, tech, spring, battery, center)
    five_queries, five_rows = _list_queries(client)
    for n in range(44):
        s.repair_assign(repair=make_repair(symptom=f"r{n}"), actor=desk, technician=tech)
    fifty_queries, fifty_rows = _list_queries(client)
    assert (five_rows, fifty_rows) == (6, 50)
    assert five_queries == fifty_queries
    with django_assert_max_num_queries(5):  # auth 1, count 1, rows 1, reservations 1
        get(client, "/repairs/", page_size=50, overdue="true", state="diagnosing,received")


def test_public_status_runs_a_constant_number_of_queries(
    make_repair, desk, tech, spring, battery, center, anon_api, django_assert_num_queries
):
    repair = _busy_repair(make_repair, desk, tech, spring, battery, center)
    body = {"ticket_number": repair.ticket_number, "phone_last4": "6789"}
    with django_assert_num_queries(PUBLIC_QUERIES):
        response = post(anon_api, "/public/status/", body)
    assert response.status_code == 200
    with django_assert_num_queries(0):  # the ticket's digits are remembered: a guess is free
        assert post(anon_api, "/public/status/", {**body, "phone_last4": "0000"}).status_code == 404
    unknown = {**body, "ticket_number": "GN-1-X"}
    with django_assert_num_queries(1):  # an unknown ticket: one query the first time...
        assert post(anon_api, "/public/status/", unknown).status_code == 404
    with django_assert_num_queries(0):  # ...and remembered as unknown, so repeats cost the same
        assert post(anon_api, "/public/status/", unknown).status_code == 404
