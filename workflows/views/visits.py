"""The desk books a visit on the phone with the customer (the repair page's slot picker,
`common.visit_context`)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.pages import DESK_ROLES, staff_area
from core.validation import validated
from workflows import services as s
from workflows.inputs import BookingSlotSerializer
from workflows.views.common import _get_repair, _repair_url, render_refusal, require_role


@require_POST
@staff_area(DESK_ROLES)
def desk_book_visit(request: HttpRequest, ticket: str) -> HttpResponse:
    repair = _get_repair(request, ticket)
    try:
        require_role(request.user, repair, "invite_for_repair")
        start = validated(BookingSlotSerializer, request.POST)["start"]
        s.repair_book_appointment(repair=repair.pk, actor=request.user, start=start)
    except DomainError as exc:
        return render_refusal(request, ticket, "book", exc)
    messages.success(request, _("The visit is booked; the customer gets a message."))
    return redirect(_repair_url("desk", repair.ticket_number))
