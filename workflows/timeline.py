"""What the customer reads: state names, timeline labels and the next step, in plain words.

Labels are built from the recorded facts (kind, transition, structured data), never from staff's
free text, except for notes staff explicitly marked as customer-visible. The API's public status
answer and the /status/ pages both use these functions, so they always say the same thing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parts import selectors as parts_selectors
from parts.models import ReservationStatus
from workflows import texts
from workflows.choices import (
    COURIER_REQUEST_STATES,
    Coverage,
    EventKind,
    NotificationKind,
    PromiseKind,
    ReturnMethod,
    State,
)

# The states as the customer reads them (State's own labels are the staff's wording).
CUSTOMER_STATE_LABELS = {
    State.AWAITING_APPROVAL: gettext_lazy("Waiting for your approval"),
    State.SHIPPED: gettext_lazy("Shipped to you"),
}


def state_label(state: str) -> str:
    """The state in plain words for the customer (translated)."""
    try:
        return str(CUSTOMER_STATE_LABELS.get(state) or State(state).label)
    except ValueError:
        return state


def _choice_label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


def _transition_label(event: Any) -> str:
    data = event.data or {}
    name = event.transition
    if name == "intake":
        return _("We received your repair request.")
    if name == "assign":
        return _("Technician %(name)s is in charge of your repair.") % {
            "name": data.get("technician_name", "")
        }
    if name == "diagnose":
        if event.to_state == State.AWAITING_APPROVAL:
            return _("Diagnosis done: a quote is waiting for your approval.")
        return _("Diagnosis done: the repair is covered by the warranty.")
    if name == "ship":
        return _("Shipped with %(carrier)s, tracking number %(tracking)s.") % {
            "carrier": data.get("carrier", ""),
            "tracking": data.get("tracking_number", ""),
        }
    if name == "record_deposit":
        return _("Deposit of %(amount)s won received.") % {"amount": f"{data.get('amount', 0):,}"}
    labels = {
        "approve": _("Quote approved."),
        "decline": _("Repair declined."),
        "parts_arrived": _("All parts have arrived."),
        "invite_for_repair": _("Everything is ready: you were invited in for the repair."),
        "check_in_device": _("Your device arrived at the center."),
        "start_repair": _("Repair started."),
        "complete": _("Repair completed."),
        "report_unrepairable": _("The device could not be repaired."),
        "notify_ready_for_pickup": _("Ready for pickup."),
        "hand_over": _("Handed over to you."),
        "confirm_delivery": _("Delivered."),
        "cancel": _("Repair cancelled."),
    }
    if name in labels:
        return str(labels[name])
    return _("Now: %(state)s.") % {"state": state_label(event.to_state)}


def event_label(event: Any) -> str:
    """One customer-facing line for a RepairEvent."""
    data = event.data or {}
    kind = event.kind
    if kind == EventKind.TRANSITION:
        return _transition_label(event)
    if kind == EventKind.COVERAGE_CHANGE:
        return _("Coverage changed to “%(coverage)s”: %(reason)s") % {
            "coverage": _choice_label(Coverage, data.get("to")),
            "reason": data.get("reason", ""),
        }
    if kind == EventKind.NOTE and not event.text and getattr(event, "text_code", ""):
        return texts.event_text(event)
    if kind == EventKind.NOTE:
        return event.text
    if kind == EventKind.PROMISE:
        return _("Promised: %(kind)s by %(due)s.") % {
            "kind": _choice_label(PromiseKind, data.get("kind")),
            "due": texts.when(data.get("due_at")),
        }
    if kind == EventKind.NOTIFICATION:
        return _("We sent you a message: %(kind)s.") % {
            "kind": _choice_label(NotificationKind, data.get("notification"))
        }
    if kind == EventKind.PARTS:
        if getattr(event, "text_code", "") == texts.PART_ETA_WITHDRAWN:
            return texts.event_text(event)
        if data.get("eta"):
            return _("The part has left the central warehouse; expected %(eta)s.") % {
                "eta": data["eta"]
            }
        return _("Parts arrived and were put aside for your repair.")
    if kind == EventKind.COURIER_REQUEST:
        return _("Courier return requested.")
    return _choice_label(EventKind, kind)


def public_timeline(repair: Any, events: list[Any] | None = None) -> list[dict[str, Any]]:
    """[{at, label}] of the customer-visible events, oldest first. `events` may be prefetched
    (the selectors put them on `repair.public_events`)."""
    if events is None:
        events = getattr(repair, "public_events", None)
    if events is None:
        events = list(repair.events.filter(customer_visible=True).order_by("at", "id"))
    return [{"at": e.at, "label": event_label(e)} for e in events if e.customer_visible]


def parts_eta(repair: Any) -> dt.date | None:
    """When the parts this repair waits for are expected, from the orders that still stand
    (shipped, neither cancelled nor received): per waiting part the earliest ETA of a standing
    order requested for this repair, and the latest of those. None when a waiting part has no
    dated standing order: not shipped yet, cancelled, or delivered to an older request first.
    `standing_order_lines` may be prefetched (the public selector does)."""
    waiting = {
        r.part_id for r in repair.active_reservations if r.status == ReservationStatus.WAITING
    }
    if not waiting:
        return None
    lines = getattr(repair, "standing_order_lines", None)
    if lines is None:
        lines = list(parts_selectors.standing_order_lines().filter(repair=repair))
    etas: dict[int, dt.date] = {}
    for line in lines:
        eta = line.order.eta
        if eta is not None and line.part_id in waiting:
            etas[line.part_id] = min(eta, etas.get(line.part_id, eta))
    return max(etas.values()) if set(etas) == waiting else None


NEXT_STEPS = (
    "confirm_coverage",
    "approve_quote",
    "pay_deposit",
    "choose_return",
    "bring_device",
    "pick_up",
    "none",
)


def next_step(repair: Any) -> dict[str, str]:
    """What is needed from the customer now: {code, label}. `code` is one of NEXT_STEPS."""
    state = repair.state
    if state == State.AWAITING_APPROVAL and repair.coverage == Coverage.UNDETERMINED:
        return {
            "code": "confirm_coverage",
            "label": _(
                "We need the serial number on your device (or your agreement to a paid repair) "
                "before anything goes ahead: please call the center."
            ),
        }
    if state == State.AWAITING_APPROVAL:
        if repair.coverage != Coverage.WARRANTY and repair.deposit_paid < repair.deposit_required:
            due = repair.deposit_required - repair.deposit_paid
            return {
                "code": "pay_deposit",
                "label": _("Pay a deposit of %(amount)s won at the center, then approve the quote.")
                % {"amount": f"{due:,}"},
            }
        return {"code": "approve_quote", "label": _("Approve or decline the quote.")}
    if state == State.READY_TO_REPAIR and repair.invited_at and not repair.device_in_shop:
        return {"code": "bring_device", "label": _("Bring your device in: the repair is ready.")}
    if (
        state in (State.REPAIRED, State.DECLINED)
        and state in COURIER_REQUEST_STATES
        and repair.return_method == ReturnMethod.PICKUP
    ):
        return {
            "code": "choose_return",
            "label": _("Choose pickup at the center or courier return."),
        }
    if state == State.READY_FOR_PICKUP:
        due = repair.balance_due
        if due:
            label = _("Pick up your device; %(amount)s won is to be paid.") % {"amount": f"{due:,}"}
        else:
            label = _("Pick up your device.")
        return {"code": "pick_up", "label": label}
    return {"code": "none", "label": _("Nothing is needed from you right now.")}
