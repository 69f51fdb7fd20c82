"""Texts the system writes, stored as a code and its parameters and rendered with gettext.

Nothing the system says is stored as prose: a repair's coverage reason and its timeline lines
keep a code from the tables below and the facts it needs (a serial, a date, an amount). They are
rendered when shown, in the active language: staff pages in the staff's language, the customer's
status page, the claim ticket and outgoing messages under `translation.override(repair.language)`.
Text typed by people (notes, findings, a reason given for a coverage change) is kept as typed, in
the `text` param of the `staff` reason or in the event's own `text`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class CoverageReason(models.TextChoices):
    SERIAL_UNKNOWN = "serial_unknown", _("serial unknown")
    IN_WARRANTY = "in_warranty", _("in warranty")
    WARRANTY_ENDED = "warranty_ended", _("warranty ended")
    PARALLEL_IMPORT = "parallel_import", _("parallel import")
    STAFF = "staff", _("given by staff")
    REPAIR_WARRANTY = "repair_warranty", _("repair warranty")


COVERAGE_REASON_TEXTS = {
    CoverageReason.SERIAL_UNKNOWN: _("Serial unknown — coverage to be confirmed."),
    CoverageReason.IN_WARRANTY: _("Serial %(serial)s: in warranty until %(date)s."),
    CoverageReason.WARRANTY_ENDED: _("Serial %(serial)s: warranty ended on %(date)s."),
    CoverageReason.PARALLEL_IMPORT: _("Serial %(serial)s: parallel import, no warranty."),
    CoverageReason.REPAIR_WARRANTY: _(
        "Repair warranty: earlier ticket %(ticket)s, closed on %(closed_on)s."
    ),
}


def coverage_reason_text(code: str, params: dict[str, Any] | None) -> str:
    """The reason in the active language; a staff reason as it was typed."""
    params = params or {}
    if code == CoverageReason.STAFF:
        return str(params.get("text", ""))
    template = COVERAGE_REASON_TEXTS.get(code)
    if template is None:
        return ""
    keys = ("serial", "date", "ticket", "closed_on")
    return str(template) % {k: params.get(k, "") for k in keys}


# --- timeline lines ----------------------------------------------------------------------------

# Its parts order was cancelled: what the customer (and the message) is told.
PART_ETA_WITHDRAWN = "part_eta_withdrawn"

EVENT_TEXTS = {
    "technician_assigned": _("Technician %(name)s owns this repair."),
    "deposit_received": _("Deposit of %(amount)s received."),
    "quote_approved": _("Quote of %(total)s approved."),
    "requoted": _("New quote: %(old_total)s → %(new_total)s."),
    "parts_put_aside": _("Parts arrived and were put aside: %(parts)s."),
    "all_parts_here": _("All parts are here."),
    "part_shipped": _("The part has left the central warehouse; expected %(eta)s."),
    PART_ETA_WITHDRAWN: _(
        "The part's arrival date is no longer known; we will tell you as soon as it ships."
    ),
    "customer_invited": _("Customer invited in; price %(price)s."),
    "visit_booked": _("Visit booked for %(when)s."),
    "device_received": _("Device received at the counter."),
    "serial_mismatch": _(
        "Serial at the counter %(found)s differs from the record %(recorded)s. "
        "Coverage stays “%(coverage)s” until a manager decides."
    ),
    "repair_started": _("Repair started."),
    "repair_completed": _("Repair completed."),
    "ready_for_pickup": _("Ready for pickup."),
    "shipped": _("Shipped with %(carrier)s, tracking number %(tracking)s."),
    "handed_over": _("Handed over to the customer."),
    "delivered": _("Delivered."),
    "courier_requested": _("Courier return requested."),
    "promise_made": _("Promised: %(kind)s by %(due)s."),
    "promise_kept": _("Promise kept: %(kind)s."),
    "message_sent": _("Message sent to the customer: %(kind)s."),
    "payment_received": _("Payment of %(amount)s received (%(method)s)."),
    "refund_given": _("Refund of %(amount)s (%(method)s)."),
    "photo_added": _("Intake photo added."),
}

# Params that hold an amount in won, a choice value or a time, rendered in the active language.
_MONEY = {"amount", "total", "price", "old_total", "new_total"}


def won(amount: int | None) -> str:
    if amount is None:
        return gettext("to be confirmed")
    return gettext("%(amount)s won") % {"amount": f"{amount:,}"}


def when(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    return str(value or "")


def _choice(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


def _param(name: str, value: Any) -> str:
    from workflows.choices import Coverage, NotificationKind, PaymentMethod, PromiseKind

    if name in _MONEY:
        return won(value)
    if name == "due":
        return when(value)
    if name == "coverage":
        return _choice(Coverage, value)
    if name == "kind":
        return _choice(PromiseKind, value) if value in PromiseKind.values else value
    if name == "message":
        return _choice(NotificationKind, value)
    if name == "method":
        return _choice(PaymentMethod, value)
    return str(value if value is not None else "")


def event_code_text(code: str, params: dict[str, Any] | None) -> str:
    """A timeline line from its code, in the active language ("" for an unknown code)."""
    template = EVENT_TEXTS.get(code)
    if template is None:
        return ""
    params = params or {}
    if code == "message_sent":
        params = {"kind": _param("message", params.get("kind"))}
    else:
        params = {k: _param(k, v) for k, v in params.items()}
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(template)


def event_text(event: Any) -> str:
    """What a timeline row says: its coded line, then what a person typed (if anything)."""
    coded = event_code_text(getattr(event, "text_code", ""), getattr(event, "text_params", None))
    typed = event.text or ""
    if coded and typed:
        return f"{coded}\n{typed}"
    return coded or typed
