"""Writes on a repair from the desk and tech pages (transitions, notes, calls, promises)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework import serializers

from core.errors import DomainError, ValidationFailed
from core.pages import (
    STAFF_ROLES,
    error_messages,
    staff_area,
    status_for,
)
from core.validation import validated
from workflows import registry
from workflows import services as s
from workflows.inputs import CallInSerializer, NoteInSerializer, PromiseInSerializer
from workflows.views.common import (
    _area_of,
    _get_repair,
    _render_repair,
    _repair_url,
)

# --- writes on a repair (desk and tech pages share them) -------------------------------------


def _typed_quantity(value: str) -> int:
    """A quantity box: empty or 0 is "none"; anything but ASCII digits is the form's error.

    str.isdigit() accepts "²" and "٣", and int() of 5,000 digits raises: both were 500s. The
    service checks the range (1-99) and says so beside the parts table.
    """
    text = value.strip()
    if not text:
        return 0
    if not re.fullmatch(r"[0-9]{1,6}", text):
        raise ValidationFailed({"parts": ["Quantity is a whole number from 1 to 99."]})
    return int(text)


def _transition_data(name: str, post: Any) -> dict[str, Any]:
    """Form fields -> the service's input. Parts come as qty_<part_number> fields."""
    data = {k: v for k, v in post.items() if k != "csrfmiddlewaretoken"}
    if name == "diagnose":
        parts = []
        for key, value in post.items():
            quantity = _typed_quantity(value) if key.startswith("qty_") else 0
            if quantity:
                parts.append({"part_number": key[4:], "quantity": quantity})
        data["parts"] = parts
        data["labor_fee"] = post.get("labor_fee", "") or 0
    return data


@require_POST
@staff_area(STAFF_ROLES)
def repair_transition(request: HttpRequest, ticket: str, name: str) -> HttpResponse:
    repair = _get_repair(request, ticket)
    if name not in registry.STAFF_TRANSITIONS:
        raise Http404(_("No such action."))
    try:
        s.repair_transition(
            repair=repair.pk,
            name=name,
            actor=request.user,
            data=_transition_data(name, request.POST),
            request_key=request.POST.get("form_token", ""),
        )
    except DomainError as exc:
        repair = _get_repair(request, ticket)
        return _render_repair(
            request, repair, failed=name, errors=error_messages(exc), status=status_for(exc)
        )
    messages.success(request, _("Done: %(action)s.") % {"action": registry.TRANSITIONS[name].label})
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


def _default_call_text(post: QueryDict) -> QueryDict:
    """One click: a call with nothing typed is still a call worth recording."""
    if post.get("text", "").strip():
        return post
    data = post.copy()
    data["text"] = _("Called the customer.")
    return data


def _timeline_action(
    kind: str,
    action: str,
    input_serializer: type[serializers.Serializer],
    prepare: Callable[[QueryDict], QueryDict] = lambda post: post,
) -> Callable[..., HttpResponse]:
    """A page form for a timeline action: the form checked with the API's serializer (every bad
    field's message beside it at once), then the service `repair_<action>` with typed values."""

    def write(request: HttpRequest, repair: Any) -> Any:
        data = validated(input_serializer, prepare(request.POST))
        return getattr(s, f"repair_{action}")(repair=repair.pk, actor=request.user, **data)

    @require_POST
    @staff_area(STAFF_ROLES)
    def view(request: HttpRequest, ticket: str) -> HttpResponse:
        return _timeline_write(request, ticket, kind, lambda r: write(request, r))

    view.__name__ = view.__qualname__ = f"repair_{kind}"
    return view


repair_note = _timeline_action("note", "add_note", NoteInSerializer)
repair_call = _timeline_action("call", "record_call", CallInSerializer, _default_call_text)
repair_promise = _timeline_action("promise", "record_promise", PromiseInSerializer)


@require_POST
@staff_area(STAFF_ROLES)
def repair_fulfil(request: HttpRequest, ticket: str, promise_id: int) -> HttpResponse:
    return _timeline_write(
        request,
        ticket,
        "fulfil",
        lambda r: s.repair_fulfil_promise(repair=r.pk, actor=request.user, promise_id=promise_id),
    )
