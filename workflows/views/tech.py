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
