"""Technicians' pages: my repairs, the repair page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.pages import (
    TECH_ROLES,
    render_staff,
    staff_area,
)
from core.roles import staff_name
from workflows import page_selectors as sel
from workflows.choices import (
    State,
)
from workflows.views.common import (
    _center_id,
    _get_repair,
    _render_repair,
)

# --- technicians ---------------------------------------------------------------------------


@require_GET
@staff_area(TECH_ROLES)
def tech_home(request: HttpRequest) -> HttpResponse:
    mine = sel.technician_repairs(user=request.user)
    groups = [
        (_("To diagnose"), [State.DIAGNOSING]),
        (_("Ready to repair"), [State.READY_TO_REPAIR]),
        (_("Being repaired"), [State.IN_REPAIR]),
        (_("Waiting (customer or parts)"), [State.AWAITING_APPROVAL, State.AWAITING_PARTS]),
        (
            _("Finished, with the desk"),
            [State.REPAIRED, State.DECLINED, State.READY_FOR_PICKUP, State.SHIPPED],
        ),
    ]
    unassigned, unassigned_count = sel.unassigned_repairs(center_id=_center_id(request))
    context = {
        "mine": mine,
        "groups": [(label, *mine.group(states)) for label, states in groups],
        "overdue": mine.overdue,
        "unassigned": unassigned,
        "unassigned_count": unassigned_count,
        "staff_name": staff_name(request.user),
    }
    return render_staff(request, "tech/home.html", context)


@require_GET
@staff_area(TECH_ROLES)
def tech_repair(request: HttpRequest, ticket: str) -> HttpResponse:
    return _render_repair(request, _get_repair(request, ticket))
