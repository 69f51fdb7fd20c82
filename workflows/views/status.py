"""The customer's status page (no login): lookup, the honest page, approve/decline, courier."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError, ValidationFailed
from core.pages import (
    error_messages,
    status_for,
)
from core.privacy import mask_address, mask_name
from core.roles import CUSTOMER_ACTOR
from core.validation import validated
from service_center import selectors as center_selectors
from workflows import gate, public, registry, selectors
from workflows import services as s
from workflows.choices import (
    Coverage,
    State,
)
from workflows.inputs import BookingDaySerializer, BookingSlotSerializer, CourierReturnInSerializer
from workflows.models import Repair
from workflows.photo_links import signed_photo_url

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


def _throttled(request: HttpRequest, exc: public.PublicThrottled, ticket: Any = "") -> HttpResponse:
    """429 with when to try again (whole minutes, rounded up) and whom to call: the center the
    ticket's prefix names, whether or not the ticket exists (so it tells a guesser nothing)."""
    retry_after = int(exc.extra.get("retry_after", 60))
    minutes = max(math.ceil(retry_after / 60), 1)
    error = ngettext(
        "Too many attempts. You may try again in %(minutes)d minute.",
        "Too many attempts. You may try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    center = center_selectors.center_by_ticket_prefix(ticket) if ticket else None
    context = {
        "error": error,
        "ticket_number": str(ticket)[:30],
        "call_center": center,
        "locked": True,
    }
    response = _status_render(request, "status/lookup.html", context, status=429)
    response["Retry-After"] = str(retry_after)
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
        return _throttled(request, exc, request.POST.get("ticket_number", ""))
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
        # Never the full name or address on a public page: masked, and the form starts empty.
        "courier_to": {
            "name": mask_name(repair.courier_recipient),
            "address": mask_address(repair.courier_address),
        },
        "courier_hint": {
            "name": mask_name(repair.courier_recipient or repair.customer.name),
            "address": mask_address(repair.courier_address or repair.customer.address),
        },
        "errors": {},
        "values": {},
        "failed": "",
        "photos": _signed_photos(repair),
        **extra,
    }


def _signed_photos(repair: Repair) -> list[dict[str, str]]:
    """The intake photos through links that work for PHOTO_LINK_MAX_AGE seconds (one query)."""
    ids = selectors.repair_photos(repair=repair).values_list("pk", flat=True)
    return [
        {"thumb": signed_photo_url(pk, "thumb"), "full": signed_photo_url(pk, "full")} for pk in ids
    ]


def page_language(request: HttpRequest, repair: Repair) -> str:
    """The repair's language, unless the visitor chose one with the page's language switch."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    known = dict(settings.LANGUAGES)
    if chosen in known:
        return chosen
    return repair.language if repair.language in known else settings.LANGUAGE_CODE


@require_GET
def status_page(request: HttpRequest, token: str) -> HttpResponse:
    found = _find_by_token(request, token)
    if isinstance(found, HttpResponse):
        return found
    with translation.override(page_language(request, found)):
        context = _status_context(found, **_booking(request, found))
        status = 400 if context["errors"] else 200
        return _status_render(request, "status/repair.html", context, status=status)


def _booking(request: HttpRequest, repair: Repair) -> dict[str, Any]:
    """The visit picker: the free slots of `?date=` (today by default) while a visit may be
    booked; a bad date is said beside the field."""
    today = timezone.localdate()
    picker = {
        "slot_date": request.GET.get("date", "")[:20] or f"{today}",
        "slot_min": f"{today}",
        "slot_max": f"{today + dt.timedelta(days=s.BOOKING_DAYS)}",
        "slots": None,
    }
    if gate.booking_blockers(repair):
        return picker
    try:
        day = validated(BookingDaySerializer, {"date": picker["slot_date"]})["date"]
        picker["slots"] = s.free_slots(repair, day)
    except DomainError as exc:
        picker["errors"] = error_messages(exc)
    return picker


def _customer_write(request: HttpRequest, repair: Repair, kind: str) -> None:
    """Run the customer's action `kind` on `repair` with what they typed."""
    if kind == "approve":
        s.repair_approve(repair=repair.pk, actor=CUSTOMER_ACTOR)
    elif kind == "decline":
        inputs = validated(registry.TRANSITIONS["decline"].input_serializer, request.POST)
        s.repair_decline(repair=repair.pk, actor=CUSTOMER_ACTOR, **inputs)
    elif kind == "book":
        start = validated(BookingSlotSerializer, request.POST)["start"]
        s.repair_book_appointment(repair=repair.pk, actor=CUSTOMER_ACTOR, start=start)
    else:
        inputs = validated(CourierReturnInSerializer, request.POST)
        s.repair_request_courier_return(repair=repair.pk, actor=CUSTOMER_ACTOR, **inputs)


def _status_write(request: HttpRequest, token: str, kind: str) -> HttpResponse:
    found = _find_by_token(request, token)
    if isinstance(found, HttpResponse):
        return found
    try:
        _customer_write(request, found, kind)
    except DomainError as exc:
        repair = public.selectors.repair_for_public(repair_id=found.pk)
        with translation.override(page_language(request, repair)):
            context = _status_context(
                repair, errors=error_messages(exc), failed=kind, values=request.POST.dict()
            )
            return _status_render(request, "status/repair.html", context, status=status_for(exc))
    with translation.override(page_language(request, found)):
        done = {
            "approve": _("Thank you: you approved the quote. We go ahead with the repair."),
            "decline": _("You declined the quote. We will return the device without repairing it."),
            "courier": _("Thank you: we will send the device back by courier to this address."),
            "book": _("Your visit is booked. We look forward to seeing you."),
        }
        messages.success(request, done[kind])
    return _no_store(redirect("status-token", token))


@require_POST
def status_approve(request: HttpRequest, token: str) -> HttpResponse:
    return _status_write(request, token, "approve")


@require_POST
def status_decline(request: HttpRequest, token: str) -> HttpResponse:
    return _status_write(request, token, "decline")


@require_POST
def status_courier(request: HttpRequest, token: str) -> HttpResponse:
    return _status_write(request, token, "courier")


@require_POST
def status_book(request: HttpRequest, token: str) -> HttpResponse:
    return _status_write(request, token, "book")
