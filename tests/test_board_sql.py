"""The board and the lists in SQL (issue 14): the database picks the cards shown (overdue first,
then oldest, 30 per column), counts the columns in one aggregate, and the number of queries does
not change with the number of open repairs."""

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from workflows import page_selectors as sel
from workflows.choices import State
from workflows.models import Promise, Repair

_serial = itertools.count(1)


def _clone(template, n, *, state=State.RECEIVED, technician=None, age_from=0):
    """n copies of `template` in `state`, created `age_from + i` hours ago (oldest first in
    the returned list), bulk-inserted: a full column in a few queries."""
    fields = model_to_dict(
        template, exclude=["id", "ticket_number", "status_token", "created_at", "state"]
    )
    fields = {
        k: v
        for k, v in fields.items()
        if k not in ("center", "customer", "device", "product_model", "technician", "created_by")
        and k not in ("comeback_of",)
    }
    now = timezone.now()
    rows = []
    for i in range(n):
        k = next(_serial)
        rows.append(
            Repair(
                **fields,
                state=state,
                ticket_number=f"T-BULK-{k:06d}",
                status_token=f"tok{k:029d}",
                center_id=template.center_id,
                customer_id=template.customer_id,
                device_id=template.device_id,
                product_model_id=template.product_model_id,
                technician=technician,
                created_by_id=template.created_by_id,
                created_at=now - dt.timedelta(hours=age_from + n - i),
            )
        )
    return Repair.objects.bulk_create(rows)


def _promise(repair, hours_from_now, **fields):
    return Promise.objects.create(
        repair=repair,
        kind="callback",
        due_at=timezone.now() + dt.timedelta(hours=hours_from_now),
        **fields,
    )


def _column(html, state):
    column = html[html.index(f'class="column col-{state}"') :]
    column = column[: column.index("</section>")]
    return [
        part.split('"', 1)[0] for part in column.split('data-ticket="')[1:]
    ]  # tickets in page order


@pytest.fixture
def template(make_repair):
    return make_repair(customer={"name": "대량", "phone": "010-7777-0000"})


def _page_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_board_runs_the_same_queries_with_5_and_80_repairs_in_a_column(
    client, desk, tech, template, django_assert_num_queries
):
    client.force_login(desk)
    center_id = template.center_id
    for i, r in enumerate(_clone(template, 4)):
        if i % 2 == 0:
            _promise(r, -1)
    with django_assert_num_queries(2):  # column counts, the cards' narrow rows
        small = sel.desk_board(center_id=center_id)
    at_five = _page_queries(client, "/desk/")
    for i, r in enumerate(_clone(template, 75, technician=tech, age_from=10)):
        if i % 3 == 0:
            _promise(r, -2)
        elif i % 3 == 1:
            _promise(r, 5)
    with django_assert_num_queries(2):
        big = sel.desk_board(center_id=center_id)
    with django_assert_num_queries(at_five):
        response = client.get("/desk/")
    assert small.total == 5 and big.total == 80
    assert len(_column(response.content.decode(), "received")) == sel.COLUMN_LIMIT


def _expected_order(repairs, now):
    """The board's order computed in Python from every row: overdue first (earliest broken
    promise first), then oldest."""

    def overdue_since(r):
        due = [p.due_at for p in r.promises.all() if p.is_open and p.due_at < now]
        return min(due) if due else None

    keyed = [(overdue_since(r), r) for r in repairs]
    late = sorted((k for k in keyed if k[0]), key=lambda k: (k[0], k[1].created_at, k[1].pk))
    calm = sorted((k for k in keyed if not k[0]), key=lambda k: (k[1].created_at, k[1].pk))
    return [r.ticket_number for _, r in late], [r.ticket_number for _, r in calm]


def test_the_board_shows_the_right_30_cards_of_a_longer_column_overdue_first(
    client, desk, template
):
    received = _clone(template, 40)
    # Overdue: the newest ones too, and ties on the due time broken by age.
    for index, hours in [(38, -5), (20, -3), (35, -1), (39, -1), (2, -8)]:
        _promise(received[index], hours)
    _promise(received[39], -10, fulfilled_at=timezone.now())  # kept: not what makes it late
    _promise(received[37], -6, withdrawn_at=timezone.now())  # withdrawn: never overdue
    _promise(received[36], 4)  # not due yet
    diagnosing = _clone(template, 33, state=State.DIAGNOSING, age_from=100)
    for i, r in enumerate(diagnosing[:32]):
        _promise(r, -20 - i % 7)
    _clone(template, 3, state=State.CLOSED)  # closed: on no column and in no count
    template.delete()  # the intake's own repair: keep the columns to the clones

    client.force_login(desk)
    response = client.get("/desk/")
    html = response.content.decode()
    now = timezone.now()
    board = response.context["board"]
    for state, rows, total in [(State.RECEIVED, received, 40), (State.DIAGNOSING, diagnosing, 33)]:
        late, calm = _expected_order(Repair.objects.filter(pk__in=[r.pk for r in rows]), now)
        assert _column(html, state.value) == (late + calm)[: sel.COLUMN_LIMIT]
        column = html[html.index(f'class="column col-{state.value}"') :]
        column = column[: column.index("</section>")]
        assert f'<span class="count">{total}</span>' in column
    assert board.total == 73
    every = Repair.objects.filter(pk__in=[r.pk for r in received + diagnosing])
    late, _calm = _expected_order(every, now)
    assert len(late) == 37
    strip = html[html.index('id="overdue"') : html.index('class="board"')]
    assert [part.split('"', 1)[0] for part in strip.split('data-ticket="')[1:]] == late[:30]
    # A withdrawn promise does not pull its repair up: third newest of 40, it is not shown.
    assert received[37].ticket_number not in html
    late_received = _column(html, "received")[:5]
    assert received[39].ticket_number in late_received  # open and late beside a kept one


def _fill_tech(template, tech, n, age_from):
    for state in (State.DIAGNOSING, State.IN_REPAIR, State.AWAITING_PARTS, State.REPAIRED):
        for i, r in enumerate(_clone(template, n, state=state, technician=tech, age_from=age_from)):
            if i % 2:
                _promise(r, -1 - i)
    _clone(template, n, state=State.RECEIVED, age_from=age_from)  # unassigned at the center


def test_the_technicians_list_runs_the_same_queries_and_shows_30_per_group_at_5_and_80(
    client, tech, template, django_assert_num_queries
):
    client.force_login(tech)
    _fill_tech(template, tech, 5, age_from=0)
    with django_assert_num_queries(4):  # card ids, cards, their open promises, counts
        small = sel.technician_repairs(user=tech)
    with django_assert_num_queries(2):
        first, waiting = sel.unassigned_repairs(center_id=template.center_id)
    assert small.total == 20 and len(first) == waiting == 6  # with the intake's own repair
    at_five = _page_queries(client, "/tech/")
    _fill_tech(template, tech, 75, age_from=10)
    with django_assert_num_queries(4):
        big = sel.technician_repairs(user=tech)
    with django_assert_num_queries(at_five):
        response = client.get("/tech/")
    assert big.total == 320
    assert len(big.cards) == 4 * sel.COLUMN_LIMIT  # no row read that is not shown
    _label, cards, count = response.context["groups"][0]  # to diagnose
    assert count == 80 and len(cards) == sel.COLUMN_LIMIT
    assert all(r.state == State.DIAGNOSING for r in cards)
    # 40 of the 80 have a late promise: they fill the group, the latest broken promise last
    assert all(r.overdue_since for r in cards)
    assert [r.overdue_since for r in cards] == sorted(r.overdue_since for r in cards)
    assert len(response.context["unassigned"]) == sel.COLUMN_LIMIT
    assert response.context["unassigned_count"] == 81
    html = response.content.decode()
    assert '<span class="count">80</span>' in html and '<span class="count">81</span>' in html


def _fill_calls(template, desk, n, age_from):
    from workflows.models import RepairEvent

    for state in (State.AWAITING_APPROVAL, State.READY_FOR_PICKUP):
        for i, r in enumerate(_clone(template, n, state=state, age_from=age_from)):
            _promise(r, -1 - i if i % 2 else 2 + i % 20)
            for k in range(3):
                RepairEvent.objects.create(
                    repair=r, kind="call", actor_name=f"desk{k}", at=timezone.now()
                )


def test_the_call_list_runs_the_same_queries_and_stays_bounded_at_5_and_80(
    client, desk, template, django_assert_num_queries
):
    client.force_login(desk)
    _fill_calls(template, desk, 5, age_from=0)
    with django_assert_num_queries(8):
        small = sel.call_list(center_id=template.center_id)
    assert small.waiting_count == 10 and len(small.waiting_on_customer) == 10
    assert all(
        len(r.calls) == 1 and r.calls[0].actor_name == "desk2" for r in small.waiting_on_customer
    )
    at_five = _page_queries(client, "/desk/calls/")
    _fill_calls(template, desk, 80, age_from=10)
    with django_assert_num_queries(8):
        big = sel.call_list(center_id=template.center_id)
    with django_assert_num_queries(at_five):
        response = client.get("/desk/calls/")
    assert big.waiting_count == 170 and len(big.waiting_on_customer) == sel.CALL_LIMIT
    assert big.overdue_count == 84 and len(big.overdue) == 84
    assert big.due_soon_count == 86 and len(big.due_soon) == 86
    assert all(len(r.calls) == 1 for r in big.waiting_on_customer)  # the last call only
    assert [p.due_at for p in big.overdue] == sorted(p.due_at for p in big.overdue)
    assert '<span class="count">170</span>' in response.content.decode()


def test_the_board_search_runs_the_same_queries_and_reads_at_most_one_row_more_at_5_and_80(
    client, desk, template, django_assert_num_queries
):
    client.force_login(desk)
    for i, r in enumerate(_clone(template, 4, state=State.CLOSED)):
        if i % 2:
            _promise(r, -1)
    with django_assert_num_queries(2):  # the matches (one more than shown), their promises
        small = sel.desk_board(center_id=template.center_id, query="대량")
    at_five = _page_queries(client, "/desk/?q=%EB%8C%80%EB%9F%89")
    _clone(template, 75, age_from=10)
    with CaptureQueriesContext(connection) as ctx:
        big = sel.desk_board(center_id=template.center_id, query="대량")
    assert len(ctx.captured_queries) == 2
    assert f"LIMIT {sel.SEARCH_LIMIT + 1}" in ctx.captured_queries[0]["sql"]
    with django_assert_num_queries(at_five):
        client.get("/desk/?q=%EB%8C%80%EB%9F%89")
    assert len(small.results) == 5 and not small.more
    assert len(big.results) == sel.SEARCH_LIMIT and big.more
    assert sum(1 for r in small.results if r.overdue_since) == 2


# --- the cards drawn once and kept (workflows/board_cards.py) -----------------------------------


def test_a_board_whose_cards_are_all_drawn_reads_no_repair_rows(client, desk, tech, template):
    """The second look at the board takes every card from the cache: the queries are the same
    with 5 and with 80 cards, and fewer than the first look (no card is read or prefetched)."""
    client.force_login(desk)
    _clone(template, 4)
    first = _page_queries(client, "/desk/")
    warm_small = _page_queries(client, "/desk/")
    for i, r in enumerate(_clone(template, 75, technician=tech, age_from=10)):
        if i % 3 == 0:
            _promise(r, -2)
    client.get("/desk/")  # draws the new cards
    warm_big = _page_queries(client, "/desk/")
    assert warm_small == warm_big == first - 2


def test_an_event_of_a_repair_draws_its_card_again(client, desk, tech, template):
    """A card kept in the cache is drawn again after any event of its repair: here the
    technician assigned shows on the board at once."""
    from workflows import services

    client.force_login(desk)
    html = client.get("/desk/", headers={"accept-language": "ko"}).content.decode()
    card = html[html.index(f'data-ticket="{template.ticket_number}"') :].split("</article>")[0]
    assert "기사 미배정" in card
    services.repair_assign(repair=template, actor=desk, technician=tech)
    html = client.get("/desk/").content.decode()
    assert f'data-ticket="{template.ticket_number}"' in _column_html(html, "diagnosing")
    card = html[html.index(f'data-ticket="{template.ticket_number}"') :].split("</article>")[0]
    name = tech.staff_profile.display_name or tech.username
    assert name in card


def test_a_promise_falling_due_draws_the_card_again_without_an_event(client, desk, template):
    """A promise written straight to the table (no event, so no new stamp) that is already due:
    the card's key carries `overdue_since`, so the card is drawn again, overdue."""
    client.force_login(desk)
    html = client.get("/desk/").content.decode()
    assert "rcard overdue" not in html
    _promise(template, -1)
    html = client.get("/desk/").content.decode()
    card = html[html.index(f'data-ticket="{template.ticket_number}"') :].split("</article>")[0]
    assert "rcard overdue" in html and "badge-red" in card


def test_cards_are_kept_per_language(client, desk, template):
    client.force_login(desk)
    korean = client.get("/desk/", headers={"accept-language": "ko"}).content.decode()
    client.cookies["django_language"] = "en"
    english = client.get("/desk/", headers={"accept-language": "en"}).content.decode()
    assert "기사 미배정" in korean and "No technician" not in korean
    assert "No technician" in english


def _column_html(html, state):
    column = html[html.index(f'class="column col-{state}"') :]
    return column[: column.index("</section>")]


def _card(html, repair):
    return html[html.index(f'data-ticket="{repair.ticket_number}"') :].split("</article>")[0]


def _later(monkeypatch, minutes):
    moved = timezone.now() + dt.timedelta(minutes=minutes)
    monkeypatch.setattr(timezone, "now", lambda: moved)


def test_a_kept_card_says_how_late_it_is_now_not_when_it_was_drawn(
    client, desk, template, monkeypatch
):
    """The card is kept past the minute it was drawn in (no card is read again), and its
    "overdue · …" is worked out at each look."""
    client.force_login(desk)
    _promise(template, -2)
    english = {"accept-language": "en"}
    client.cookies["django_language"] = "en"
    first = client.get("/desk/", headers=english).content.decode()
    assert "Promise overdue · 2\xa0hours<" in _card(first, template)
    warm = _page_queries(client, "/desk/")
    _later(monkeypatch, 61)
    assert _page_queries(client, "/desk/") == warm  # still kept: no card read or drawn
    html = client.get("/desk/", headers=english).content.decode()
    assert "Promise overdue · 3\xa0hours, 1\xa0minute<" in _card(html, template)


def test_a_kept_card_is_drawn_again_when_its_next_promise_falls_due(
    client, desk, template, monkeypatch
):
    """Its first late promise (`overdue_since`) stays the same, but the next one turns late: the
    kept card said it was not, so it is drawn again."""
    client.force_login(desk)
    _promise(template, -1)
    _promise(template, 1)
    html = client.get("/desk/").content.decode()
    assert _card(html, template).count('class="text-red"') == 1
    warm = _page_queries(client, "/desk/")
    _later(monkeypatch, 90)
    assert _page_queries(client, "/desk/") == warm + 2  # that card read and drawn again
    html = client.get("/desk/").content.decode()
    assert _card(html, template).count('class="text-red"') == 2
    assert _page_queries(client, "/desk/") == warm  # and kept again
