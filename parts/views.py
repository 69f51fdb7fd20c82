"""The parts-orders page: what the center waits for from the warehouse, and receiving it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from core.roles import user_center_id
from parts import services as parts_services
from service_center.views import STAFF_ROLES, error_messages, render_staff, staff_area, status_for
from workflows import page_selectors as sel


def _render(request: HttpRequest, *, failed: int | None = None, errors=None, status=200):
    center_id = user_center_id(request.user)
    context = {
        "orders": sel.open_parts_orders(center_id=center_id),
        "recent": sel.recent_parts_orders(center_id=center_id),
        "failed": failed,
        "errors": errors or {},
    }
    return render_staff(request, "desk/parts_orders.html", context, status=status)


@require_GET
@staff_area(STAFF_ROLES)
def parts_orders(request: HttpRequest) -> HttpResponse:
    return _render(request)


@require_POST
@staff_area(STAFF_ROLES)
def parts_order_receive(request: HttpRequest, order_id: int) -> HttpResponse:
    """Everything outstanding on the order arrived: on the shelf, first come first served."""
    center_id = user_center_id(request.user)
    if not any(o.pk == order_id for o in sel.open_parts_orders(center_id=center_id)):
        messages.error(request, _("No open parts order with that number at this center."))
        return redirect("parts-orders")
    try:
        parts_services.parts_order_receive(order_id=order_id)
    except DomainError as exc:
        return _render(request, failed=order_id, errors=error_messages(exc), status=status_for(exc))
    messages.success(
        request,
        _("Order PO-%(id)s received. Waiting repairs got their parts, oldest first.")
        % {"id": order_id},
    )
    return redirect("parts-orders")
