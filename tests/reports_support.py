"""A hand-built fortnight at center GN with known durations, for the reports' tests.

Repairs are taken in through the intake service, then their intake time and timeline are set
by hand: each repair's events are replaced by transitions at known hours after intake, and its
state, completed_at and closed_at follow the last one. The figures the tests expect are worked
out in the comments below.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from service_center.services import staff_create
from tests.conftest import PASSWORD
from workflows import reports
from workflows import services as s
from workflows.models import Appointment, Promise, Repair, RepairEvent
from workflows.texts import CoverageReason

FROM, TO = dt.date(2026, 1, 5), dt.date(2026, 1, 18)  # ISO weeks 2026-W02 and W03
NOW = timezone.make_aware(dt.datetime(2026, 2, 1, 9, 0))


def at(day: int, hour: int = 9, minute: int = 0, month: int = 1) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, month, day, hour, minute))


# (intake, [(hours after intake, to_state), ...]); a repeated state is a self-transition.
TIMELINES = {
    # W02. Turnaround 120 h, 48 h, 96 h: average 88 h (3.7 days), median 96 h (4.0 days).
    "A": (
        at(5),
        [
            (0, "received"),
            (2, "diagnosing"),
            (4, "awaiting_approval"),
            (5, "awaiting_approval"),  # a deposit: no change of state, not a stay
            (6, "awaiting_parts"),  # 72 h waiting for parts (3 days)
            (78, "ready_to_repair"),
            (79, "in_repair"),
            (81, "repaired"),
            (82, "ready_for_pickup"),
            (120, "closed"),
        ],
    ),
    "B": (
        at(6),
        [
            (0, "received"),
            (1, "diagnosing"),
            (3, "ready_to_repair"),
            (4, "in_repair"),
            (10, "repaired"),
            (12, "ready_for_pickup"),
            (48, "closed"),
        ],
    ),
    "C": (
        at(7),
        [
            (0, "received"),
            (4, "diagnosing"),
            (8, "awaiting_parts"),  # 24 h (1 day)
            (32, "ready_to_repair"),
            (33, "in_repair"),
            (40, "repaired"),
            (41, "ready_for_pickup"),
            (96, "closed"),
        ],
    ),
    # W03. Closed: D 24 h and H 72 h (average and median 48 h, 2.0 days); E still waits for
    # parts (from 13 Jan 13:00 to NOW: 452 h); G was cancelled (not a turnaround).
    "D": (
        at(12, 10),
        [
            (0, "received"),
            (1, "diagnosing"),
            (2, "ready_to_repair"),
            (3, "in_repair"),
            (5, "repaired"),
            (6, "ready_for_pickup"),
            (24, "closed"),
        ],
    ),
    "E": (at(13), [(0, "received"), (2, "diagnosing"), (4, "awaiting_parts")]),
    "G": (at(14), [(0, "received"), (10, "cancelled")]),
    "H": (
        at(15),
        [
            (0, "received"),
            (1, "diagnosing"),
            (2, "ready_to_repair"),
            (3, "in_repair"),
            (4, "repaired"),
            (5, "ready_for_pickup"),
            (72, "closed"),
        ],
    ),
}


def set_timeline(repair: Repair, intake: dt.datetime, steps: list[tuple[int, str]]) -> Repair:
    RepairEvent.objects.filter(repair=repair).delete()
    previous = ""
    for hours, state in steps:
        RepairEvent.objects.create(
            repair=repair,
            at=intake + dt.timedelta(hours=hours),
            actor_kind="system",
            kind="transition",
            transition="intake" if not previous else "step",
            from_state=previous,
            to_state=state,
        )
        previous = state
    last = intake + dt.timedelta(hours=steps[-1][0])
    repaired = [intake + dt.timedelta(hours=h) for h, st in steps if st == "repaired"]
    Repair.objects.filter(pk=repair.pk).update(
        created_at=intake,
        state=previous,
        completed_at=repaired[0] if repaired else None,
        closed_at=last if previous in ("closed", "cancelled") else None,
    )
    repair.refresh_from_db()
    return repair


def build_fortnight(make_repair, *, desk, tech, other_center) -> dict[str, Repair]:
    made = {name: set_timeline(make_repair(), *spec) for name, spec in TIMELINES.items()}
    # D came back under A's repair warranty: A is not a first-time fix, D is a comeback.
    Repair.objects.filter(pk=made["D"].pk).update(
        comeback_of=made["A"], coverage_reason_code=CoverageReason.REPAIR_WARRANTY
    )
    # Outside the range, and at another center: never counted.
    set_timeline(make_repair(), at(20), [(0, "received"), (1, "closed")])
    other_desk = staff_create(
        username="desk_sc", role="front_desk", center_code=other_center.code, password=PASSWORD
    )
    other = s.repair_intake(
        center=other_center,
        actor=other_desk,
        customer={"name": "이서초", "phone": "010-9999-0000"},
        symptom="다른 센터",
        product_model=made["A"].product_model.code,
    )
    set_timeline(
        other, at(8), [(0, "received"), (1, "awaiting_parts"), (3, "repaired"), (5, "closed")]
    )
    _promises(made, desk=desk, tech=tech, other=other, other_desk=other_desk)
    _visits(made, tech=tech, other=other)
    return made


def _promise(repair, who, due, *, kept=None, withdrawn=None):
    return Promise.objects.create(
        repair=repair,
        kind="callback",
        due_at=due,
        made_by=who,
        made_at=due - dt.timedelta(days=1),
        fulfilled_at=kept,
        withdrawn_at=withdrawn,
    )


def _promises(made, *, desk, tech, other, other_desk) -> None:
    # tech: 3 due in range, 1 kept on time, 1 kept late, 1 open past due.
    _promise(made["A"], tech, at(6, 10), kept=at(6, 9))
    _promise(made["B"], tech, at(7), kept=at(8))
    _promise(made["C"], tech, at(10))
    # desk: 2 due in range, 1 open past due, 1 withdrawn (neither kept nor overdue).
    _promise(made["E"], desk, at(13, 12))
    _promise(made["E"], desk, at(14), withdrawn=at(13, 15))
    _promise(made["E"], desk, at(1, month=3))  # due after the range
    _promise(other, other_desk, at(9))  # another center


def _visits(made, *, tech, other) -> None:
    # In range: kept 1, missed 1 (still booked after its time), withdrawn 1, cancelled 1.
    for name, day, status in (
        ("A", 6, "done"),
        ("B", 7, "withdrawn"),
        ("C", 8, "cancelled"),
        ("D", 12, "booked"),
    ):
        Appointment.objects.create(
            repair=made[name],
            center_id=made[name].center_id,
            technician=tech,
            start=at(day, 11),
            end=at(day, 11, 30),
            status=status,
            booked_by="desk",
        )
    Appointment.objects.create(  # another center's, booked in range
        repair=other,
        center_id=other.center_id,
        technician=tech,
        start=at(9, 11),
        end=at(9, 11, 30),
        status="done",
        booked_by="desk_sc",
    )


def period(center) -> reports.Period:
    return reports.Period(center.pk, FROM, TO)
