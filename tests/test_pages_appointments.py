"""Visits on the pages: the customer's status page picks a date and books a free time; the desk
books on the phone from the repair page; the board lists today's visits per technician."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.appointments_support import at, bookable, open_day
from workflows import services as s
from workflows.models import Appointment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _seoul(settings):
    settings.TIME_ZONE = "Asia/Seoul"


@pytest.fixture
def repair(make_repair, desk, tech, in_warranty):
    return bookable(make_repair, desk, tech, in_warranty.serial_number)


def status_url(repair):
    return f"/status/t/{repair.status_token}/"


@pytest.mark.parametrize(
    ("language", "heading", "button"),
    [("ko", "방문 예약하기", "빈 시간 보기"), ("en", "Book a visit", "Show free times")],
)
def test_the_status_page_offers_the_free_times_of_a_date(client, repair, language, heading, button):
    client.cookies["django_language"] = language
    response = client.get(status_url(repair), {"date": f"{open_day()}"})
    html = response.content.decode()
    assert response.status_code == 200
    assert heading in html and button in html
    assert html.count('class="btn slot"') == 16


def test_a_past_date_is_refused_beside_the_field_and_kept(client, repair):
    past = f"{timezone.localdate() - dt.timedelta(days=3)}"
    response = client.get(status_url(repair), {"date": past})
    html = response.content.decode()
    assert response.status_code == 400
    assert "오늘부터 30일 이내의 날짜를 고르세요." in html
    assert f'value="{past}"' in html
    assert 'class="btn slot"' not in html


def test_the_status_page_offers_no_booking_while_the_gate_is_closed(client, make_repair):
    repair = make_repair(device_in_shop=False)
    html = client.get(status_url(repair)).content.decode()
    assert 'id="booking"' not in html


def test_the_customer_books_from_the_status_page(client, repair):
    start = at(open_day(), 13)
    response = client.post(status_url(repair) + "book/", {"start": start.isoformat()})
    assert response.status_code == 302
    assert Appointment.objects.get(repair=repair).start == start
    html = client.get(status_url(repair)).content.decode()
    assert 'id="appointment"' in html and "13:00" in html and 'id="booking"' not in html


def test_a_taken_time_on_the_status_page_says_so(
    client, repair, make_repair, desk, tech, in_warranty
):
    other = bookable(make_repair, desk, tech, in_warranty.serial_number, n=1111)
    start = at(open_day(), 13)
    s.repair_book_appointment(repair=other, actor=s.SYSTEM_ACTOR, start=start)
    response = client.post(status_url(repair) + "book/", {"start": start.isoformat()})
    assert response.status_code == 409
    assert "방금 다른 분이 예약한 시간입니다" in response.content.decode()
    assert not Appointment.objects.filter(repair=repair).exists()


def test_the_desk_books_a_visit_on_the_phone(client, desk, repair):
    client.force_login(desk)
    page = client.get(f"/desk/repairs/{repair.ticket_number}/", {"visit_date": f"{open_day()}"})
    assert page.content.decode().count('class="btn slot"') == 16
    start = at(open_day(), 15, 30)
    response = client.post(
        f"/desk/repairs/{repair.ticket_number}/visit/", {"start": start.isoformat()}
    )
    assert response.status_code == 302
    visit = Appointment.objects.get(repair=repair)
    assert visit.start == start and visit.booked_by == "desk"
    repair.refresh_from_db()
    assert repair.invited_at is not None


def test_a_bad_time_from_the_desk_is_said_beside_the_slots(client, desk, repair):
    client.force_login(desk)
    response = client.post(f"/desk/repairs/{repair.ticket_number}/visit/", {"start": "soon"})
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_the_board_lists_todays_visits_per_technician(client, desk, tech, repair, center):
    now = timezone.localtime()
    Appointment.objects.create(
        repair=repair,
        center=center,
        technician=tech,
        start=now.replace(hour=0, minute=0, second=0, microsecond=0),
        end=now.replace(hour=0, minute=30, second=0, microsecond=0),
        booked_by="desk",
    )
    client.force_login(desk)
    html = client.get("/desk/").content.decode()
    assert 'id="visits"' in html and repair.ticket_number in html
