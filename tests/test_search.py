"""Search: one selector (workflows.selectors.search_repairs) behind `GET /api/v1/repairs/?q=`
and the desk's search box; closed and cancelled repairs included, own center only."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import get
from workflows import services as s
from workflows.choices import State
from workflows.models import Repair

pytestmark = pytest.mark.django_db


def _close(repair: Repair, desk, tech) -> Repair:
    """Walk a paid repair (no parts, no fee) through to closed."""
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    if repair.coverage == "undetermined":
        s.repair_set_coverage(repair=repair, actor=desk, coverage="paid", reason="유상 합의")
    s.repair_diagnose(repair=repair, actor=tech, findings="점검", labor_fee=0)
    s.repair_approve(repair=repair, actor=desk)
    s.repair_start(repair=repair, actor=tech)
    s.repair_complete(repair=repair, actor=tech, work_notes="완료")
    s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
    return s.repair_hand_over(repair=repair, actor=desk, amount_paid=0)


@pytest.fixture
def closed_one(make_repair, expired, desk, tech):
    repair = make_repair(
        serial_number=expired.serial_number,
        customer={"name": "박서준", "phone": "010-9876-5432"},
    )
    return _close(repair, desk, tech)


@pytest.fixture
def foreign_repair(other_center, foreign_desk, expired, headset):
    return s.repair_intake(
        center=other_center,
        actor=foreign_desk,
        customer={"name": "박서준", "phone": "010-9876-5432"},
        symptom="다른 센터",
        serial_number=expired.serial_number,
    )


def tickets(client, q, **params) -> list[str]:
    response = get(client, "/repairs/", q=q, **params)
    assert response.status_code == 200, response.json()
    return [r["ticket_number"] for r in response.json()["results"]]


@pytest.mark.parametrize(
    "q",
    [
        "박서준",
        "서준",
        "hbs1100-old1",
        "HBS1100 OLD1",
        "HBS-1100",
        "블루투스 헤드셋",
        "5432",
        "010-9876-5432",
    ],
)
def test_a_closed_repair_is_found_by_name_serial_model_and_phone(
    q, closed_one, foreign_repair, make_repair, desk_api
):
    make_repair(customer={"name": "김민지", "phone": "010-2345-6789"}, product_model="HBS-1100")
    found = tickets(desk_api, q)
    assert closed_one.state == State.CLOSED and closed_one.ticket_number in found
    assert foreign_repair.ticket_number not in found  # another center's: never
    if q not in ("HBS-1100", "블루투스 헤드셋"):
        assert len(found) == 1  # the other repair here matches only by model


def test_by_ticket_and_a_cancelled_repair_is_found_too(make_repair, desk, desk_api):
    cancelled = s.repair_cancel(
        repair=make_repair(device_in_shop=False), actor=desk, reason="고객 취소"
    )
    assert tickets(desk_api, cancelled.ticket_number.lower()) == [cancelled.ticket_number]
    assert tickets(desk_api, "김민지") == [cancelled.ticket_number]


def test_another_center_searching_finds_only_its_own(closed_one, foreign_repair, foreign_api):
    assert tickets(foreign_api, "박서준") == [foreign_repair.ticket_number]
    assert tickets(foreign_api, closed_one.ticket_number) == []


@pytest.mark.parametrize("q", ["a\x00b", "x" * 1000, "\x07"])
def test_nul_bytes_and_a_1000_character_query_are_400_never_500(
    q, desk_api, make_repair, client, desk
):
    make_repair()
    response = get(desk_api, "/repairs/", q=q)
    assert response.status_code == 400
    # Control characters never get past the middleware; a long query is the field's error.
    code = "invalid" if q.isprintable() else "bad_request"
    assert response.json()["code"] == code
    if code == "invalid":
        assert "q" in response.json()["errors"]
    client.force_login(desk)
    for url in ("/desk/", "/desk/repairs/"):
        page = client.get(url, {"q": q})
        assert page.status_code == 400
        if code == "invalid":
            assert 'class="ferr"' in page.content.decode() and "x" * 1000 in page.content.decode()


def _search_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = get(client, "/repairs/", q="김민지", page_size=50)
    assert response.status_code == 200
    return len(captured), len(response.json()["results"])


def test_the_search_runs_the_same_queries_for_3_or_30_results(make_repair, desk_api):
    for _ in range(3):
        make_repair()
    few, three = _search_queries(desk_api)
    for _ in range(27):
        make_repair()
    many, thirty = _search_queries(desk_api)
    assert (three, thirty) == (3, 30) and few == many


def test_the_search_is_paginated(make_repair, desk_api):
    for _ in range(3):
        make_repair()
    body = get(desk_api, "/repairs/", q="김민지", page_size=2).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]


def test_the_desk_box_and_the_closed_list_use_the_same_search(
    client, desk, closed_one, foreign_repair, make_repair, settings, django_assert_num_queries
):
    client.force_login(desk)
    board = client.get("/desk/", {"q": "박서준"})
    assert board.status_code == 302 and closed_one.ticket_number in board["Location"]
    open_one = make_repair()
    for lang, title in (("ko", "종료된 수리"), ("en", "Closed repairs")):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
        html = client.get("/desk/repairs/", {"state": "closed"}).content.decode()
        assert title in html and closed_one.ticket_number in html
        assert open_one.ticket_number not in html and foreign_repair.ticket_number not in html
    html = client.get("/desk/repairs/", {"state": "", "q": "김민지"}).content.decode()
    assert open_one.ticket_number in html and closed_one.ticket_number not in html


def test_the_closed_list_is_paginated_with_constant_queries(client, desk, tech, make_repair):
    client.force_login(desk)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/desk/repairs/", {"state": "closed"})
        assert response.status_code == 200
        return len(captured)

    _close(make_repair(), desk, tech)
    one = queries()
    for _ in range(26):
        _close(make_repair(), desk, tech)
    assert queries() == one
    second = client.get("/desk/repairs/", {"state": "closed", "page": "2"}).content.decode()
    assert "Page 2 of 2" in second or "2쪽 중 2쪽" in second
    assert client.get("/desk/repairs/", {"page": "zzz"}).status_code == 200
    assert client.get("/desk/repairs/", {"state": "nope"}).status_code == 400
