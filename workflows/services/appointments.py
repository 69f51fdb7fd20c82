"""Visits: free slots, booking one (by the customer online, or by staff with the invitation),
and the day-before reminders. Keeping or withdrawing a booked visit as the repair changes is
`core.settle_appointment`, run by every transition that leaves or stays in ready_to_repair.

A technician takes one repair per slot: the partial unique index on (technician, start) for
booked visits decides who gets a slot when two ask at once, not a check before the insert.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.errors import Conflict, Message, TransitionBlocked, ValidationFailed
from core.roles import as_actor, staff_name
from workflows import gate
from workflows.choices import ActorKind, EventKind, NotificationKind, PromiseKind
from workflows.messages import sentence
from workflows.models import Appointment, AppointmentStatus, Promise, Repair
from workflows.services.core import (
    atomic_service,
    local_slot,
    lock_for,
    lock_repair,
    move,
    queue_message,
    record_event,
    record_transition,
    won,
)

BOOKING_DAYS = 30  # how far ahead a visit may be booked
DATE_RANGE = "Choose a date from today to %(days)s days ahead."


class SlotTaken(Conflict):
    code = "slot_taken"


class AlreadyBooked(Conflict):
    code = "already_booked"


# --- slots -------------------------------------------------------------------------------------


def check_booking_date(day: dt.date) -> None:
    """Today up to BOOKING_DAYS ahead, in the center's time zone; ValidationFailed otherwise."""
    today = timezone.localdate()
    if not today <= day <= today + dt.timedelta(days=BOOKING_DAYS):
        raise ValidationFailed({"date": [Message(gettext_noop(DATE_RANGE), days=BOOKING_DAYS)]})


def day_slots(repair: Repair, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """Every slot of the center's opening hours on `day` that starts after now."""
    center = repair.center
    if str(day.weekday()) not in center.open_weekdays:
        return []
    length = dt.timedelta(minutes=center.slot_minutes)
    start = timezone.make_aware(dt.datetime.combine(day, center.opens_at))
    closes = timezone.make_aware(dt.datetime.combine(day, center.closes_at))
    now = timezone.now()
    slots = []
    while start + length <= closes:
        if start > now:
            slots.append((start, start + length))
        start += length
    return slots


def require_bookable(repair: Repair) -> None:
    blockers = gate.booking_blockers(repair)
    if blockers:
        raise TransitionBlocked(blockers, "invite_for_repair")


def free_slots(repair: Repair, day: Any) -> list[dict[str, dt.datetime]]:
    """The slots on `day` the repair's technician is free for (one query). Raises
    ValidationFailed for a day out of range, TransitionBlocked while the gate is closed."""
    check_booking_date(day)
    require_bookable(repair)
    slots = day_slots(repair, day)
    if not slots:
        return []
    taken = set(
        Appointment.objects.filter(
            technician_id=repair.technician_id,
            status=AppointmentStatus.BOOKED,
            start__gte=slots[0][0],
            start__lte=slots[-1][0],
        ).values_list("start", flat=True)
    )
    return [{"start": s, "end": e} for s, e in slots if s not in taken]


def _slot_for(repair: Repair, start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    day = timezone.localtime(start).date()
    try:
        check_booking_date(day)
    except ValidationFailed as refused:
        raise ValidationFailed({"start": refused.errors["date"]}) from None
    for slot in day_slots(repair, day):
        if slot[0] == start:
            return slot
    raise ValidationFailed({"start": [Message(gettext_noop("Choose one of the free slots."))]})


# --- booking -----------------------------------------------------------------------------------


def book_slot(repair: Repair, start: dt.datetime, actor: Any) -> Appointment:
    """Insert the booked visit (the repair locked, the gate checked). Raises ValidationFailed
    for a time that is not a slot, AlreadyBooked, and SlotTaken when the technician's slot
    went to someone else: the unique index says so, in a savepoint so the caller can answer."""
    if Appointment.objects.filter(repair=repair, status=AppointmentStatus.BOOKED).exists():
        raise AlreadyBooked("This repair already has a booked visit.")
    begins, ends = _slot_for(repair, start)
    who = as_actor(actor)
    try:
        with transaction.atomic():
            return Appointment.objects.create(
                repair=repair,
                center=repair.center,
                technician_id=repair.technician_id,
                start=begins,
                end=ends,
                booked_by="customer" if who.kind == ActorKind.CUSTOMER else who.label[:150],
            )
    except IntegrityError:
        raise SlotTaken("This time was just taken; choose another one.") from None


@atomic_service
def repair_book_appointment(*, repair: Repair | int, actor: Any, start: dt.datetime) -> Repair:
    """The customer picks a visit. Booking accepts the invitation: a repair not yet invited is
    invited now (the invitation message carries the visit); one already invited gets a message
    with the time. Locks the repair; raises TransitionBlocked, SlotTaken, AlreadyBooked."""
    r = lock_repair(repair if isinstance(repair, int) else repair.pk)
    require_bookable(r)
    appointment = book_slot(r, start, actor)
    if r.invited_at is None:
        invite(r, actor, ready_by=None, appointment=appointment)
        return r
    params = {"when": local_slot(appointment.start)}
    record_event(
        r, actor, EventKind.NOTE, code="visit_booked", params=params, customer_visible=True
    )
    with translation.override(r.language):
        kind = NotificationKind.APPOINTMENT_BOOKED
        context = {"when": local_slot(appointment.start)}
        queue_message(r, kind, context, key=f"{r.pk}:{kind}:{appointment.pk}")
    return r


@atomic_service
def repair_invite_for_repair(
    *,
    repair: Repair | int,
    actor: Any,
    ready_by: dt.datetime | None = None,
    appointment_start: dt.datetime | None = None,
) -> Repair:
    """Call the customer in. Only when the readiness gate holds: coverage settled, price
    approved, every part reserved on the shelf here, a technician on it. Locks the repair;
    raises TransitionBlocked with the gate's blockers, and SlotTaken when `appointment_start`
    (booked in the same transaction) is taken. Records the promised price and a `ready_by`
    promise (the visit's end, else a day from now, unless given), and queues the one
    invitation message."""
    r = lock_for(repair, "invite_for_repair", actor)
    appointment = None
    if appointment_start is not None:
        gate_blockers = gate.transition_blockers(r, "invite_for_repair")
        if gate_blockers:
            raise TransitionBlocked(gate_blockers, "invite_for_repair")
        appointment = book_slot(r, appointment_start, actor)
    invite(r, actor, ready_by=ready_by, appointment=appointment)
    return r


def invite(
    r: Repair, actor: Any, *, ready_by: dt.datetime | None, appointment: Appointment | None
) -> None:
    """The invitation's move, event, ready-by promise and message (the repair locked)."""
    fallback = appointment.end if appointment else timezone.now() + dt.timedelta(days=1)
    r.promised_ready_by = ready_by or fallback
    moved = move(r, "invite_for_repair", actor)
    facts = {"promised_price": r.promised_price, "ready_by": r.promised_ready_by.isoformat()}
    if appointment is not None:
        facts["appointment"] = appointment.start.isoformat()
    record_transition(
        moved, code="customer_invited", params={"price": r.promised_price}, data=facts
    )
    with translation.override(r.language):
        Promise.objects.create(
            repair=r,
            kind=PromiseKind.READY_BY,
            due_at=r.promised_ready_by,
            made_by=as_actor(actor).user,
            note=_("Repair on the spot, %(price)s") % {"price": won(r.promised_price)},
        )
        queue_message(r, NotificationKind.INVITE_FOR_REPAIR, _invitation(r, appointment))


def _invitation(repair: Repair, appointment: Appointment | None) -> dict[str, str]:
    """The invitation's placeholders; the visit sentence only when a visit is booked."""
    visit = sentence("visit", when=local_slot(appointment.start)) if appointment else ""
    return {
        "when": local_slot(repair.promised_ready_by),
        "price": won(repair.promised_price) if repair.promised_price else _("free (warranty)"),
        "tech": staff_name(repair.technician),
        "visit": visit,
    }


# --- reminders ---------------------------------------------------------------------------------


def send_appointment_reminders(*, now: dt.datetime | None = None) -> int:
    """One reminder per booked visit of tomorrow (the center's date), through the outbox. Each
    visit is claimed with a compare-and-swap on `reminded_at`, so running it twice (or on two
    servers at once) sends nothing twice. Returns how many were queued."""
    now = now or timezone.now()
    tomorrow = timezone.localtime(now).date() + dt.timedelta(days=1)
    ids = list(
        Appointment.objects.filter(
            status=AppointmentStatus.BOOKED, reminded_at=None, start__date=tomorrow
        ).values_list("pk", flat=True)
    )
    sent = 0
    for pk in ids:
        sent += _remind(pk, now)
    return sent


def _remind(pk: int, now: dt.datetime) -> int:
    with transaction.atomic():
        claimed = Appointment.objects.filter(
            pk=pk, status=AppointmentStatus.BOOKED, reminded_at=None
        ).update(reminded_at=now)
        if not claimed:
            return 0
        appointment = Appointment.objects.select_related("repair__customer", "repair__center").get(
            pk=pk
        )
        repair = appointment.repair
        with translation.override(repair.language):
            context = {"when": local_slot(appointment.start)}
            kind = NotificationKind.APPOINTMENT_REMINDER
            queue_message(repair, kind, context, key=f"{repair.pk}:{kind}:{pk}")
    return 1
