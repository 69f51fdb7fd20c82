"""Receiving a parts order from the parts-orders page (`parts/views.py` shows the page): the
parts go on the shelf and the waiting repairs move on (`workflows/services/supply.py`)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.pages import STAFF_ROLES, error_messages, staff_area, status_for
from core.roles import user_center_id
from parts import selectors as parts_selectors
from parts.views import render_orders_page
from workflows.services import supply


@require_POST
@staff_area(STAFF_ROLES)
def parts_order_receive(request: HttpRequest, order_id: int) -> HttpResponse:
    """Everything outstanding on the order arrived: on the shelf, first come first served."""
    center_id = user_center_id(request.user)
    if not any(o.pk == order_id for o in parts_selectors.open_parts_orders(center_id=center_id)):
        messages.error(request, _("No open parts order with that number at this center."))
        return redirect("parts-orders")
    try:
        supply.parts_order_receive(order_id=order_id, actor_user=request.user)
    except DomainError as exc:
        return render_orders_page(
            request, failed=order_id, errors=error_messages(exc), status=status_for(exc)
        )
    messages.success(
        request,
        _("Order PO-%(id)s received. Waiting repairs got their parts, oldest first.")
        % {"id": order_id},
    )
    return redirect("parts-orders")
