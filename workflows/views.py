"""HTML pages for the desk and the technicians. Every write goes through workflows.services; these
views only turn form fields into service arguments and domain errors into messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from service_center.errors import DomainError, ValidationFailed
from service_center.models import ProductModel, WarrantyStatus, staff_name
from service_center.validation import clean_phone
from service_center.views import (
    DESK_ROLES,
    STAFF_ROLES,
    TECH_ROLES,
    error_messages,
    render_staff,
    staff_area,
    status_for,
)
from workflows import gate, public
from workflows import page_selectors as sel
from workflows import services as s
from workflows.choices import (
    ActorKind,
    Coverage,
    IntakeChannel,
    PromiseKind,
    ReturnMethod,
    State,
)
from workflows.models import Repair
from workflows.roles import CUSTOMER_ACTOR, DESK, MANAGER, actor_may, user_center_id, user_roles

# The order the actions appear on a repair page, and what each button says.
ACTIONS: dict[str, Any] = {
    "assign": gettext_lazy("Assign a technician"),
    "diagnose": gettext_lazy("Record the diagnosis"),
    "set_coverage": gettext_lazy("Set coverage"),
    "record_deposit": gettext_lazy("Record a deposit"),
    "approve": gettext_lazy("Customer approves the quote"),
    "decline": gettext_lazy("Customer declines the quote"),
    "invite_for_repair": gettext_lazy("Invite the customer in"),
    "check_in_device": gettext_lazy("Check the device in"),
    "start_repair": gettext_lazy("Start the repair"),
    "complete": gettext_lazy("Complete the repair"),
    "report_unrepairable": gettext_lazy("Report unrepairable"),
    "notify_ready_for_pickup": gettext_lazy("Tell the customer: ready for pickup"),
    "ship": gettext_lazy("Ship by courier"),
    "hand_over": gettext_lazy("Hand over and close"),
    "confirm_delivery": gettext_lazy("Confirm delivery"),
    "cancel": gettext_lazy("Cancel the repair"),
}
DANGER = {"decline", "report_unrepairable", "cancel"}
# Codes the action's own input clears: the button stays enabled and asks for the input. Choosing
# the technician is what `assign` is for, so its `no_technician` is one of them too.
INPUT_CLEARABLE = {**gate.INPUT_CLEARABLE, "assign": {"no_technician"}}
INPUTLESS = {"approve", "start_repair", "notify_ready_for_pickup", "confirm_delivery"}
# The states as staff say them (State labels are written for the customer).
STAFF_STATE_LABELS = {
    State.AWAITING_APPROVAL: gettext_lazy("Waiting for the customer's approval"),
    State.SHIPPED: gettext_lazy("Shipped"),
}


def staff_state_label(state: str) -> str:
    return str(STAFF_STATE_LABELS.get(state) or State(state).label)


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
        return self.name in DANGER

    @property
    def only_wrong_state(self) -> bool:
        return all(b["code"] == "wrong_state" for b in self.blockers)


def repair_actions(repair: Repair, user: Any) -> list[Action]:
    """Every transition this user's role may take on the repair, enabled or with its blockers."""
    roles = user_roles(user)
    actions = []
    for name, label in ACTIONS.items():
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
        clearable = INPUT_CLEARABLE.get(name, set())
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
    return events


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
    devices = list(repair.customer.devices.all())
    _decorate_devices(devices)
    diagnose_parts = []
    if any(a.name == "diagnose" for a in actions):
        diagnose_parts = sel.compatible_parts(repair=repair)
        typed = request.POST if failed == "diagnose" else {}
        for choice in diagnose_parts:
            choice.typed = typed.get(f"qty_{choice.part.part_number}", "")
    return {
        "repair": repair,
        "area": area,
        "base_url": _repair_url(area, repair.ticket_number),
        "available": sorted((a for a in actions if a.enabled), key=lambda a: a.danger),
        "inputless": INPUTLESS,
        "state_label": staff_state_label(repair.state),
        # Intake writes a fixed English reason when the serial is unknown; show it translated.
        "coverage_reason": _(repair.coverage_reason) if repair.coverage_reason else "",
        "blocked": [a for a in actions if not a.enabled and not a.only_wrong_state],
        "later": [a for a in actions if not a.enabled and a.only_wrong_state],
        "readiness": gate.readiness_blockers(repair),
        "technicians": sel.technicians(center_id=repair.center_id),
        "coverages": Coverage.choices,
        "promise_kinds": PromiseKind.choices,
        "devices": devices,
        "diagnose_parts": diagnose_parts,
        "open_promises": [p for p in repair.promises.all() if p.fulfilled_at is None],
        "kept_promises": [p for p in repair.promises.all() if p.fulfilled_at is not None],
        "events": _label_events(list(repair.events.all())),
        "technician_name": staff_name(repair.technician),
        "failed": failed,
        "form_errors": (errors or {}) if failed in ("note", "call", "promise", "fulfil") else {},
        "form_values": request.POST.dict() if failed in ("note", "call", "promise") else {},
        "claim_ticket_url": f"/api/v1/repairs/{repair.ticket_number}/claim-ticket.pdf",
        "status_url": f"/status/t/{repair.status_token}/",
    }


def _render_repair(request, repair, *, failed="", errors=None, status=200) -> HttpResponse:
    context = _repair_context(request, repair, failed=failed, errors=errors)
    template = "tech/repair.html" if context["area"] == "tech" else "desk/repair.html"
    return render_staff(request, template, context, status=status)


# --- desk ----------------------------------------------------------------------------------


@require_GET
@staff_area(DESK_ROLES)
def desk_board(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:60]
    board = sel.desk_board(center_id=_center_id(request), query=query)
    board.columns = [(st, staff_state_label(st), rs) for st, _label, rs in board.columns]
    if board.results is not None and len(board.results) == 1:
        return redirect("desk-repair", board.results[0].ticket_number)
    return render_staff(request, "desk/board.html", {"board": board, "query": query})


INTAKE_FIELDS = [
    "customer_name",
    "customer_phone",
    "customer_email",
    "customer_address",
    "serial_number",
    "product_model",
    "symptom",
    "accessories",
    "intake_channel",
    "device_in_shop",
    "return_method",
    "courier_address",
]


@require_http_methods(["GET", "POST"])
@staff_area(DESK_ROLES)
def desk_intake(request: HttpRequest) -> HttpResponse:
    values: dict[str, Any] = {
        "intake_channel": "walk_in",
        "return_method": "pickup",
        "device_in_shop": "on",
    }
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in INTAKE_FIELDS}
        center = request.user.staff_profile.center
        try:
            repair = s.repair_intake(
                center=center,
                actor=request.user,
                customer={
                    "name": values["customer_name"],
                    "phone": values["customer_phone"],
                    "email": values["customer_email"],
                    "address": values["customer_address"],
                },
                serial_number=values["serial_number"] or None,
                product_model=values["product_model"] or None,
                symptom=values["symptom"],
                accessories=values["accessories"],
                intake_channel=values["intake_channel"],
                device_in_shop=values["device_in_shop"] == "on",
                return_method=values["return_method"],
                courier_address=values["courier_address"],
                language=request.LANGUAGE_CODE,
            )
        except DomainError as exc:
            errors, status = error_messages(exc), status_for(exc)
        else:
            messages.success(
                request,
                _("Repair %(ticket)s received. Print the claim ticket for the customer.")
                % {"ticket": repair.ticket_number},
            )
            return redirect("desk-repair", repair.ticket_number)
    context = {
        "values": values,
        "errors": errors,
        "product_models": ProductModel.objects.order_by("name"),
        "channels": IntakeChannel.choices,
        "return_methods": ReturnMethod.choices,
    }
    return render_staff(request, "desk/intake.html", context, status=status)


@require_GET
@staff_area(DESK_ROLES)
def lookup_serial(request: HttpRequest) -> JsonResponse:
    """Live warranty check while the customer is still at the counter."""
    try:
        found = s.serial_lookup(request.GET.get("serial", ""))
    except ValidationFailed as exc:
        return JsonResponse({"ok": False, "errors": error_messages(exc)}, status=400)
    if found.device is None:
        return JsonResponse(
            {
                "ok": True,
                "serial_number": found.serial_number,
                "status": "unknown",
                "label": str(WarrantyStatus.UNKNOWN.label),
                "detail": _(
                    "Not in the serial registry: coverage stays to be confirmed. "
                    "Choose the product model."
                ),
            }
        )
    device = found.device
    coverage, _reason = s.coverage_from_serial(found)
    return JsonResponse(
        {
            "ok": True,
            "serial_number": found.serial_number,
            "status": str(found.status),
            "label": str(WarrantyStatus(found.status).label),
            "until": f"{found.until:%Y-%m-%d}",
            "product_model": {"code": device.product_model.code, "name": device.product_model.name},
            "channel": device.get_channel_display(),
            "purchase_date": f"{device.purchase_date:%Y-%m-%d}",
            "coverage": str(Coverage(coverage).label),
            "detail": _(
                "%(model)s, bought %(bought)s, warranty until %(until)s. Coverage: %(coverage)s."
            )
            % {
                "model": device.product_model.name,
                "bought": f"{device.purchase_date:%Y-%m-%d}",
                "until": f"{found.until:%Y-%m-%d}",
                "coverage": Coverage(coverage).label,
            },
        }
    )


@require_POST
@staff_area(STAFF_ROLES)
def lookup_customer(request: HttpRequest) -> HttpResponse:
    """Customers by phone (POST: phone numbers stay out of URLs and access logs)."""
    try:
        phone = clean_phone(request.POST.get("phone", ""), field="phone")
    except ValidationFailed as exc:
        return JsonResponse({"ok": False, "errors": error_messages(exc)}, status=400)
    matches = sel.customers_by_phone(center_id=_center_id(request), phone=phone)
    for m in matches:
        _decorate_devices(m.devices)
    html = render_to_string("desk/_customer_matches.html", {"matches": matches}, request=request)
    return JsonResponse({"ok": True, "count": len(matches), "html": html})


@require_GET
@staff_area(DESK_ROLES)
def desk_repair(request: HttpRequest, ticket: str) -> HttpResponse:
    return _render_repair(request, _get_repair(request, ticket))


@require_GET
@staff_area(DESK_ROLES)
def desk_calls(request: HttpRequest) -> HttpResponse:
    calls = sel.call_list(center_id=_center_id(request))
    return render_staff(request, "desk/calls.html", {"calls": calls})


# --- writes on a repair (desk and tech pages share them) -------------------------------------


def _transition_data(name: str, post: Any) -> dict[str, Any]:
    """Form fields -> the service's input. Parts come as qty_<part_number> fields."""
    data = {k: v for k, v in post.items() if k != "csrfmiddlewaretoken"}
    if name == "diagnose":
        parts = []
        for key, value in post.items():
            if key.startswith("qty_") and value.strip() not in ("", "0"):
                quantity = int(value) if value.strip().isdigit() else value
                parts.append({"part_number": key[4:], "quantity": quantity})
        data["parts"] = parts
        data["labor_fee"] = post.get("labor_fee", "") or 0
    return data


@require_POST
@staff_area(STAFF_ROLES)
def repair_transition(request: HttpRequest, ticket: str, name: str) -> HttpResponse:
    repair = _get_repair(request, ticket)
    if name not in ACTIONS:
        raise Http404(_("No such action."))
    try:
        s.repair_transition(
            repair=repair.pk,
            name=name,
            actor=request.user,
            data=_transition_data(name, request.POST),
        )
    except DomainError as exc:
        repair = _get_repair(request, ticket)
        return _render_repair(
            request, repair, failed=name, errors=error_messages(exc), status=status_for(exc)
        )
    messages.success(request, _("Done: %(action)s.") % {"action": ACTIONS[name]})
    return redirect(_repair_url(_area_of(request), repair.ticket_number))


def _timeline_write(request: HttpRequest, ticket: str, kind: str, write) -> HttpResponse:
    repair = _get_repair(request, ticket)
    try:
        write(repair)
    except DomainError as exc:
        repair = _get_repair(request, ticket)
        return _render_repair(
            request, repair, failed=kind, errors=error_messages(exc), status=status_for(exc)
        )
    done = {
        "note": _("Note added."),
        "call": _("Call recorded."),
        "promise": _("Promise recorded."),
        "fulfil": _("Promise marked as kept."),
    }
    messages.success(request, done[kind])
    next_url = request.POST.get("next", "")
    if next_url in ("/desk/calls/",):
        return redirect(next_url)
    return redirect(_repair_url(_area_of(request), repair.ticket_number) + "#timeline")


@require_POST
@staff_area(STAFF_ROLES)
def repair_note(request: HttpRequest, ticket: str) -> HttpResponse:
    return _timeline_write(
        request,
        ticket,
        "note",
        lambda r: s.repair_add_note(
            repair=r.pk,
            actor=request.user,
            text=request.POST.get("text", ""),
            customer_visible=request.POST.get("customer_visible") == "on",
        ),
    )


@require_POST
@staff_area(STAFF_ROLES)
def repair_call(request: HttpRequest, ticket: str) -> HttpResponse:
    # One click: a call with nothing typed is still a call worth recording.
    text = request.POST.get("text", "").strip() or _("Called the customer.")
    return _timeline_write(
        request,
        ticket,
        "call",
        lambda r: s.repair_record_call(
            repair=r.pk,
            actor=request.user,
            text=text,
            direction=request.POST.get("direction", "outgoing"),
        ),
    )


@require_POST
@staff_area(STAFF_ROLES)
def repair_promise(request: HttpRequest, ticket: str) -> HttpResponse:
    return _timeline_write(
        request,
        ticket,
        "promise",
        lambda r: s.repair_record_promise(
            repair=r.pk,
            actor=request.user,
            kind=request.POST.get("kind", ""),
            due_at=request.POST.get("due_at", ""),
            note=request.POST.get("note", ""),
        ),
    )


@require_POST
@staff_area(STAFF_ROLES)
def repair_fulfil(request: HttpRequest, ticket: str, promise_id: int) -> HttpResponse:
    return _timeline_write(
        request,
        ticket,
        "fulfil",
        lambda r: s.repair_fulfil_promise(repair=r.pk, actor=request.user, promise_id=promise_id),
    )


# --- technicians ---------------------------------------------------------------------------


@require_GET
@staff_area(TECH_ROLES)
def tech_home(request: HttpRequest) -> HttpResponse:
    mine = sel.technician_repairs(user=request.user)
    groups = [
        (_("To diagnose"), [r for r in mine if r.state == State.DIAGNOSING]),
        (_("Ready to repair"), [r for r in mine if r.state == State.READY_TO_REPAIR]),
        (_("Being repaired"), [r for r in mine if r.state == State.IN_REPAIR]),
        (
            _("Waiting (customer or parts)"),
            [r for r in mine if r.state in (State.AWAITING_APPROVAL, State.AWAITING_PARTS)],
        ),
        (
            _("Finished, with the desk"),
            [
                r
                for r in mine
                if r.state
                in (State.REPAIRED, State.DECLINED, State.READY_FOR_PICKUP, State.SHIPPED)
            ],
        ),
    ]
    context = {
        "mine": mine,
        "groups": groups,
        "overdue": [r for r in mine if r.overdue_since],
        "unassigned": sel.unassigned_repairs(center_id=_center_id(request)),
        "staff_name": staff_name(request.user),
    }
    return render_staff(request, "tech/home.html", context)


@require_GET
@staff_area(TECH_ROLES)
def tech_repair(request: HttpRequest, ticket: str) -> HttpResponse:
    return _render_repair(request, _get_repair(request, ticket))


# --- the public status page (no login) -----------------------------------------------------

STATE_EXPLAINED = {
    State.RECEIVED: gettext_lazy("We have your repair. A technician will look at it soon."),
    State.DIAGNOSING: gettext_lazy("Your technician is finding out what is wrong."),
    State.AWAITING_APPROVAL: gettext_lazy(
        "The diagnosis is done. We need your answer to the quote before we go on."
    ),
    State.AWAITING_PARTS: gettext_lazy(
        "A part is on order. We go on as soon as it arrives; nothing is being repaired yet."
    ),
    State.READY_TO_REPAIR: gettext_lazy("Everything for the repair is here."),
    State.IN_REPAIR: gettext_lazy("Your device is being repaired now."),
    State.REPAIRED: gettext_lazy("The repair is done."),
    State.DECLINED: gettext_lazy("The device was not repaired. It will be returned to you."),
    State.READY_FOR_PICKUP: gettext_lazy("Your device is ready. You can pick it up at the center."),
    State.SHIPPED: gettext_lazy("Your device is on its way to you."),
    State.CLOSED: gettext_lazy("This repair is finished. Thank you."),
    State.CANCELLED: gettext_lazy("This repair was cancelled."),
}


def _no_store(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
    return response


def _status_render(request, template, context, status=200) -> HttpResponse:
    return _no_store(render(request, template, context, status=status))


def _throttled(request: HttpRequest, exc: public.PublicThrottled) -> HttpResponse:
    context = {"error": _("Too many attempts. Please wait a while and try again.")}
    response = _status_render(request, "status/lookup.html", context, status=429)
    response["Retry-After"] = str(exc.extra.get("retry_after", 60))
    return response


NOT_FOUND = gettext_lazy(
    "We could not find a repair with this ticket number and these phone digits."
)
BAD_LINK = gettext_lazy("This link is not valid. Enter your ticket number and phone digits.")


@require_http_methods(["GET", "POST"])
def status_lookup(request: HttpRequest) -> HttpResponse:
    """The lookup form. POST only: phone digits never travel in a query string. Finding the
    repair (and throttling the guesses) is workflows.public's, shared with the API."""
    context: dict[str, Any] = {"ticket_number": request.GET.get("ticket", "")[:30], "errors": {}}
    if request.method != "POST":
        return _status_render(request, "status/lookup.html", context)
    context["ticket_number"] = request.POST.get("ticket_number", "")[:30]
    try:
        repair = public.public_find(
            ip=public.client_ip(request),
            ticket_number=request.POST.get("ticket_number", ""),
            phone_last4=request.POST.get("phone_last4", ""),
        )
    except public.PublicThrottled as exc:
        return _throttled(request, exc)
    except ValidationFailed as exc:
        context["errors"] = error_messages(exc)
        return _status_render(request, "status/lookup.html", context, status=400)
    except DomainError:
        context["error"] = NOT_FOUND
        return _status_render(request, "status/lookup.html", context, status=404)
    return _no_store(redirect("status-token", repair.status_token))


def _find_by_token(request: HttpRequest, token: str) -> Repair | HttpResponse:
    try:
        return public.public_find(ip=public.client_ip(request), token=token)
    except public.PublicThrottled as exc:
        return _throttled(request, exc)
    except DomainError:
        return _status_render(request, "status/lookup.html", {"error": BAD_LINK}, status=404)


def _status_context(repair: Repair, **extra: Any) -> dict[str, Any]:
    status = public.public_status(repair)
    approvable = status["can_approve"] and repair.quote_approved_at is None
    return {
        "repair": repair,
        "token": repair.status_token,
        "status": status,
        "state_explained": STATE_EXPLAINED[State(repair.state)],
        "parts_waiting": [r for r in repair.active_reservations if r.status == "waiting"],
        "quote_lines": [r for r in repair.reservations.all() if r.status != "released"],
        "can_decide": approvable and repair.coverage != Coverage.WARRANTY,
        "approve_blockers": gate.transition_blockers(repair, "approve") if approvable else [],
        "errors": {},
        "values": {},
        "failed": "",
        **extra,
    }


@require_GET
def status_page(request: HttpRequest, token: str) -> HttpResponse:
    found = _find_by_token(request, token)
    if isinstance(found, HttpResponse):
        return found
    return _status_render(request, "status/repair.html", _status_context(found))


def _status_write(request: HttpRequest, token: str, kind: str, write) -> HttpResponse:
    found = _find_by_token(request, token)
    if isinstance(found, HttpResponse):
        return found
    try:
        write(found)
    except DomainError as exc:
        repair = public.selectors.repair_for_public(repair_id=found.pk)
        context = _status_context(
            repair, errors=error_messages(exc), failed=kind, values=request.POST.dict()
        )
        return _status_render(request, "status/repair.html", context, status=status_for(exc))
    done = {
        "approve": _("Thank you: you approved the quote. We go ahead with the repair."),
        "decline": _("You declined the quote. We will return the device without repairing it."),
        "courier": _("Thank you: we will send the device back by courier to this address."),
    }
    messages.success(request, done[kind])
    return _no_store(redirect("status-token", token))


@require_POST
def status_approve(request: HttpRequest, token: str) -> HttpResponse:
    return _status_write(
        request, token, "approve", lambda r: s.repair_approve(repair=r.pk, actor=CUSTOMER_ACTOR)
    )


@require_POST
def status_decline(request: HttpRequest, token: str) -> HttpResponse:
    return _status_write(
        request,
        token,
        "decline",
        lambda r: s.repair_decline(
            repair=r.pk, actor=CUSTOMER_ACTOR, reason=request.POST.get("reason", "")
        ),
    )


@require_POST
def status_courier(request: HttpRequest, token: str) -> HttpResponse:
    return _status_write(
        request,
        token,
        "courier",
        lambda r: s.repair_request_courier_return(
            repair=r.pk,
            actor=CUSTOMER_ACTOR,
            recipient_name=request.POST.get("recipient_name", ""),
            address=request.POST.get("address", ""),
            phone=request.POST.get("phone", ""),
        ),
    )
