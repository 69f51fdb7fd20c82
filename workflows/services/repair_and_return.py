"""Transitions from the visit on: check-in, repair, return, hand-over, cancellation."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext_noop

from core.errors import Message
from core.roles import as_actor
from parts import services as parts_services
from service_center.selectors import SerialLookup, serial_lookup
from workflows import gate
from workflows.choices import (
    EventKind,
    NotificationKind,
    PaymentKind,
    PaymentMethod,
    PromiseKind,
)
from workflows.models import Repair
from workflows.services import payments
from workflows.services.core import (
    atomic_service,
    fulfil_open_promises,
    lock_for,
    move,
    plain_transition,
    queue_message,
    record_event,
    record_transition,
    won,
)
from workflows.services.supply import give_up

# --- the visit and the repair ------------------------------------------------------------------


@atomic_service
def repair_check_in_device(
    *, repair: Repair | int, actor: Any, serial_number: str | None = None
) -> Repair:
    """The device arrived at the counter. Locks the repair. A serial that differs from the
    record is flagged on the timeline for a manager; coverage and price never change here."""
    lookup = serial_lookup(serial_number) if serial_number else None
    r = lock_for(repair, "check_in_device", actor)
    notes = _take_counter_serial(r, lookup)
    moved = move(r, "check_in_device", actor)
    record_transition(
        moved, code="device_received", data={"serial_number": r.checked_in_serial, **notes}
    )
    if "mismatch" in notes:
        record_event(
            r,
            actor,
            EventKind.SERIAL_MISMATCH,
            code="serial_mismatch",
            params=_mismatch_params(r, **notes["mismatch"]),
            data=notes["mismatch"],
        )
    return r


def _take_counter_serial(repair: Repair, lookup: SerialLookup | None) -> dict[str, Any]:
    """Put the serial read at the counter on the repair; returns what the timeline notes."""
    if lookup is None:
        return {}
    notes: dict[str, Any] = {}
    repair.checked_in_serial = lookup.serial_number
    recorded = repair.device.serial_number if repair.device else repair.reported_serial
    if recorded and recorded != lookup.serial_number:
        repair.serial_mismatch = True
        notes["mismatch"] = {"recorded": recorded, "at_counter": lookup.serial_number}
    if repair.device is None and lookup.device is not None and not recorded:
        repair.device = lookup.device
    notes["warranty"] = lookup.status
    return notes


def _mismatch_params(repair: Repair, *, recorded: str, at_counter: str) -> dict[str, str]:
    return {"found": at_counter, "recorded": recorded, "coverage": repair.coverage}


@atomic_service
def repair_start(*, repair: Repair | int, actor: Any) -> Repair:
    """ready_to_repair -> in_repair. Locks the repair; raises TransitionBlocked unless the
    readiness gate holds and the device is here."""
    return plain_transition(repair, "start_repair", actor, code="repair_started")


@atomic_service
def repair_complete(*, repair: Repair | int, actor: Any, work_notes: str = "") -> Repair:
    """in_repair -> repaired. Locks the repair, then the stock rows of its reserved parts, which
    are used (they leave stock); keeps the ready-by promises."""
    r = lock_for(repair, "complete", actor)
    r.work_notes = work_notes
    moved = move(r, "complete", actor)
    record_transition(moved, code="repair_completed", data={"work_notes": work_notes})
    parts_services.reservations_consume(repair=r, actor_user=as_actor(actor).user)
    fulfil_open_promises(r, PromiseKind.READY_BY, actor)
    return r


@atomic_service
def repair_report_unrepairable(*, repair: Repair | int, actor: Any, reason: str) -> Repair:
    """The technician can't repair it. Locks the repair; unused reservations go back to stock
    (and to the next waiting repair after commit)."""
    return give_up(repair, "report_unrepairable", actor, reason=reason)


# --- the return --------------------------------------------------------------------------------


@atomic_service
def repair_notify_ready_for_pickup(*, repair: Repair | int, actor: Any) -> Repair:
    """repaired/declined -> ready_for_pickup: the one message that says "come and get it".
    Locks the repair; raises TransitionBlocked (gate); queues the ready-for-pickup message."""
    r = lock_for(repair, "notify_ready_for_pickup", actor)
    moved = move(r, "notify_ready_for_pickup", actor)
    with translation.override(r.language):
        record_transition(moved, code="ready_for_pickup", data={"balance_due": r.balance_due})
        queue_message(r, NotificationKind.READY_FOR_PICKUP, {"amount": won(r.balance_due)})
    return r


@atomic_service
def repair_ship(
    *, repair: Repair | int, actor: Any, carrier: str = "", tracking_number: str = ""
) -> Repair:
    """repaired/declined -> shipped, by courier to the address the customer gave. Locks the
    repair; raises TransitionBlocked (gate: a tracking number is one of its checks); queues the
    shipping message."""
    r = lock_for(repair, "ship", actor)
    r.carrier, r.tracking_number = carrier, tracking_number
    moved = move(r, "ship", actor)
    said = {"carrier": carrier, "tracking": tracking_number}
    data = {"carrier": carrier, "tracking_number": tracking_number}
    record_transition(moved, code="shipped", params=said, data=data)
    queue_message(r, NotificationKind.SHIPPED, said)
    return r


@atomic_service
def repair_hand_over(
    *,
    repair: Repair | int,
    actor: Any,
    amount_paid: int = 0,
    method: str = "",
    request_key: str = "",
) -> Repair:
    """ready_for_pickup -> closed, once this payment (a ledger row, in cash unless `method`
    says otherwise) leaves nothing to pay. Locks the repair; raises Overpayment for more than
    is due, TransitionBlocked while a balance remains or a refund is owed. A repeated one-time
    key does nothing."""
    r = lock_for(repair, "hand_over", actor)
    if payments.already_recorded(r, request_key):
        return r
    # Only judge the amount where a hand-over may happen: a second click on a closed repair
    # is a 409 (wrong state), not a 400 about a balance that the first click settled.
    if amount_paid > r.balance_due and gate.state_allows(r, "hand_over"):
        due = Message(
            gettext_noop("Only %(due)s won is due; take no more than that."),
            due=f"{r.balance_due:,}",
        )
        raise payments.Overpayment({"amount_paid": [due]})
    data: dict[str, Any] = {"amount_paid": amount_paid}
    if amount_paid:
        row = payments.ledger_write(
            r,
            kind=PaymentKind.PAYMENT,
            amount=amount_paid,
            method=method or PaymentMethod.CASH,
            actor=actor,
            request_key=request_key,
        )
        data.update(payments.receipt_data(row))
    moved = move(r, "hand_over", actor)
    data.update(total_paid=r.amount_paid, **({"request_key": request_key} if request_key else {}))
    record_transition(moved, code="handed_over", data=data)
    return r


@atomic_service
def repair_confirm_delivery(*, repair: Repair | int, actor: Any) -> Repair:
    """shipped -> closed. Locks the repair."""
    return plain_transition(repair, "confirm_delivery", actor, code="delivered")


@atomic_service
def repair_cancel(*, repair: Repair | int, actor: Any, reason: str) -> Repair:
    """Cancel a repair whose device is not here (otherwise decline it and give it back). Locks
    the repair; raises TransitionBlocked while the device is in the shop; releases its
    reservations."""
    return give_up(repair, "cancel", actor, reason=reason)
