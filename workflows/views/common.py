"""Shared by the staff pages: the action list of a repair page and its context."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError, PermissionDenied, ValidationFailed
from core.pages import error_messages, render_staff, status_for
from core.roles import DESK, MANAGER, staff_name, user_center_id, user_roles
from core.validation import validated
from service_center.models import WarrantyStatus
from workflows import gate, registry, selectors
from workflows import page_selectors as sel
from workflows import services as s
from workflows.choices import (
    OPEN_STATES,
    ActorKind,
    Coverage,
    PaymentMethod,
    PromiseKind,
    State,
)
from workflows.condition import checklist_rows
from workflows.inputs import BookingDaySerializer
from workflows.models import Payment, Repair
from workflows.photo_links import photo_url
from workflows.roles import actor_may
from workflows.services.payments import refunded


def staff_state_label(state: str) -> str:
    """The state as staff say it: State's own label (the customer's is timeline.state_label)."""
    return str(State(state).label)


@dataclass
class Action:
    name: str
    label: str
    enabled: bool
    blockers: list[dict[str, str]]
    asks_for: list[str] = field(default_factory=list)  # codes the input clears
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def danger(self) -> bool:
        return registry.TRANSITIONS[self.name].danger

    @property
    def only_wrong_state(self) -> bool:
        return all(b["code"] == "wrong_state" for b in self.blockers)

    @property
    def never_applies(self) -> bool:
        """Blocked by the way the device goes back (ship on a pickup repair): no staff fix."""
        return any(b["code"] == "wrong_return_method" for b in self.blockers)

    @property
    def confirm(self) -> bool:
        return registry.TRANSITIONS[self.name].confirm


def repair_actions(repair: Repair, user: Any) -> list[Action]:
    """Every transition this user's role may take on the repair, enabled or with its blockers."""
    roles = user_roles(user)
    actions = []
    for name in registry.STAFF_TRANSITIONS:
        label = registry.TRANSITIONS[name].label
        if actor_may(user, repair, name):
            blockers = gate.transition_blockers(repair, name)
        elif name == "set_coverage" and roles & {DESK, MANAGER} and repair.coverage_locked:
            blockers = [
                {
                    "code": "manager_only",
                    "message": _(
                        "The customer approved the price: only a manager may change coverage now."
                    ),
                }
            ]
        else:
            continue
        clearable = gate.input_clearable(name)
        hard = [b for b in blockers if b["code"] not in clearable]
        asks = [b["message"] for b in blockers if b["code"] in clearable]
        actions.append(Action(name, str(label), not hard, hard, asks))
    return actions


# --- shared bits ---------------------------------------------------------------------------


def _center_id(request: HttpRequest) -> int:
    return user_center_id(request.user)


def _get_repair(request: HttpRequest, ticket: str) -> Repair:
    repair = sel.repair_page(ticket_number=ticket, center_id=_center_id(request))
    if repair is None:
        raise Http404(_("No such repair at this center."))
    return repair


def _area_of(request: HttpRequest) -> str:
    return "tech" if request.path.startswith("/tech/") else "desk"


def _repair_url(area: str, ticket: str) -> str:
    name = "tech-repair" if area == "tech" else "desk-repair"
    return reverse(name, args=[ticket])


def _warranty_label(device: Any) -> str:
    return str(WarrantyStatus(device.warranty_status()).label)


def _decorate_devices(devices: list[Any]) -> None:
    for d in devices:
        d.warranty_label = _warranty_label(d)
        d.warranty_code = str(d.warranty_status())


def _label_events(events: list[Any]) -> list[Any]:
    for e in events:
        e.actor_label = e.actor_name if e.actor_kind == "staff" else ActorKind(e.actor_kind).label
        e.from_label = State(e.from_state).label if e.from_state in State.values else ""
        e.to_label = State(e.to_state).label if e.to_state in State.values else ""
        e.line = e.display_text  # in the staff's language
    return events


def _action_lists(repair: Repair, actions: list[Any]) -> dict[str, Any]:
    """The side panel: what can be done now, what is blocked (and why), what comes later. A
    closed or cancelled repair lists no disabled step, and a step the return method rules out
    (ship on a pickup repair) is not listed at all: nobody at the desk can clear it."""
    finished = repair.state not in OPEN_STATES
    disabled = [a for a in actions if not a.enabled and not a.never_applies and not finished]
    return {
        "available": sorted((a for a in actions if a.enabled), key=lambda a: a.danger),
        "inputless": {n for n in registry.STAFF_TRANSITIONS if registry.TRANSITIONS[n].inputless},
        "blocked": [a for a in disabled if not a.only_wrong_state],
        "later": [a for a in disabled if a.only_wrong_state],
    }


def _diagnose_parts(
    request: HttpRequest, repair: Repair, actions: list[Any], failed: str
) -> list[Any]:
    """The parts that fit the model, with the quantities typed in a refused diagnose (or
    requote) form; a requote starts from the quantities of the quote it replaces."""
    if not any(a.name in ("diagnose", "requote") for a in actions):
        return []
    parts = sel.compatible_parts(repair=repair)
    held: dict[str, int] = {}
    for x in repair.active_reservations:
        held[x.part.part_number] = held.get(x.part.part_number, 0) + x.quantity
    typed = request.POST if failed in ("diagnose", "requote") else {}
    for choice in parts:
        number = choice.part.part_number
        choice.typed = typed.get(f"qty_{number}", "") if typed else held.get(number, "")
    return parts


def _repair_context(
    request: HttpRequest,
    repair: Repair,
    *,
    failed: str = "",
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    area = _area_of(request)
    actions = repair_actions(repair, request.user)
    for a in actions:
        if a.name == failed:
            a.values, a.errors = request.POST.dict(), errors or {}
            # The refusal repeats what the form asked for: say it once, as the error.
            a.asks_for = [m for m in a.asks_for if m not in a.errors.get("form", [])]
    devices = list(repair.customer.devices.all())
    _decorate_devices(devices)
    return {
        "repair": repair,
        "area": area,
        "base_url": _repair_url(area, repair.ticket_number),
        **_action_lists(repair, actions),
        "state_label": staff_state_label(repair.state),
        "coverage_reason": repair.coverage_reason,  # rendered in the staff's language
        "readiness": sel.readiness_panel(repair),
        "technicians": sel.technicians(center_id=repair.center_id),
        "coverages": Coverage.choices,
        "promise_kinds": PromiseKind.choices,
        "devices": devices,
        "diagnose_parts": _diagnose_parts(request, repair, actions, failed),
        "open_promises": [p for p in repair.promises.all() if p.is_open],
        "kept_promises": [p for p in repair.promises.all() if not p.is_open],
        "events": _label_events(list(repair.events.all())),
        "technician_name": staff_name(repair.technician),
        "failed": failed,
        "form_errors": (errors or {}) if failed in ("note", "call", "promise", "fulfil") else {},
        "form_values": request.POST.dict() if failed in ("note", "call", "promise") else {},
        "claim_ticket_url": f"/api/v1/repairs/{repair.ticket_number}/claim-ticket.pdf",
        "receipt_ticket_url": (
            f"/api/v1/repairs/{repair.ticket_number}/claim-ticket.pdf?variant=receipt"
        ),
        "status_url": f"/status/t/{repair.status_token}/",
    }


MONEY_FORMS = ("payment", "refund")


def payment_context(request: HttpRequest, repair: Repair, failed: str, errors: Any) -> dict:
    """What the repair page's ledger panel shows (desk pages only)."""
    rows = list(Payment.objects.filter(repair=repair).select_related("created_by"))
    return {
        "payments": rows,
        "refunded": refunded(rows),
        "payment_methods": PaymentMethod.choices,
        "form_token": secrets.token_urlsafe(16),
        "may_take_payments": actor_may(request.user, repair, "record_payment"),
        "money_errors": (errors or {}) if failed in MONEY_FORMS else {},
        "money_values": request.POST.dict() if failed in MONEY_FORMS else {},
        "receipt_url": f"/api/v1/repairs/{repair.ticket_number}/receipt.pdf",
    }


def evidence_context(request: HttpRequest, repair: Repair) -> dict[str, Any]:
    """The intake evidence panel: the checklist and the photos (prefetched by the selector)."""
    return {
        "condition_rows": checklist_rows(repair.condition),
        "photos": [
            {"thumb": photo_url(p.pk, "thumb"), "full": photo_url(p.pk, "full"), "photo": p}
            for p in repair.photos.all()
        ],
        "may_add_photo": actor_may(request.user, repair, "add_photo"),
    }


def visit_context(request: HttpRequest, repair: Repair) -> dict[str, Any]:
    """The repair page's visit panel: the current visit, and the free slots of `?visit_date=`
    (today by default) while one may be booked by this user."""
    today = timezone.localdate()
    context: dict[str, Any] = {
        "visit": selectors.current_appointment(repair),
        "visit_date": request.GET.get("visit_date", "")[:20] or f"{today}",
        "visit_min": f"{today}",
        "visit_max": f"{today + dt.timedelta(days=s.BOOKING_DAYS)}",
        "visit_slots": None,
        "visit_errors": {},
    }
    may = actor_may(request.user, repair, "invite_for_repair")
    if not may or gate.booking_blockers(repair) or _booked(context["visit"]):
        return context
    try:
        day = validated(BookingDaySerializer, {"date": context["visit_date"]})["date"]
        context["visit_slots"] = s.free_slots(repair, day)
    except DomainError as exc:
        context["visit_errors"] = error_messages(exc)
    return context


def _booked(visit: Any) -> bool:
    return visit is not None and visit.status == "booked"


def _render_repair(request, repair, *, failed="", errors=None, status=200) -> HttpResponse:
    context = _repair_context(request, repair, failed=failed, errors=errors)
    context.update(evidence_context(request, repair))
    if context["area"] == "desk":
        context.update(payment_context(request, repair, failed, errors))
        context.update(visit_context(request, repair))
        context["book_errors"] = (errors or {}) if failed == "book" else {}
    template = "tech/repair.html" if context["area"] == "tech" else "desk/repair.html"
    return render_staff(request, template, context, status=status)


# --- a refused write -----------------------------------------------------------------------


def require_role(user: Any, repair: Repair, action: str) -> None:
    """PermissionDenied unless the user's role may do `action` on the repair (checked before
    the input, as the API does)."""
    if not actor_may(user, repair, action):
        raise PermissionDenied(f"Your role may not {action.replace('_', ' ')} this repair.")


def form_errors(exc: DomainError) -> dict[str, list[str]]:
    """The error's messages by form field, translated. An item's error in a list
    (`parts.0.quantity`) goes beside the list, each message once."""
    if not isinstance(exc, ValidationFailed):
        return error_messages(exc)
    by_field: dict[str, list[str]] = {}
    for name, messages in exc.errors.items():
        head, _dot, rest = name.partition(".")
        found = by_field.setdefault(head if rest[:1].isdigit() else name, [])
        found.extend(m for m in messages if m not in found)
    return error_messages(ValidationFailed(by_field))


def render_refusal(
    request: HttpRequest, ticket: str, failed: str, exc: DomainError
) -> HttpResponse:
    """The repair page again (reloaded), the refused form open with every message beside its
    field and what was typed still in it."""
    repair = _get_repair(request, ticket)
    return _render_repair(
        request, repair, failed=failed, errors=form_errors(exc), status=status_for(exc)
    )
