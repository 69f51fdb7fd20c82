"""Transitions from the visit on: check-in, repair, return, hand-over; and the dispatch table."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from parts import services as parts_services
from service_center.errors import (
    ValidationFailed,
)
from service_center.validation import (
    clean_amount,
    clean_text,
)
from workflows import gate
from workflows.choices import (
    Coverage,
    EventKind,
    NotificationKind,
    PromiseKind,
)
from workflows.models import Repair, RepairEvent
from workflows.roles import as_actor
from workflows.services.core import (
    Step,
    _center_line,
    _event,
    _fulfil_promises,
    _release_after,
    _won,
    run_transition,
)
from workflows.services.intake import serial_lookup


def repair_check_in_device(
    *, repair: Repair | int, actor: Any, serial_number: Any = None
) -> Repair:
    """The device arrived at the counter. A serial that differs from the record is flagged on
    the timeline for a manager; coverage and price never change here."""
    lookup = serial_lookup(serial_number) if serial_number not in (None, "") else None
    notes: dict[str, Any] = {}

    def stage(r: Repair) -> None:
        if lookup is None:
            return
        r.checked_in_serial = lookup.serial_number
        recorded = r.device.serial_number if r.device else r.reported_serial
        if recorded and recorded != lookup.serial_number:
            r.serial_mismatch = True
            notes["mismatch"] = {"recorded": recorded, "at_counter": lookup.serial_number}
        if r.device is None and lookup.device is not None and not recorded:
            r.device = lookup.device
        notes["warranty"] = lookup.status

    def after(r: Repair, event: RepairEvent) -> None:
        if "mismatch" in notes:
            _event(
                r,
                as_actor(actor),
                EventKind.SERIAL_MISMATCH,
                text=_(
                    "Serial at the counter %(found)s differs from the record %(recorded)s. "
                    "Coverage stays “%(coverage)s” until a manager decides."
                )
                % {
                    "found": notes["mismatch"]["at_counter"],
                    "recorded": notes["mismatch"]["recorded"],
                    "coverage": Coverage(r.coverage).label,
                },
                data=notes["mismatch"],
            )

    return run_transition(
        repair,
        "check_in_device",
        actor,
        Step(
            stage=stage,
            after=after,
            text=_("Device received at the counter."),
            data=lambda r: {"serial_number": r.checked_in_serial, **notes},
        ),
    )


def repair_start(*, repair: Repair | int, actor: Any) -> Repair:
    """ready_to_repair -> in_repair; the gate must hold and the device be here."""
    return run_transition(repair, "start_repair", actor, Step(text=_("Repair started.")))


def repair_complete(*, repair: Repair | int, actor: Any, work_notes: Any = "") -> Repair:
    """in_repair -> repaired; the reserved parts are used (they leave stock)."""
    notes = clean_text(work_notes, field="work_notes", max_length=4000, multiline=True)

    def stage(r: Repair) -> None:
        r.work_notes = notes

    def after(r: Repair, event: RepairEvent) -> None:
        parts_services.reservations_consume(repair=r)
        _fulfil_promises(r, PromiseKind.READY_BY, as_actor(actor))

    return run_transition(
        repair,
        "complete",
        actor,
        Step(stage=stage, after=after, text=_("Repair completed."), data={"work_notes": notes}),
    )


def repair_report_unrepairable(*, repair: Repair | int, actor: Any, reason: Any) -> Repair:
    """The technician can't repair it. Unused reservations go back to stock."""
    why = clean_text(reason, field="reason", max_length=500, required=True)

    def stage(r: Repair) -> None:
        r.outcome_reason = why

    return run_transition(
        repair,
        "report_unrepairable",
        actor,
        Step(stage=stage, after=_release_after, text=why, data={"reason": why}),
    )


def repair_notify_ready_for_pickup(*, repair: Repair | int, actor: Any) -> Repair:
    """repaired/declined -> ready_for_pickup: the one message that says "come and get it"."""

    def message(r: Repair) -> tuple[str, str]:
        body = _("%(head)s: your device is ready for pickup. Amount to pay: %(amount)s.") % {
            "head": _center_line(r),
            "amount": _won(r.balance_due),
        }
        return NotificationKind.READY_FOR_PICKUP, body

    return run_transition(
        repair,
        "notify_ready_for_pickup",
        actor,
        Step(
            text=_("Ready for pickup."),
            data=lambda r: {"balance_due": r.balance_due},
            notify=message,
        ),
    )


def repair_ship(*, repair: Repair | int, actor: Any, carrier: Any, tracking_number: Any) -> Repair:
    """repaired/declined -> shipped, by courier to the address the customer gave."""
    carrier_ = clean_text(carrier, field="carrier", max_length=60)
    tracking = clean_text(tracking_number, field="tracking_number", max_length=60)

    def stage(r: Repair) -> None:
        r.carrier, r.tracking_number = carrier_, tracking

    def message(r: Repair) -> tuple[str, str]:
        body = _("%(head)s: shipped with %(carrier)s, tracking number %(tracking)s.") % {
            "head": _center_line(r),
            "carrier": carrier_,
            "tracking": tracking,
        }
        return NotificationKind.SHIPPED, body

    return run_transition(
        repair,
        "ship",
        actor,
        Step(
            stage=stage,
            text=lambda r: f"{carrier_} {tracking}",
            data={"carrier": carrier_, "tracking_number": tracking},
            notify=message,
        ),
    )


def repair_hand_over(*, repair: Repair | int, actor: Any, amount_paid: Any = 0) -> Repair:
    """ready_for_pickup -> closed, once this payment leaves nothing to pay."""
    paid = clean_amount(amount_paid, field="amount_paid")

    def stage(r: Repair) -> None:
        # Only judge the amount where a hand-over may happen: a second click on a closed repair
        # is a 409 (wrong state), not a 400 about a balance that the first click settled.
        if paid > r.balance_due and gate.state_allows(r, "hand_over"):
            raise ValidationFailed(
                {"amount_paid": [f"Only {r.balance_due:,} won is due; take no more than that."]}
            )
        r.amount_paid += paid

    return run_transition(
        repair,
        "hand_over",
        actor,
        Step(
            stage=stage,
            text=_("Handed over to the customer."),
            data=lambda r: {"amount_paid": paid, "total_paid": r.amount_paid},
        ),
    )


def repair_confirm_delivery(*, repair: Repair | int, actor: Any) -> Repair:
    return run_transition(repair, "confirm_delivery", actor, Step(text=_("Delivered.")))


def repair_cancel(*, repair: Repair | int, actor: Any, reason: Any) -> Repair:
    """Cancel a repair whose device is not here (otherwise decline it and give it back)."""
    why = clean_text(reason, field="reason", max_length=500, required=True)

    def stage(r: Repair) -> None:
        r.outcome_reason = why

    return run_transition(
        repair,
        "cancel",
        actor,
        Step(stage=stage, after=_release_after, text=why, data={"reason": why}),
    )
