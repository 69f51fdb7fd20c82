"""The parts-orders page: what the center waits for from the warehouse, what arrived and which
repairs it actually went to. Its forms ship an order (a manager records the warehouse's
dispatch), receive it and cancel it (desk, manager); `core.roles.ACTION_ACTORS` says who, the
page shows a form only to those roles and a post from anyone else gets the 403 page. The writes
go through `workflows/services/supply.py`, which moves the repairs on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from core.pages import STAFF_ROLES, error_messages, render_staff, staff_area, status_for
from core.roles import may_act, user_center_id
from core.validation import validated
from parts import selectors as parts_selectors
from parts.api import CancelInSerializer, ShipInSerializer
from workflows import page_selectors
from workflows.services import supply

# The page's forms and the ACTION_ACTORS entry each needs.
ORDER_FORMS = {
    "ship": "ship_parts_order",
    "receive": "receive_parts",
    "cancel": "cancel_parts_order",
}


def render_orders_page(
    request: HttpRequest,
    *,
    failed: int | None = None,
    form: str = "",
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    center_id = user_center_id(request.user)
    orders = parts_selectors.open_parts_orders(center_id=center_id)
    recent = parts_selectors.recent_parts_orders(center_id=center_id)
    served = page_selectors.parts_orders_served(
        center_id=center_id, order_ids=[o.pk for o in [*orders, *recent]]
    )
    for order in [*orders, *recent]:
        order.served = served.get(order.pk, [])
    context = {
        "orders": orders,
        "open_count": parts_selectors.open_parts_orders_count(center_id=center_id),
        "recent": recent,
        "may": {f: may_act(request.user, action, center_id) for f, action in ORDER_FORMS.items()},
        "today": timezone.localdate(),
        "failed": failed,
        "failed_form": form,
        "errors": errors or {},
        "values": request.POST.dict() if failed else {},
    }
    return render_staff(request, "desk/parts_orders.html", context, status=status)


@require_GET
@staff_area(STAFF_ROLES)
def parts_orders(request: HttpRequest) -> HttpResponse:
    return render_orders_page(request)


def _order_form(name: str) -> Callable[[Callable], Callable]:
    """A post of form `name` on an open order of this center: 403 page for a role that may not,
    back to the page with a message for an order that is not open here, the page with the
    errors beside the form's fields (and what was typed) when the service refuses."""

    def decorate(write: Callable[[HttpRequest, int], str]) -> Callable:
        @require_POST
        @staff_area(STAFF_ROLES)
        def view(request: HttpRequest, order_id: int) -> HttpResponse:
            center_id = user_center_id(request.user)
            if not may_act(request.user, ORDER_FORMS[name], center_id):
                raise HttpForbidden(_("Your role may not do this to a parts order."))
            if not parts_selectors.is_open_parts_order(center_id=center_id, order_id=order_id):
                messages.error(request, _("No open parts order with that number at this center."))
                return redirect("parts-orders")
            try:
                done = write(request, order_id)
            except DomainError as exc:
                return render_orders_page(
                    request,
                    failed=order_id,
                    form=name,
                    errors=error_messages(exc),
                    status=status_for(exc),
                )
            messages.success(request, done)
            return redirect("parts-orders")

        view.__name__ = view.__qualname__ = f"parts_order_{name}"
        return view

    return decorate


@_order_form("receive")
def parts_order_receive(request: HttpRequest, order_id: int) -> str:
    """Everything outstanding on the order arrived: on the shelf, first come first served."""
    _order, served = supply.parts_order_receive(order_id=order_id, actor_user=request.user)
    return received_message(order_id, served)


def received_message(order_id: int, served: list[supply.Served]) -> str:
    """What receiving did, said plainly: the tickets served (first come, first served), or that
    nobody was waiting."""
    if not served:
        return _(
            "Order PO-%(id)s received. Nobody was waiting for these parts: they are on the shelf."
        ) % {"id": order_id}
    tickets = ", ".join(
        f"{x.ticket_number} ({', '.join(f'{n} ×{q}' for n, q in x.parts)})" for x in served
    )
    return _("Order PO-%(id)s received. The parts went to (oldest request first): %(tickets)s.") % {
        "id": order_id,
        "tickets": tickets,
    }


@_order_form("ship")
def parts_order_ship(request: HttpRequest, order_id: int) -> str:
    """The warehouse dispatched it: carrier, tracking number and (today or later) the ETA."""
    data = _form_data(request)
    if not data.get("eta"):
        data.pop("eta", None)
    values = validated(ShipInSerializer, data)
    supply.parts_order_ship(
        order_id=order_id,
        carrier=values["carrier"],
        tracking_number=values["tracking_number"],
        eta=values.get("eta"),
    )
    return _("Order PO-%(id)s marked as shipped by the warehouse.") % {"id": order_id}


@_order_form("cancel")
def parts_order_cancel(request: HttpRequest, order_id: int) -> str:
    """The order will not come: its repairs are told, and what they wait for is asked again."""
    values = validated(CancelInSerializer, _form_data(request))
    _order, again = supply.parts_order_cancel(order_id=order_id, reason=values["reason"])
    if again is None:
        return _("Order PO-%(id)s cancelled.") % {"id": order_id}
    return _(
        "Order PO-%(id)s cancelled. The waiting repairs were told, and their parts were "
        "requested again as PO-%(again)s."
    ) % {"id": order_id, "again": again.pk}


def _form_data(request: HttpRequest) -> dict[str, Any]:
    return {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
