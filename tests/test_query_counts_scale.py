"""No page or list reads rows it does not show (issue 14): the number of queries of each list is
the same at 3 rows as at 40, and the lists slice in SQL. The board, the technician's list, the
call list and the board's search are in tests/test_board_sql.py, the reports page in
tests/test_reports.py; this file has the rest (the API's repair list and its order, the desk's
list and search, the parts-order page, the CSV export, the stock page)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token

from parts.models import PartsOrder, PartsOrderLine, Stock, StockMovement
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import client_for, get
from tests.test_board_sql import _clone, _promise
from workflows.choices import State

pytestmark = pytest.mark.django_db


def _queries(run) -> tuple[int, list[str], object]:
    with CaptureQueriesContext(connection) as ctx:
        result = run()
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries], result


@pytest.fixture
def template(make_repair):
    return make_repair(customer={"name": "대량", "phone": "010-7777-0000"})


@pytest.fixture
def api(desk):
    client = client_for(desk)
    get(client, "/repairs/")  # the token row: counted from here
    return client


def _api_list(client, **params):
    def run():
        response = get(client, "/repairs/", **params)
        assert response.status_code == 200, response.json()
        return response.json()

    return _queries(run)


def test_the_api_repair_list_runs_the_same_queries_at_3_and_40_and_reads_one_page(api, template):
    _clone(template, 2, state=State.DIAGNOSING)
    few, _, body = _api_list(api, page_size=25)
    assert body["count"] == 3
    _clone(template, 37, state=State.CLOSED)
    many, sql, body = _api_list(api, page_size=25)
    assert body["count"] == 40 and len(body["results"]) == 25
    assert few == many
    rows = [q for q in sql if "LIMIT" in q and "workflows_repair" in q and "COUNT" not in q]
    assert rows, sql  # the page is cut by the database, not by Python


def test_the_api_list_is_overdue_first_then_newest_on_every_page(api, template):
    repairs = [template, *_clone(template, 39, state=State.AWAITING_PARTS)]
    late = [repairs[i] for i in (1, 7, 20, 33)]  # scattered in age
    for repair in late:
        _promise(repair, -2)
    _promise(repairs[5], +5)  # due later: not overdue
    _promise(repairs[9], -3, fulfilled_at=timezone.now())  # kept: not overdue
    by_age = sorted(repairs, key=lambda r: (r.created_at, r.pk), reverse=True)
    expected = [r.ticket_number for r in by_age if r in late]
    expected += [r.ticket_number for r in by_age if r not in late]
    shown = []
    for page in range(1, 5):
        _, _, body = _api_list(api, page_size=10, page=page)
        shown += [r["ticket_number"] for r in body["results"]]
        assert body["count"] == 40
    assert shown == expected
    _, _, body = _api_list(api, overdue="true")
    assert [r["ticket_number"] for r in body["results"]] == expected[:4]
    assert all(r["has_overdue_promise"] for r in body["results"])


def test_the_api_search_runs_the_same_queries_at_3_and_40_matches(api, template):
    _clone(template, 2)
    few, _, body = _api_list(api, q="7777-0000", page_size=25)
    assert body["count"] == 3
    _clone(template, 37, state=State.CLOSED)
    many, _, body = _api_list(api, q="7777-0000", page_size=25)
    assert body["count"] == 40 and len(body["results"]) == 25 and few == many
    assert _api_list(api, q="대량", page_size=25)[0] == few


def _page(client, url, **params):
    def run():
        response = client.get(url, params)
        assert response.status_code == 200
        return response.content.decode()

    return _queries(run)


def test_the_desk_list_and_its_search_run_the_same_queries_at_3_and_40(client, desk, template):
    client.force_login(desk)
    _page(client, "/desk/repairs/")  # session, groups
    _clone(template, 2, state=State.CLOSED)
    listed, _, _ = _page(client, "/desk/repairs/", state="closed")
    found, _, html = _page(client, "/desk/repairs/", state="", q="대량")
    assert template.ticket_number in html
    _clone(template, 38, state=State.CLOSED)
    assert _page(client, "/desk/repairs/", state="closed")[0] == listed
    assert _page(client, "/desk/repairs/", state="", q="대량")[0] == found


def _open_orders(center, part, n):
    orders = PartsOrder.objects.bulk_create(
        [PartsOrder(center=center, state="requested", created_at=timezone.now()) for _ in range(n)]
    )
    PartsOrderLine.objects.bulk_create(
        [PartsOrderLine(order=o, part=part, quantity=1) for o in orders]
    )


def test_the_parts_order_page_runs_the_same_queries_and_shows_at_most_50_of_60(
    client, desk, center, spring
):
    client.force_login(desk)
    _page(client, "/desk/parts-orders/")
    _open_orders(center, spring, 3)
    few, _, html = _page(client, "/desk/parts-orders/")
    assert html.count('class="order"') == 3
    _open_orders(center, spring, 57)
    many, _, html = _page(client, "/desk/parts-orders/")
    assert few == many
    assert html.count('class="order"') == 50 and '<span class="count">60</span>' in html


def _csv(client, manager, since, until):
    token = Token.objects.get_or_create(user=manager)[0].key

    def run():
        response = client.get(
            f"/api/v1/reports/repairs.csv?from={since}&to={until}",
            HTTP_AUTHORIZATION=f"Token {token}",
        )
        assert response.status_code == 200
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        return sum(1 for _ in io.StringIO(body)) - 1  # rows after the header

    return run


def test_the_csv_export_runs_the_same_queries_at_3_and_40_repairs(client, manager, template):
    today = timezone.localdate()
    run = _csv(client, manager, today - dt.timedelta(days=10), today)
    run()
    _clone(template, 2, state=State.CLOSED)
    few, _, rows = _queries(run)
    assert rows == 3
    _clone(template, 37, state=State.CLOSED)
    many, _, rows = _queries(run)
    assert rows == 40 and few == many


def test_the_stock_page_runs_the_same_queries_at_3_and_40_movements(
    client, manager, center, spring
):
    client.force_login(manager)
    _page(client, "/desk/stock/")

    stock = Stock.objects.create(center=center, part=spring, on_hand=0)
    made = [0]

    def moves(n):  # n counts of one unit each, the stock row kept equal to their sum
        first = made[0]
        StockMovement.objects.bulk_create(
            [
                StockMovement(
                    center=center, part=spring, kind="adjust", delta_on_hand=1, reason=f"m{i}"
                )
                for i in range(first, first + n)
            ]
        )
        made[0] = first + n
        Stock.objects.filter(pk=stock.pk).update(on_hand=first + n)

    moves(3)
    few, _, _ = _page(client, "/desk/stock/")
    moves(37)
    many, _, html = _page(client, "/desk/stock/")
    assert few == many and "m39" in html and "m10" not in html  # newest first, one page
