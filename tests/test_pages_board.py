"""The desk board: columns by state, overdue promises first, search, constant query count."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from workflows import services as s


def _board_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/desk/")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _many(make_repair, desk, tech, n, start=0):
    for i in range(start, start + n):
        repair = make_repair(customer={"name": f"고객{i}", "phone": f"010-5555-{i:04d}"})
        if i % 3 == 0:
            s.repair_assign(repair=repair, actor=desk, technician=tech)
        if i % 4 == 0:
            s.repair_record_promise(
                repair=repair,
                actor=desk,
                kind="callback",
                due_at=timezone.now() - dt.timedelta(hours=1),
            )


def test_the_board_runs_the_same_number_of_queries_for_5_and_30_repairs(
    client, desk, tech, make_repair
):
    client.force_login(desk)
    _many(make_repair, desk, tech, 5)
    with_five = _board_queries(client)
    _many(make_repair, desk, tech, 25, start=5)
    with_thirty = _board_queries(client)
    assert with_thirty == with_five
    assert with_five <= 12


def test_repairs_with_overdue_promises_come_first(client, desk, make_repair):
    calm = make_repair(customer={"name": "평온", "phone": "010-1111-2222"})
    late = make_repair(customer={"name": "지연", "phone": "010-3333-4444"})
    s.repair_record_promise(
        repair=late, actor=desk, kind="callback", due_at=timezone.now() - dt.timedelta(hours=2)
    )
    client.force_login(desk)
    html = client.get("/desk/").content.decode()
    overdue_strip = html[html.index('id="overdue"') : html.index('class="board"')]
    assert late.ticket_number in overdue_strip
    assert calm.ticket_number not in overdue_strip
    column = html[html.index('class="column col-received"') :]
    assert column.index(late.ticket_number) < column.index(calm.ticket_number)


def test_the_board_finds_a_repair_by_phone_or_ticket(client, desk, make_repair):
    one = make_repair(customer={"name": "가", "phone": "010-1234-0001"})
    make_repair(customer={"name": "나", "phone": "010-1234-0002"})
    client.force_login(desk)
    by_phone = client.get("/desk/", {"q": "0001"})
    assert by_phone.status_code == 302 and by_phone["Location"].endswith(f"/{one.ticket_number}/")
    by_ticket = client.get("/desk/", {"q": one.ticket_number.lower()})
    assert by_ticket["Location"].endswith(f"/{one.ticket_number}/")
    both = client.get("/desk/", {"q": "010-1234"})
    assert both.status_code == 200
    assert one.ticket_number in both.content.decode()


def test_a_long_column_shows_its_first_cards_and_says_how_many_there_are(client, desk, make_repair):
    from workflows.page_selectors import COLUMN_LIMIT

    for i in range(COLUMN_LIMIT + 5):
        make_repair(customer={"name": f"고객{i}", "phone": f"010-6666-{i:04d}"})
    client.force_login(desk)
    html = client.get("/desk/").content.decode()
    column = html[html.index('class="column col-received"') :]
    column = column[: column.index("</section>")]
    assert column.count('<article class="rcard') == COLUMN_LIMIT
    assert f'<span class="count">{COLUMN_LIMIT + 5}</span>' in column
