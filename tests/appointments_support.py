"""Helpers for the appointment tests: a repair the customer may book a visit for, and the next
open day. (No tests here.)"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tests.test_api_support import post
from workflows import services as s
from workflows.models import Repair


def bookable(make_repair, desk, tech, serial: str, n: int = 6789) -> Repair:
    """A warranty repair, nothing to order, the device still with the customer (phone
    010-2345-nnnn): ready_to_repair, not yet invited."""
    repair = make_repair(
        customer={"name": f"고객{n}", "phone": f"010-2345-{n:04d}"},
        serial_number=serial,
        device_in_shop=False,
    )
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    repair = s.repair_diagnose(repair=repair, actor=tech, findings="스프링 교체")
    assert repair.state == "ready_to_repair"
    return repair


def open_day(days_ahead: int = 1) -> dt.date:
    """The first Monday-to-Friday date at least `days_ahead` days from today (Seoul)."""
    day = timezone.localdate() + dt.timedelta(days=days_ahead)
    while day.weekday() > 4:
        day += dt.timedelta(days=1)
    return day


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def lookup(repair: Repair, n: int = 6789, **fields) -> dict:
    return {"ticket_number": repair.ticket_number, "phone_last4": f"{n:04d}", **fields}


def public_slots(client, repair: Repair, day, n: int = 6789):
    return post(client, "/public/slots/", lookup(repair, n, date=str(day)))


def public_book(client, repair: Repair, start, n: int = 6789):
    value = start.isoformat() if isinstance(start, dt.datetime) else start
    return post(client, "/public/book/", lookup(repair, n, start=value))
