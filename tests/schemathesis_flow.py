"""schemathesis fixtures of the repair flow (requote, visit times): each operation gets a repair
in the state it needs, so generated cases reach the code behind the checks."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")


def open_day() -> str:
    """A day within the booking window that the demo center (Mon-Sat) takes visits on."""
    day = dt.datetime.now(SEOUL).date() + dt.timedelta(days=2)
    while day.weekday() == 6:
        day += dt.timedelta(days=1)
    return f"{day}"


def flow_operations(fx, operation, *, tech: str, tech_token: str) -> list[str]:
    repairs = "/api/v1/repairs/{ticket_number}"
    day = open_day()

    def pair(ticket: str) -> dict:
        phone = fx.api.ok("GET", f"/api/v1/repairs/{ticket}/")["customer"]["phone"]
        digits = "".join(filter(str.isdigit, phone))[-4:]
        return {"body.ticket_number": ticket, "body.phone_last4": digits, "body.date": day}

    booking = fx.ready_to_repair(in_shop=False)
    free = fx.api.ok("GET", f"/api/v1/repairs/{booking}/slots/?date={day}")["slots"]
    requote = fx.in_repair()
    return [
        operation(
            "POST",
            f"{repairs}/transitions/requote/",
            {"path.ticket_number": requote, "body.reason": "fixture"},
            token=tech_token,
        ),
        operation(
            "GET",
            f"{repairs}/slots/",
            {"path.ticket_number": fx.ready_to_repair(in_shop=False), "query.date": day},
        ),
        operation("POST", "/api/v1/public/slots/", pair(fx.ready_to_repair(in_shop=False))),
        operation(
            "POST", "/api/v1/public/book/", {**pair(booking), "body.start": free[-1]["start"]}
        ),
    ]
