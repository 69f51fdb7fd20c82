"""The stock page (/desk/stock/): the center's parts with on hand, reserved and available, and
the movements that explain every count (newest first, by part), for the desk, the technicians
(read-only) and the managers. Managers also adjust a count and transfer free units to another
center here. Both forms carry a one-time token (`form_token`), new on each render: a second
post of the same form records nothing. The writes go through `workflows/services/supply.py`,
since new units move waiting repairs on."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError, ValidationFailed
from core.pages import DESK_ROLES, STAFF_ROLES, error_messages, render_staff, staff_area, status_for
from core.roles import MANAGER, user_center_id, user_roles
from core.validation import has_control_characters, validated
from parts import selectors as parts_selectors
from parts.api import StockAdjustInSerializer, part_by_number
from parts.models import Part
from service_center.models import ServiceCenter
from workflows.api.stock import StockTransferInSerializer, transfer_targets
from workflows.inputs import form_token
from workflows.services import supply

PAGE_SIZE = 25
STOCK_FORMS = ("adjust", "transfer")


def _part_filter(value: str) -> tuple[Part | None, str]:
    """`?part=`: the part, or None and what to say about an unknown one."""
    if not value:
        return None, ""
    part = None
    if not has_control_characters(value) and len(value) <= 40:
        part = Part.objects.filter(part_number=value).first()
    if part is None:
        return None, _("No part %(number)s.") % {"number": value}
    return part, ""


def render_stock_page(
    request: HttpRequest,
    *,
    failed: str = "",
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    center_id = user_center_id(request.user)
    number = request.GET.get("part", "")
    part, part_error = _part_filter(number)
    movements = parts_selectors.stock_movements(center_id=center_id, part=part)
    if part_error:
        movements = movements.none()
    page = Paginator(movements, PAGE_SIZE).get_page(request.GET.get("page"))
    manager = MANAGER in user_roles(request.user)
    context = {
        "stock": list(parts_selectors.stock_list(center_id=center_id)),
        "page": page,
        "movements": list(page.object_list),
        "part_filter": number if not part_error else "",
        "part_error": part_error,
        "is_stock_manager": manager,
        "parts": parts_selectors.part_choices() if manager else [],
        "centers": parts_selectors.other_centers(center_id=center_id) if manager else [],
        "form_token": secrets.token_urlsafe(16),
        "failed": failed,
        "errors": errors or {},
        "values": request.POST.dict() if failed else {},
        "repair_area": "desk" if user_roles(request.user) & DESK_ROLES else "tech",
    }
    return render_staff(request, "desk/stock.html", context, status=status)


@require_GET
@staff_area(STAFF_ROLES)
def stock_page(request: HttpRequest) -> HttpResponse:
    return render_stock_page(request)


def _stock_form(name: str):
    """A manager's post of form `name`: the 403 page for anyone else; the page again with every
    field's error beside it and what was typed when refused; a second post of the same form
    (its one-time token seen) records nothing."""

    def decorate(write):
        @require_POST
        @staff_area(STAFF_ROLES)
        def view(request: HttpRequest) -> HttpResponse:
            if MANAGER not in user_roles(request.user):
                raise HttpForbidden(_("Only a manager may change stock counts."))
            try:
                token = form_token(request.POST)
                done = write(request, token)
            except DomainError as exc:
                errors = error_messages(exc)
                return render_stock_page(
                    request, failed=name, errors=errors, status=status_for(exc)
                )
            if done is None:
                messages.info(request, _("That form was already sent; nothing was recorded twice."))
            else:
                messages.success(request, done)
            return redirect("desk-stock")

        view.__name__ = view.__qualname__ = f"stock_{name}"
        return view

    return decorate


def _form(request: HttpRequest) -> dict[str, Any]:
    return {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "form_token")}


def _checked(serializer: Any, data: dict[str, Any], names: dict[str, Any]) -> dict[str, Any]:
    """`data` through `serializer`, with the errors of the names that don't exist (`names`:
    field -> a check that raises ValidationFailed) added, so every field's error shows at once."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    try:
        values = validated(serializer, data)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    for field, check in names.items():
        value = data.get(field, "")
        if field in errors or not isinstance(value, str) or not value:
            continue
        try:
            check(value)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return values


def _center_exists(code: str) -> None:
    if has_control_characters(code) or not ServiceCenter.objects.filter(code=code).exists():
        raise ValidationFailed({"to_center": [_("No service center %(code)s.") % {"code": code}]})


def _part_exists(number: str) -> None:
    if has_control_characters(number) or not Part.objects.filter(part_number=number).exists():
        raise ValidationFailed({"part_number": [_("No part %(number)s.") % {"number": number}]})


def _not_zero(delta: str) -> None:
    if delta.strip().lstrip("+-") and set(delta.strip().lstrip("+-")) == {"0"}:
        raise ValidationFailed({"delta": [_("A whole number between -100000 and 100000, not 0.")]})


@_stock_form("adjust")
def stock_adjust(request: HttpRequest, token: str) -> str | None:
    """A count correction or a delivery outside an order, at the manager's own center."""
    data = _checked(
        StockAdjustInSerializer, _form(request), {"part_number": _part_exists, "delta": _not_zero}
    )
    center = ServiceCenter.objects.get(pk=user_center_id(request.user))
    if token and not cache.add(f"stock-form:{request.user.pk}:{token}", 1, 24 * 3600):
        return None
    try:
        row = supply.stock_adjust(
            center=center,
            part=part_by_number(data["part_number"]),
            delta=data["delta"],
            reason=data["reason"],
            actor_user=request.user,
        )
    except DomainError:
        cache.delete(f"stock-form:{request.user.pk}:{token}")
        raise
    return _("Stock of %(part)s adjusted by %(delta)s: %(on_hand)s on hand.") % {
        "part": row.part.part_number,
        "delta": f"{data['delta']:+d}",
        "on_hand": row.on_hand,
    }


@_stock_form("transfer")
def stock_transfer(request: HttpRequest, token: str) -> str | None:
    """Free units of a part from the manager's center to another; the arrivals fill the
    receiver's waiting reservations, oldest first."""
    data = _form(request)
    data["from_center"] = ServiceCenter.objects.get(pk=user_center_id(request.user)).code
    checks = {"to_center": _center_exists, "part_number": _part_exists}
    values = _checked(StockTransferInSerializer, data, checks)
    sender, receiver, part = transfer_targets(values, request.user)
    done = supply.stock_transfer(
        from_center=sender,
        to_center=receiver,
        part=part,
        quantity=values["quantity"],
        reason=values["reason"],
        actor_user=request.user,
        request_key=token,
    )
    if done.repeated:
        return None
    said = _("Sent %(n)s × %(part)s to %(center)s (%(ref)s).") % {
        "n": values["quantity"],
        "part": part.part_number,
        "center": receiver.code,
        "ref": done.reference,
    }
    if done.served:
        tickets = ", ".join(x.ticket_number for x in done.served)
        said += " " + _("They went to the waiting repairs there: %(tickets)s.") % {
            "tickets": tickets
        }
    return said
