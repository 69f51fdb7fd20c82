"""The customer books a visit on a phone (390 px) in a real Chromium: picks a date, sees the free
times, books one. Screenshots go to tests/screenshots/ (gitignored)."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.appointments_support import bookable, open_day
from tests.test_browser_pages import _shot, browser, pytestmark  # noqa: F401 - the setup
from workflows.models import Appointment, Notification


@pytest.fixture(autouse=True)
def _seoul(settings):
    settings.TIME_ZONE = "Asia/Seoul"


def test_the_customer_books_a_visit_on_a_phone(
    browser,  # noqa: F811 - the shared Chromium fixture
    live_server,
    make_repair,
    desk,
    tech,
    in_warranty,
):
    repair = bookable(make_repair, desk, tech, in_warranty.serial_number)
    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="ko-KR",
    )
    page = phone.new_page()
    page.set_default_timeout(10000)
    day = open_day()
    page.goto(live_server.url + f"/status/t/{repair.status_token}/")
    assert page.locator("#booking").count() == 1
    page.fill("#visit-date", f"{day}")
    with page.expect_navigation():
        page.click("#booking .datepick button[type=submit]")
    assert page.locator(".slots .slot").count() == 16
    _shot(page, "appt_01_slots")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width})"

    with page.expect_navigation():
        page.click(".slots .slot >> text=14:30")
    appointment = Appointment.objects.get(repair=repair)
    assert appointment.status == "booked"
    assert timezone.localtime(appointment.start) == timezone.make_aware(
        dt.datetime.combine(day, dt.time(14, 30))
    )
    assert page.locator("#booking").count() == 0
    assert "14:30" in page.locator("#appointment .visit-time").inner_text()
    assert Notification.objects.filter(repair=repair, kind="invite_for_repair").count() == 1
    _shot(page, "appt_02_booked")
    phone.close()
