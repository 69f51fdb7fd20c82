"""Appointments: free slots only while the readiness gate holds, booking through a unique index,
the invitation carrying the visit, the visit withdrawn (and the customer told once) when a
blocker appears, and one reminder the day before."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.errors import ValidationFailed
from tests.appointments_support import at, bookable, open_day, public_book, public_slots
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import client_for, get, transition
from workflows import services as s
from workflows.models import Appointment, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _seoul(settings):
    settings.TIME_ZONE = "Asia/Seoul"


@pytest.fixture
def repair(make_repair, desk, tech, in_warranty):
    return bookable(make_repair, desk, tech, in_warranty.serial_number)


def booked(repair, hour=11):
    day = open_day()
    s.repair_book_appointment(repair=repair, actor=s.SYSTEM_ACTOR, start=at(day, hour))
    return Appointment.objects.get(repair=repair, status="booked")


def test_a_ready_repair_offers_every_slot_of_the_opening_hours(anon_api, repair):
    response = public_slots(anon_api, repair, open_day())
    assert response.status_code == 200
    slots = response.json()["slots"]
    assert len(slots) == 16  # 10:00 to 18:00 in 30 minutes
    first = dt.datetime.fromisoformat(slots[0]["start"])
    assert timezone.localtime(first).time() == dt.time(10, 0)
    assert dt.datetime.fromisoformat(slots[-1]["end"]).astimezone(first.tzinfo).hour == 18


def test_a_slot_the_technician_has_booked_is_not_offered(
    anon_api, repair, make_repair, desk, tech, in_warranty
):
    other = bookable(make_repair, desk, tech, in_warranty.serial_number, n=1111)
    booked(repair, hour=11)
    slots = public_slots(anon_api, other, open_day(), n=1111).json()["slots"]
    starts = [timezone.localtime(dt.datetime.fromisoformat(x["start"])).time() for x in slots]
    assert dt.time(11, 0) not in starts and dt.time(10, 30) in starts and len(starts) == 15


def test_slots_are_refused_with_the_blockers_while_the_gate_is_closed(anon_api, make_repair, desk):
    repair = make_repair(device_in_shop=False)  # coverage undetermined, nobody assigned
    response = public_slots(anon_api, repair, open_day())
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "transition_blocked"
    codes = {b["code"] for b in body["blockers"]}
    assert {"wrong_state", "coverage_undetermined", "no_technician"} <= codes


def test_a_device_already_in_the_shop_needs_no_visit(
    anon_api, make_repair, desk, tech, in_warranty
):
    repair = make_repair(serial_number=in_warranty.serial_number, device_in_shop=True)
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    s.repair_diagnose(repair=repair, actor=tech, findings="x")
    response = public_slots(anon_api, repair, open_day())
    assert response.status_code == 409
    assert [b["code"] for b in response.json()["blockers"]] == ["device_in_shop"]


@pytest.mark.parametrize("days", [-1, 31, 400])
def test_a_date_out_of_range_is_refused(anon_api, repair, days):
    day = timezone.localdate() + dt.timedelta(days=days)
    response = public_slots(anon_api, repair, day)
    assert response.status_code == 400
    assert "date" in response.json()["errors"]


@pytest.mark.parametrize("value", ["", "tomorrow", "2026-02-30", "2026-12-0\x001", None])
def test_a_date_that_is_not_one_is_refused(anon_api, repair, value):
    response = public_slots(anon_api, repair, value)
    assert response.status_code == 400


def test_a_closed_day_has_no_slots(anon_api, repair):
    day = open_day()
    while day.weekday() != 6:  # Sunday: "012345" leaves it out
        day += dt.timedelta(days=1)
    assert public_slots(anon_api, repair, day).json() == {"slots": []}


def test_today_offers_only_slots_that_start_later(repair, monkeypatch):
    # The clock stands at 13:10 on a weekday the center is open, whatever day the test runs.
    day = open_day()
    monkeypatch.setattr(timezone, "now", lambda: at(day, 13, 10))
    starts = [slot["start"] for slot in s.free_slots(repair, day)]
    # 13:00 has begun; 13:30 to 17:30 are left (the last one ends at closing, 18:00).
    assert starts == [at(day, 13, 30) + dt.timedelta(minutes=30 * i) for i in range(9)]


def test_the_customer_books_a_slot_and_that_is_the_invitation(anon_api, repair, outbox):
    start = at(open_day(), 14, 30)
    response = public_book(anon_api, repair, start)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "booked"
    assert dt.datetime.fromisoformat(body["start"]) == start
    assert dt.datetime.fromisoformat(body["end"]) == start + dt.timedelta(minutes=30)
    repair.refresh_from_db()
    assert repair.invited_at is not None and repair.promised_ready_by == start + dt.timedelta(
        minutes=30
    )
    invitation = Notification.objects.get(repair=repair, kind="invite_for_repair")
    assert f"{timezone.localtime(start):%Y-%m-%d %H:%M}" in invitation.body
    assert Appointment.objects.get(repair=repair).booked_by == "customer"


def test_the_status_and_the_detail_carry_the_appointment(anon_api, desk_api, repair):
    start = at(open_day(), 10)
    public_book(anon_api, repair, start)
    status = public_slots(anon_api, repair, open_day())  # still offered? no: already booked
    assert status.status_code == 200
    public = anon_api.post(
        "/api/v1/public/status/",
        {"ticket_number": repair.ticket_number, "phone_last4": "6789"},
        format="json",
    ).json()
    assert public["appointment"]["status"] == "booked" and public["can_book"] is False
    detail = get(desk_api, f"/repairs/{repair.ticket_number}/").json()
    assert dt.datetime.fromisoformat(detail["appointment"]["start"]) == start


def test_a_repair_books_one_visit_at_a_time(anon_api, repair):
    assert public_book(anon_api, repair, at(open_day(), 10)).status_code == 200
    again = public_book(anon_api, repair, at(open_day(), 11))
    assert again.status_code == 409 and again.json()["code"] == "already_booked"
    assert Appointment.objects.filter(repair=repair).count() == 1


def test_a_taken_slot_is_409_slot_taken(anon_api, repair, make_repair, desk, tech, in_warranty):
    other = bookable(make_repair, desk, tech, in_warranty.serial_number, n=1111)
    booked(repair, hour=11)
    response = public_book(anon_api, other, at(open_day(), 11), n=1111)
    assert response.status_code == 409 and response.json()["code"] == "slot_taken"
    other.refresh_from_db()
    assert other.invited_at is None
    assert not Notification.objects.filter(repair=other, kind="invite_for_repair").exists()


@pytest.mark.parametrize("start", ["2020-01-01T10:00", "nonsense", "10:15"])
def test_a_time_that_is_not_a_free_slot_is_refused(anon_api, repair, start):
    if start == "10:15":
        start = at(open_day(), 10, 15).isoformat()
    response = public_book(anon_api, repair, start)
    assert response.status_code == 400 and "start" in response.json()["errors"]
    assert not Appointment.objects.exists()


def test_a_wrong_phone_books_nothing(anon_api, repair):
    response = public_book(anon_api, repair, at(open_day(), 10), n=1234)
    assert response.status_code == 404
    assert not Appointment.objects.exists()


def test_staff_see_the_slots_and_invite_with_one(desk_api, tech_api, other_tech_api, repair):
    path = f"/repairs/{repair.ticket_number}/slots/"
    assert get(tech_api, path, date=str(open_day())).status_code == 200
    assert get(other_tech_api, path, date=str(open_day())).status_code in (403, 404)
    assert get(desk_api, path, date="yesterday").status_code == 400
    start = at(open_day(), 16)
    response = transition(
        desk_api, repair.ticket_number, "invite_for_repair", {"appointment_start": start}
    )
    assert response.status_code == 200, response.content
    assert response.json()["appointment"]["status"] == "booked"
    assert Appointment.objects.get(repair=repair).booked_by == "desk"


def test_staff_inviting_with_a_taken_slot_changes_nothing(
    desk_api, repair, make_repair, desk, tech, in_warranty
):
    other = bookable(make_repair, desk, tech, in_warranty.serial_number, n=1111)
    booked(other, hour=16)
    response = transition(
        desk_api,
        repair.ticket_number,
        "invite_for_repair",
        {"appointment_start": at(open_day(), 16)},
    )
    assert response.status_code == 409 and response.json()["code"] == "slot_taken"
    repair.refresh_from_db()
    assert repair.invited_at is None


def withdrawn_messages(repair):
    return list(Notification.objects.filter(repair=repair, kind="appt_withdrawn"))


def test_a_coverage_change_withdraws_the_visit_and_tells_the_customer_once(repair, manager):
    appointment = booked(repair)
    s.repair_set_coverage(repair=repair, actor=manager, coverage="paid", reason="parallel import")
    appointment.refresh_from_db()
    assert appointment.status == "withdrawn"
    assert appointment.withdrawn_reason == "quote_not_approved"
    (message,) = withdrawn_messages(repair)
    assert "견적" in message.body and repair.center.phone in message.body


def test_cancelling_the_repair_withdraws_the_visit(repair, desk):
    appointment = booked(repair)
    s.repair_cancel(repair=repair, actor=desk, reason="고객 요청")
    appointment.refresh_from_db()
    assert appointment.status == "withdrawn" and appointment.withdrawn_reason == "wrong_state"
    assert len(withdrawn_messages(repair)) == 1


def test_a_cancelled_parts_order_withdraws_the_visit(repair, spring, center):
    from parts import services as parts_services
    from parts.models import Reservation, ReservationStatus

    appointment = booked(repair)
    # A part the visit counted on is needed again (taken back for another repair, say): the
    # repair waits for it on an order, which is then cancelled.
    Reservation.objects.create(
        repair=repair,
        center=center,
        part=spring,
        quantity=1,
        unit_price=spring.unit_price,
        status=ReservationStatus.WAITING,
    )
    order = parts_services.parts_order_request(center_id=center.pk, lines=[(spring, 1, repair)])
    s.parts_order_cancel(order_id=order.pk, reason="단종")
    appointment.refresh_from_db()
    assert appointment.status == "withdrawn"
    assert appointment.withdrawn_reason == "parts_not_on_hand"
    assert len(withdrawn_messages(repair)) == 1


def test_a_rolled_back_change_keeps_the_visit_and_says_nothing(repair, manager):
    appointment = booked(repair)
    with pytest.raises(ValidationFailed):
        s.repair_set_coverage(repair=repair, actor=manager, coverage="warranty", reason="same")
    appointment.refresh_from_db()
    assert appointment.status == "booked" and withdrawn_messages(repair) == []


def test_checking_the_device_in_marks_the_visit_done_without_a_message(repair, desk):
    appointment = booked(repair)
    s.repair_check_in_device(repair=repair, actor=desk)
    appointment.refresh_from_db()
    assert appointment.status == "done" and withdrawn_messages(repair) == []


def test_the_day_before_one_reminder_goes_out_however_often_it_runs(repair):
    appointment = booked(repair)
    day_before = at(timezone.localtime(appointment.start).date() - dt.timedelta(days=1), 9)
    two_days_before = day_before - dt.timedelta(days=1)
    assert s.send_appointment_reminders(now=two_days_before) == 0
    assert s.send_appointment_reminders(now=day_before) == 1
    assert s.send_appointment_reminders(now=day_before) == 0
    (reminder,) = Notification.objects.filter(repair=repair, kind="appt_reminder")
    assert f"{timezone.localtime(appointment.start):%H:%M}" in reminder.body


def test_a_withdrawn_visit_gets_no_reminder(repair, manager):
    appointment = booked(repair)
    s.repair_set_coverage(repair=repair, actor=manager, coverage="paid", reason="parallel import")
    day_before = at(timezone.localtime(appointment.start).date() - dt.timedelta(days=1), 9)
    assert s.send_appointment_reminders(now=day_before) == 0


def test_public_slots_run_a_constant_number_of_queries(
    anon_api, repair, make_repair, desk, tech, in_warranty, django_assert_num_queries
):
    day = open_day()
    public_slots(anon_api, repair, day)  # the ticket's phone digits are remembered from now on
    # the repair, reservations, events, order lines, appointments, the technician's bookings
    with django_assert_num_queries(6) as few:
        assert public_slots(anon_api, repair, day).status_code == 200
    for hour in (10, 11, 12, 13):
        other = bookable(make_repair, desk, tech, in_warranty.serial_number, n=2000 + hour)
        booked(other, hour=hour)
    with django_assert_num_queries(len(few.captured_queries)):
        slots = public_slots(anon_api, repair, day).json()["slots"]
    assert len(slots) == 12


def test_staff_slots_run_a_constant_number_of_queries(desk, repair, django_assert_num_queries):
    client = client_for(desk)
    path = f"/repairs/{repair.ticket_number}/slots/"
    # token with its user's groups, the repair, its reservations, the technician's bookings
    with django_assert_num_queries(4):
        assert get(client, path, date=str(open_day())).status_code == 200


def test_the_reminder_command_queues_tomorrows_reminders_once(repair, capsys):
    from django.core.management import call_command

    start = timezone.make_aware(
        dt.datetime.combine(timezone.localdate() + dt.timedelta(days=1), dt.time(10, 0))
    )
    Appointment.objects.create(
        repair=repair,
        center=repair.center,
        technician=repair.technician,
        start=start,
        end=start + dt.timedelta(minutes=30),
        booked_by="desk",
    )
    call_command("send_appointment_reminders")
    call_command("send_appointment_reminders")
    assert capsys.readouterr().out.split() == ["queued", "1", "queued", "0"]
    assert Notification.objects.filter(repair=repair, kind="appt_reminder").count() == 1
