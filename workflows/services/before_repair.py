"""Transitions up to the visit: assign, diagnose, coverage, deposit, approval, parts, invite."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from parts import services as parts_services
from parts.models import Part, Reservation, ReservationStatus
from service_center.errors import (
    TransitionBlocked,
    ValidationFailed,
)
from service_center.models import (
    staff_name,
)
from service_center.validation import (
    clean_amount,
    clean_choice,
    clean_datetime,
    clean_text,
)
from workflows import gate
from workflows.choices import (
    OPEN_STATES,
    ActorKind,
    Coverage,
    EventKind,
    NotificationKind,
    PromiseKind,
    State,
)
from workflows.models import Promise, Repair, RepairEvent
from workflows.roles import SYSTEM_ACTOR, as_actor
from workflows.services.core import (
    WORK_STARTED_STATES,
    Step,
    _center_line,
    _event,
    _fulfil_promises,
    _refresh_reservations,
    _release_after,
    _won,
    lock_repair,
    run_transition,
    status_link,
)

# --- the transitions ---------------------------------------------------------------------------


def repair_assign(*, repair: Repair | int, actor: Any, technician: Any) -> Repair:
    """received -> diagnosing. The technician must be active, a technician, at this center."""
    from django.contrib.auth import get_user_model

    tech = technician
    if not hasattr(tech, "pk"):
        tech = (
            get_user_model().objects.filter(pk=technician).first()
            if str(technician).isdigit()
            else get_user_model().objects.filter(username=technician).first()
        )

    def stage(r: Repair) -> None:
        from workflows.roles import TECH, same_center, user_roles

        if (
            tech is None
            or not tech.is_active
            or TECH not in user_roles(tech)
            or not same_center(tech, r.center_id)
        ):
            raise ValidationFailed({"technician": ["Choose an active technician of this center."]})
        r.technician = tech

    return run_transition(
        repair,
        "assign",
        actor,
        Step(
            stage=stage,
            text=lambda r: _("Technician %(name)s owns this repair.") % {"name": staff_name(tech)},
            data=lambda r: {"technician": tech.get_username(), "technician_name": staff_name(tech)},
        ),
    )


def _clean_parts(repair: Repair, parts: Any) -> list[tuple[Part, int]]:
    if parts in (None, ""):
        return []
    if not isinstance(parts, list) or len(parts) > 30:
        raise ValidationFailed({"parts": ["A list of at most 30 {part_number, quantity}."]})
    wanted: dict[str, int] = {}
    for item in parts:
        if not isinstance(item, dict):
            raise ValidationFailed({"parts": ["Each part is {part_number, quantity}."]})
        number = clean_text(item.get("part_number"), field="parts", max_length=40, required=True)
        quantity = item.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 99:
            raise ValidationFailed({"parts": ["Quantity is a whole number from 1 to 99."]})
        wanted[number] = wanted.get(number, 0) + quantity
    found = {
        p.part_number: p
        for p in Part.objects.filter(part_number__in=wanted).prefetch_related("compatible_models")
    }
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise ValidationFailed({"parts": [f"Unknown part: {', '.join(missing)}."]})
    if repair.product_model_id:
        wrong = [
            n
            for n, p in found.items()
            if repair.product_model_id not in {m.pk for m in p.compatible_models.all()}
        ]
        if wrong:
            raise ValidationFailed({"parts": [f"Not for this model: {', '.join(sorted(wrong))}."]})
    return [(found[n], q) for n, q in sorted(wanted.items())]


def repair_diagnose(
    *, repair: Repair | int, actor: Any, findings: Any, parts: Any = None, labor_fee: Any = 0
) -> Repair:
    """diagnosing -> awaiting_approval (or, under warranty, awaiting_parts / ready_to_repair).

    Reserves parts on hand (locks stock rows); what is not on hand becomes `waiting`
    reservations and one parts-order request to the warehouse. A center that requires deposits
    asks for the ordered parts' price before a paid repair goes ahead."""
    findings = clean_text(
        findings, field="findings", max_length=4000, required=True, multiline=True
    )
    labor = clean_amount(labor_fee, field="labor_fee")
    cleaned: list[tuple[Part, int]] = []

    def stage(r: Repair) -> None:
        cleaned.extend(_clean_parts(r, parts))
        r.findings, r.labor_fee = findings, labor

    def before(r: Repair) -> None:
        made = [parts_services.reservation_create(repair=r, part=p, quantity=q) for p, q in cleaned]
        waiting = [x for x in made if x.status == ReservationStatus.WAITING]
        if waiting:
            parts_services.parts_order_request(
                center_id=r.center_id,
                lines=[(x.part, x.quantity, r) for x in waiting],
                actor_user=getattr(as_actor(actor), "user", None),
            )
            if r.center.requires_deposit_for_ordered_parts and r.coverage != Coverage.WARRANTY:
                r.deposit_required = sum(x.line_total for x in waiting)
        _refresh_reservations(r)

    def data(r: Repair) -> dict:
        return {
            "findings": findings,
            "labor_fee": labor,
            "parts": [
                {"part_number": x.part.part_number, "quantity": x.quantity, "status": x.status}
                for x in r.active_reservations
            ],
            "quote_total": r.quote_total,
            "deposit_required": r.deposit_required,
        }

    def message(r: Repair) -> tuple[str, str] | None:
        if r.state != State.AWAITING_APPROVAL:
            return None
        body = _("%(head)s: diagnosis done. Quote %(total)s. Approve or decline: %(link)s") % {
            "head": _center_line(r),
            "total": _won(r.quote_total),
            "link": status_link(r),
        }
        return NotificationKind.QUOTE, body

    return run_transition(
        repair,
        "diagnose",
        actor,
        Step(stage=stage, before=before, text=findings, data=data, notify=message),
    )


def repair_set_coverage(*, repair: Repair | int, actor: Any, coverage: Any, reason: Any) -> Repair:
    """Settle or change coverage, with a reason, on the timeline and told to the customer.
    After the customer approved a price only a manager may change it; a change to a paid
    repair needs a fresh approval (the repair goes back to awaiting_approval)."""
    value = clean_choice(coverage, field="coverage", choices=Coverage)
    why = clean_text(reason, field="reason", max_length=300, required=True)
    previous: dict[str, str] = {}

    def stage(r: Repair) -> None:
        if r.coverage == value:
            raise ValidationFailed({"coverage": [f"Coverage is already {value}."]})
        if value != Coverage.WARRANTY and r.state in WORK_STARTED_STATES:
            # Charging for work the customer never agreed to pay for is exactly what we prevent.
            raise TransitionBlocked(
                [
                    {
                        "code": "quote_not_approved",
                        "message": str(
                            _("The work has started: coverage can now only change to warranty.")
                        ),
                    }
                ],
                "set_coverage",
            )
        previous["coverage"] = r.coverage
        r.coverage, r.coverage_reason = value, why
        if value != Coverage.WARRANTY and r.quote_approved_at is not None:
            r.quote_approved_at = None  # the customer agreed to other terms
        r.invited_at = None  # any invitation made on the old terms no longer holds

    def message(r: Repair) -> tuple[str, str]:
        body = _("%(head)s: coverage is now “%(coverage)s” (%(reason)s).") % {
            "head": _center_line(r),
            "coverage": Coverage(value).label,
            "reason": why,
        }
        if r.state == State.AWAITING_APPROVAL and value != Coverage.WARRANTY:
            body += " " + _("Quote %(total)s. Approve or decline: %(link)s") % {
                "total": _won(r.quote_total),
                "link": status_link(r),
            }
        return NotificationKind.COVERAGE_CHANGED, body

    return run_transition(
        repair,
        "set_coverage",
        actor,
        Step(
            stage=stage,
            kind=EventKind.COVERAGE_CHANGE,
            text=why,
            data=lambda r: {"from": previous.get("coverage"), "to": value, "reason": why},
            notify=message,
        ),
    )


def repair_record_deposit(*, repair: Repair | int, actor: Any, amount: Any) -> Repair:
    """A deposit taken at the desk; at least what is still due."""
    paid = clean_amount(amount, field="amount", minimum=1)

    def stage(r: Repair) -> None:
        due = max(r.deposit_required - r.deposit_paid, 0)
        if paid < due:
            raise ValidationFailed({"amount": [f"The deposit due is {due:,} won."]})
        r.deposit_paid += paid
        r.amount_paid += paid

    return run_transition(
        repair,
        "record_deposit",
        actor,
        Step(
            stage=stage,
            text=lambda r: _("Deposit of %(amount)s received.") % {"amount": _won(paid)},
            data={"amount": paid, "payment": "deposit"},
        ),
    )


def repair_approve(*, repair: Repair | int, actor: Any) -> Repair:
    """The customer (online or at the desk) agrees to the quote."""
    who = as_actor(actor)

    def stage(r: Repair) -> None:
        r.quote_approved_by = "customer" if who.kind != ActorKind.STAFF else who.user.get_username()

    return run_transition(
        repair,
        "approve",
        who,
        Step(
            stage=stage,
            text=lambda r: _("Quote of %(total)s approved.") % {"total": _won(r.amount_due)},
            data=lambda r: {"total": r.amount_due, "approved_by": r.quote_approved_by},
        ),
    )


def repair_decline(*, repair: Repair | int, actor: Any, reason: Any = "") -> Repair:
    """The customer does not want the repair. Reservations are released."""
    why = clean_text(reason, field="reason", max_length=500)

    def stage(r: Repair) -> None:
        r.outcome_reason = why

    return run_transition(
        repair,
        "decline",
        actor,
        Step(stage=stage, after=_release_after, text=why, data={"reason": why}),
    )


def repair_parts_reserved(*, repair_id: int, reservations: list[Reservation]) -> None:
    """Called by receiving (inside its transaction, repair already locked): parts were put aside
    for this repair. Tells the timeline; moves awaiting_parts on to ready_to_repair."""
    repair = lock_repair(repair_id)
    parts = ", ".join(f"{x.part.part_number} x{x.quantity}" for x in reservations)
    _event(
        repair,
        SYSTEM_ACTOR,
        EventKind.PARTS,
        text=_("Parts arrived and were put aside: %(parts)s.") % {"parts": parts},
        data={"reserved": [x.pk for x in reservations]},
        customer_visible=True,
    )
    _fulfil_promises(repair, PromiseKind.PART_ETA, SYSTEM_ACTOR, only_if_no_parts_waiting=True)
    if repair.state == State.AWAITING_PARTS and not gate.check(repair, ["parts_not_on_hand"]):
        run_transition(repair, "parts_arrived", SYSTEM_ACTOR, Step(text=_("All parts are here.")))


def repair_part_eta_known(*, repair_id: int, eta: dt.date) -> None:
    """The warehouse shipped a part this repair waits for: a promise with its ETA."""
    repair = lock_repair(repair_id)
    if repair.state not in OPEN_STATES:
        return
    due = timezone.make_aware(dt.datetime.combine(eta, dt.time(18, 0)))
    Promise.objects.create(repair=repair, kind=PromiseKind.PART_ETA, due_at=due, note="warehouse")
    _event(
        repair,
        SYSTEM_ACTOR,
        EventKind.PARTS,
        text=_("The part has left the central warehouse; expected %(eta)s.") % {"eta": f"{eta}"},
        data={"eta": eta.isoformat()},
        customer_visible=True,
    )


def repair_invite_for_repair(*, repair: Repair | int, actor: Any, ready_by: Any = None) -> Repair:
    """Call the customer in. Only when the readiness gate holds: coverage settled, price
    approved, every part reserved on the shelf here, a technician on it. Records the promised
    price and a `ready_by` promise, and writes the one invitation message."""
    when = clean_datetime(ready_by, field="ready_by")

    def before(r: Repair) -> None:
        r.promised_ready_by = when or timezone.now() + dt.timedelta(days=1)

    def after(r: Repair, event: RepairEvent) -> None:
        Promise.objects.create(
            repair=r,
            kind=PromiseKind.READY_BY,
            due_at=r.promised_ready_by,
            made_by=getattr(as_actor(actor), "user", None),
            note=_("Repair on the spot, %(price)s") % {"price": _won(r.promised_price)},
        )

    def message(r: Repair) -> tuple[str, str]:
        body = _(
            "%(head)s: everything for your repair is ready. Come in from now on; it is done while "
            "you wait (by %(when)s at the latest). Price: %(price)s. Technician: %(tech)s."
        ) % {
            "head": _center_line(r),
            "when": f"{timezone.localtime(r.promised_ready_by):%Y-%m-%d %H:%M}",
            "price": _won(r.promised_price) if r.promised_price else _("free (warranty)"),
            "tech": staff_name(r.technician),
        }
        return NotificationKind.INVITE_FOR_REPAIR, body

    return run_transition(
        repair,
        "invite_for_repair",
        actor,
        Step(
            before=before,
            after=after,
            text=lambda r: (
                _("Customer invited in; price %(price)s.") % {"price": _won(r.promised_price)}
            ),
            data=lambda r: {
                "promised_price": r.promised_price,
                "ready_by": r.promised_ready_by.isoformat(),
            },
            notify=message,
        ),
    )
