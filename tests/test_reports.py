"""The manager's reports: each figure against a hand-built fortnight with known durations
(tests/reports_support.py), the queries they take, and who may open /manager/."""

import datetime as dt

import pytest

from service_center.services import staff_create
from tests.conftest import PASSWORD
from tests.reports_support import FROM, NOW, TO, at, build_fortnight, period, set_timeline
from workflows import reports

pytestmark = pytest.mark.django_db


@pytest.fixture
def fortnight(make_repair, desk, tech, other_center):
    return build_fortnight(make_repair, desk=desk, tech=tech, other_center=other_center)


def _hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


def test_turnaround_by_iso_week_counts_average_and_median(fortnight, center):
    weeks = reports.turnaround(period(center))
    assert [(w.label, w.taken_in, w.closed) for w in weeks] == [
        ("2026-W02", 3, 3),
        ("2026-W03", 4, 2),
    ]
    w02, w03 = weeks
    assert w02.average == _hours(88) and w02.median == _hours(96)
    assert reports.days(w02.average) == 3.7 and reports.days(w02.median) == 4.0
    # The cancelled repair (G) and the one still waiting (E) have no turnaround.
    assert w03.average == _hours(48) and w03.median == _hours(48)


def test_time_in_each_state_from_the_timeline(fortnight, center):
    states, _parts = reports.time_in_states(period(center), NOW)
    by = {s.state: s for s in states}
    assert (by["received"].stays, by["received"].average, by["received"].longest) == (
        7,
        _hours(3),
        _hours(10),
    )
    assert (by["diagnosing"].stays, by["diagnosing"].average) == (6, _hours(2))
    # The self-transition (a deposit while awaiting approval) does not split the stay.
    assert (by["awaiting_approval"].stays, by["awaiting_approval"].average) == (1, _hours(2))
    assert (by["ready_for_pickup"].stays, by["ready_for_pickup"].average) == (5, _hours(42.8))
    assert by["in_repair"].longest == _hours(7)
    assert "closed" not in by and "cancelled" not in by


def test_parts_waiting_counts_the_stay_still_going_on_up_to_now(fortnight, center):
    _states, parts = reports.time_in_states(period(center), NOW)
    assert (parts.stays, parts.ongoing) == (3, 1)
    assert parts.longest == _hours(452)  # E: 13 Jan 13:00 to 1 Feb 09:00
    assert parts.average == (_hours(72) + _hours(24) + _hours(452)) / 3
    assert parts.buckets == [("<1", 0), ("1-3", 1), ("3-7", 1), ("7-14", 0), ("14+", 1)]


def test_overdue_and_late_promises_by_the_staff_member_who_made_them(fortnight, center):
    rows = {p.name: p for p in reports.promises_by_staff(period(center), NOW)}
    assert set(rows) == {"tech", "desk"}
    tech, desk = rows["tech"], rows["desk"]
    assert (tech.due, tech.kept_on_time, tech.kept_late, tech.overdue_open) == (3, 1, 1, 1)
    assert (desk.due, desk.kept_on_time, desk.kept_late, desk.overdue_open) == (2, 0, 0, 1)


def test_a_promise_not_yet_due_is_not_overdue(fortnight, center):
    before = at(10, 8)  # before tech's open promise of 10 Jan 09:00 and desk's of 13 Jan
    rows = {p.name: p for p in reports.promises_by_staff(period(center), before)}
    assert rows["tech"].overdue_open == 0 and rows["desk"].overdue_open == 0


def test_first_time_fix_and_comeback_rates(fortnight, center):
    fixes = reports.fix_rates(period(center))
    assert (fixes.taken_in, fixes.repaired_closed, fixes.fixed_first_time, fixes.comebacks) == (
        7,
        5,
        4,
        1,
    )
    assert fixes.first_time_fix_rate == 80.0 and fixes.comeback_rate == 14.3


def test_appointments_kept_missed_withdrawn(fortnight, center):
    visits = reports.appointments(period(center), NOW)
    assert (visits.kept, visits.missed, visits.withdrawn, visits.cancelled, visits.upcoming) == (
        1,
        1,
        1,
        1,
        0,
    )
    assert visits.kept_rate == 50.0
    earlier = reports.appointments(period(center), at(12, 8))
    assert (earlier.missed, earlier.upcoming) == (0, 1)


def test_another_centers_repairs_are_never_counted(fortnight, center, other_center):
    theirs = reports.report(reports.Period(other_center.pk, FROM, TO), NOW)
    assert [(w.taken_in, w.closed) for w in theirs.weeks] == [(1, 1)]
    assert theirs.parts.stays == 1 and theirs.fixes.taken_in == 1
    assert [p.name for p in theirs.promises] == ["desk_sc"]
    assert theirs.visits.kept == 1


def test_an_empty_range_has_no_figures(center):
    got = reports.report(reports.Period(center.pk, FROM, TO), NOW)
    assert got.weeks == [] and got.promises == []
    assert got.fixes.first_time_fix_rate is None and got.visits.kept_rate is None
    assert all(s.stays == 0 and s.average is None for s in got.states)


def test_the_figures_take_seven_queries_whatever_the_number_of_repairs(
    make_repair, center, django_assert_num_queries
):
    for count in (1, 6):
        for _ in range(count):
            set_timeline(make_repair(), at(6), [(0, "received"), (3, "diagnosing"), (9, "closed")])
        with django_assert_num_queries(7):
            reports.report(period(center), NOW)


def test_default_range_is_the_last_eight_weeks():
    assert reports.default_range(dt.date(2026, 3, 1)) == (dt.date(2026, 1, 5), dt.date(2026, 3, 1))


# --- the page ------------------------------------------------------------------------------


def test_the_manager_sees_every_figure_with_its_chart_and_table(client, manager, fortnight):
    client.force_login(manager)
    response = client.get(f"/manager/?from={FROM}&to={TO}")
    assert response.status_code == 200
    html = response.content.decode()
    for section in ("turnaround", "states", "parts-waiting", "promises", "fixes", "visits"):
        assert f'id="{section}"' in html
    assert html.count('<svg class="chart"') == 6 and html.count('role="img"') == 6
    assert "<title>2026-W02:" in html
    assert 'id="ftf-rate">80.0%' in html and 'id="comeback-rate">14.3%' in html
    assert f"/api/v1/reports/repairs.csv?from={FROM}&amp;to={TO}" in html


def test_the_page_is_in_english_too(client, manager, fortnight):
    client.force_login(manager)
    client.post("/i18n/setlang/", {"language": "en", "next": "/manager/"})
    html = client.get(f"/manager/?from={FROM}&to={TO}").content.decode()
    assert "Time in each state" in html and "Download CSV" in html
    client.post("/i18n/setlang/", {"language": "ko", "next": "/manager/"})
    html = client.get(f"/manager/?from={FROM}&to={TO}").content.decode()
    assert "Time in each state" not in html and "CSV 내려받기" in html


def test_the_navigation_links_managers_to_the_reports(client, manager, desk):
    client.force_login(manager)
    assert 'href="/manager/"' in client.get("/desk/").content.decode()
    client.force_login(desk)
    assert 'href="/manager/"' not in client.get("/desk/").content.decode()


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-13-01&to=2026-01-01", "from", "날짜를 YYYY-MM-DD 형식으로 입력하세요."),
        ("from=2026-02-01&to=2026-01-01", "to", "끝 날짜가 시작 날짜보다 앞입니다."),
        ("from=2024-01-01&to=2026-01-01", "to", "한 번에 366일까지입니다."),
        ("from=2026-01-01&to=2026-1-x", "to", "날짜를 YYYY-MM-DD 형식으로 입력하세요."),
        ("from=0001-01-01", "from", "2000년부터 2100년 사이의 날짜를 입력하세요."),
    ],
)
def test_bad_dates_get_a_message_beside_the_field_and_keep_what_was_typed(
    client, manager, center, query, field, message
):
    client.force_login(manager)
    response = client.get("/manager/?" + query)
    assert response.status_code == 400
    html = response.content.decode()
    beside = html.split(f'id="{field}-error">', 1)[1].split("</div>", 1)[0]
    assert message in beside
    for name, typed in (pair.split("=", 1) for pair in query.split("&")):
        assert f'name="{name}" type="date" value="{typed}"' in html
    assert 'id="turnaround"' not in html  # no figures for a range that was refused


def test_nul_bytes_in_the_dates_are_refused_before_the_page(client, manager, center):
    client.force_login(manager)
    response = client.get("/manager/?from=%00&to=x%00y")
    assert response.status_code == 400  # core.middleware: no NUL reaches a query


def test_desk_and_technician_get_403_and_anonymous_is_sent_to_sign_in(client, desk, tech):
    for user in (desk, tech):
        client.force_login(user)
        assert client.get("/manager/").status_code == 403
    client.logout()
    response = client.get("/manager/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_manager_cannot_see_another_centers_reports(client, fortnight, other_center):
    theirs = staff_create(
        username="manager_sc", role="manager", center_code=other_center.code, password=PASSWORD
    )
    client.force_login(theirs)
    html = client.get(f"/manager/?from={FROM}&to={TO}").content.decode()
    assert "2026-W02" in html and 'id="ftf-rate">100.0%' in html  # their one repair only
    assert client.get(f"/manager/?from={FROM}&to={TO}&center=GN").status_code == 403


def test_a_superuser_chooses_the_center(client, fortnight, center, other_center):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(root)
    html = client.get(f"/manager/?from={FROM}&to={TO}&center=SC").content.decode()
    assert '<option value="SC" selected>' in html and 'id="ftf-rate">100.0%' in html
    html = client.get(f"/manager/?from={FROM}&to={TO}&center=GN").content.decode()
    assert 'id="ftf-rate">80.0%' in html and "center=GN" in html
    response = client.get("/manager/?center=NOPE")
    assert response.status_code == 400


def test_the_page_takes_the_same_queries_whatever_the_number_of_repairs(
    client, manager, make_repair, django_assert_num_queries
):
    client.force_login(manager)
    client.get("/manager/")  # the session and the user's groups warmed once
    counts = []
    for count in (1, 8):
        for _ in range(count):
            make_repair()
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/manager/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    with django_assert_num_queries(counts[0]):
        client.get("/manager/")
