"""Writes on a repair from the desk and tech pages (transitions, notes, calls, promises).

Each checks the role, then the form with the serializer the API checks the same input with
(workflows/inputs.py; a transition's from the registry), every bad field at once, and calls the
service with typed values. A refusal shows the repair page again with the messages beside the
fields (common.render_refusal).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.http import require_POST
from rest_framework import serializers

from core.errors import DomainError, ValidationFailed
from core.pages import STAFF_ROLES, staff_area
from core.validation import validated
from workflows import registry
from workflows import services as s
from workflows.inputs import (
    CallInSerializer,
    EmptyInSerializer,
    NoteInSerializer,
    PromiseInSerializer,
    form_token,
)
from workflows.views.common import (
    _area_of,
    _get_repair,
    _repair_url,
    render_refusal,
    require_role,
)

# --- transitions -------------------------------------------------------------------------------


def _diagnose_form(post: QueryDict) -> dict[str, Any]:
    """The diagnose form as the transition's input: a quantity box per compatible part
    (`qty_<part_number>`; empty or 0 is none), the findings, the labour fee (empty is 0)."""
    data: dict[str, Any] = {"findings": post.get("findings", "")}
    data["parts"] = [
        {"part_number": key[4:], "quantity": value}
        for key, value in post.items()
        if key.startswith("qty_") and value.strip() not in ("", "0")
    ]
    if post.get("labor_fee", "").strip():
        data["labor_fee"] = post["labor_fee"]
    if "reason" in post:  # requote
        data["reason"] = post["reason"]
    return data


CONFIRM_MISSING = gettext_noop("Tick the box to confirm: this cannot be undone.")


def _transition_input(name: str, post: QueryDict) -> dict[str, Any]:
    """The form checked with the transition's input serializer (the registry's, the API's).
    A one-way step (registry `confirm`) also needs its box ticked; that error comes with the
    fields' own, all at once. The API has no such box: its callers mean what they send."""
    form = _diagnose_form(post) if name in ("diagnose", "requote") else post
    unconfirmed = registry.TRANSITIONS[name].confirm and post.get("confirm") != "1"
    try:
        data = validated(registry.TRANSITIONS[name].input_serializer, form)
    except ValidationFailed as exc:
        if unconfirmed:
            exc.errors.setdefault("confirm", [CONFIRM_MISSING])
        raise
    if unconfirmed:
        raise ValidationFailed({"confirm": [CONFIRM_MISSING]})
    return data


@require_POST
@staff_area(STAFF_ROLES)
def repair_transition(request: HttpRequest, ticket: str, name: str) -> HttpResponse:
    repair = _get_repair(request, ticket)
    if name not in registry.STAFF_TRANSITIONS:
        raise Http404(_("No such action."))
    try:
        require_role(request.user, repair, name)
        s.repair_transition(
            repair=repair.pk,
            name=name,
            actor=request.user,
            data=_transition_input(name, request.POST),
            request_key=form_token(request.POST),
        )
    except DomainError as exc:
        return render_refusal(request, ticket, name, exc)
    messages.success(request, _("Done: %(action)s.") % {"action": registry.TRANSITIONS[name].label})
    return redirect(_repair_url(_area_of(request), repair.ticket_number))


# --- timeline actions --------------------------------------------------------------------------

DONE = {
    "note": gettext_noop("Note added."),
    "call": gettext_noop("Call recorded."),
    "promise": gettext_noop("Promise recorded."),
    "fulfil": gettext_noop("Promise marked as kept."),
}


def _with_text(post: QueryDict, default: str) -> QueryDict:
    """The form with `default` as its text when nothing was typed."""
    if post.get("text", "").strip():
        return post
    data = post.copy()
    data["text"] = default
    return data


def _timeline_action(
    kind: str,
    action: str,
    input_serializer: type[serializers.Serializer],
    *,
    default_text: Any = None,
) -> Any:
    """The page view of a timeline action: the role, the form checked with the API's
    serializer, then `repair_<action>` with typed values and the URL's ids (a promise's)."""

    @require_POST
    @staff_area(STAFF_ROLES)
    def view(request: HttpRequest, ticket: str, **ids: int) -> HttpResponse:
        repair = _get_repair(request, ticket)
        form = _with_text(request.POST, str(default_text)) if default_text else request.POST
        try:
            require_role(request.user, repair, action)
            data = validated(input_serializer, form)
            getattr(s, f"repair_{action}")(repair=repair.pk, actor=request.user, **ids, **data)
        except DomainError as exc:
            return render_refusal(request, ticket, kind, exc)
        messages.success(request, _(DONE[kind]))
        if request.POST.get("next", "") == "/desk/calls/":
            return redirect("/desk/calls/")
        return redirect(_repair_url(_area_of(request), repair.ticket_number) + "#timeline")

    view.__name__ = view.__qualname__ = f"repair_{kind}"
    return view


repair_note = _timeline_action("note", "add_note", NoteInSerializer)
# One click: a call with nothing typed is still a call worth recording.
repair_call = _timeline_action(
    "call", "record_call", CallInSerializer, default_text=gettext_lazy("Called the customer.")
)
repair_promise = _timeline_action("promise", "record_promise", PromiseInSerializer)
repair_fulfil = _timeline_action("fulfil", "fulfil_promise", EmptyInSerializer)
