"""The parts-orders page: what the center waits for from the warehouse. Receiving an order moves
repairs on, so that form posts to `workflows/views/parts_orders.py`."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from core.pages import STAFF_ROLES, render_staff, staff_area
from core.roles import user_center_id
from parts import selectors as sel


def render_orders_page(request: HttpRequest, *, failed: int | None = None, errors=None, status=200):
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
    return render_orders_page(request)
