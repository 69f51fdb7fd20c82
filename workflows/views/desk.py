"""The front desk: board, intake with live lookups, repair page, call list."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError, ValidationFailed
from core.pages import (
    DESK_ROLES,
    STAFF_ROLES,
    error_messages,
    render_staff,
    staff_area,
    status_for,
)
from core.validation import clean_phone, validated
from service_center.models import ProductModel, WarrantyStatus
from workflows import board_cards, selectors
from workflows import page_selectors as sel
from workflows import services as s
from workflows.choices import (
    Coverage,
    IntakeChannel,
    ReturnMethod,
)
from workflows.inputs import IntakeInSerializer
from workflows.models import Repair
from workflows.texts import CoverageReason, coverage_reason_text
from workflows.views.common import (
    _center_id,
    _decorate_devices,
    _get_repair,
    _render_repair,
    staff_state_label,
)
from workflows.views.evidence import (
    checklist_context,
    clean_form_photos,
    condition_errors,
    condition_from_post,
)

# --- desk ----------------------------------------------------------------------------------


@require_GET
@staff_area(DESK_ROLES)
def desk_board(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    try:
        board = sel.desk_board(center_id=_center_id(request), query=query)
    except ValidationFailed as exc:  # a search with control characters or far too long
        board = sel.desk_board(center_id=_center_id(request))
        _draw_cards(board)
        context = {"board": board, "query": query, "search_errors": error_messages(exc)["q"]}
        return render_staff(request, "desk/board.html", context, status=400)
    _draw_cards(board)
    board.columns = [
        (st, staff_state_label(st), rs, n, html) for st, _label, rs, n, html in board.columns
    ]
    if board.results is not None and len(board.results) == 1:
        return redirect("desk-repair", board.results[0].ticket_number)
    visits = sel.todays_visits(center_id=_center_id(request)) if not query else []
    context = {"board": board, "query": query, "visits": visits}
    return render_staff(request, "desk/board.html", context)


def _draw_cards(board: sel.Board) -> None:
    """The board's cards as HTML, most from the cache (`board_cards`); the overdue strip's cards
    are also in their columns, so each is drawn once."""
    rows = {id(r): r for _st, _label, rs, _n in board.columns for r in rs}
    rows.update({id(r): r for r in board.overdue})
    board_cards.fill(list(rows.values()), sel.read_cards)
    # Each column's cards as one piece: the template emits one value per column, not per card.
    board.columns = [(*column, board_cards.joined(column[2])) for column in board.columns]
    board.overdue_html = board_cards.joined(board.overdue)


REPAIRS_PER_PAGE = 25


@require_GET
@staff_area(DESK_ROLES)
def desk_repairs(request: HttpRequest) -> HttpResponse:
    """Every repair of the center, closed ones by default, searched like the board, paginated."""
    state, query = request.GET.get("state", "closed"), request.GET.get("q", "")
    context: dict[str, Any] = {"state": state, "query": query, "errors": {}}
    try:
        found = selectors.repair_list(user=request.user, state=state or None, query=query)
    except ValidationFailed as exc:
        context["errors"] = error_messages(exc)
        found = Repair.objects.none()
    context["page"] = Paginator(found, REPAIRS_PER_PAGE).get_page(request.GET.get("page"))
    status = 400 if context["errors"] else 200
    return render_staff(request, "desk/repairs.html", context, status=status)


INTAKE_FIELDS = [
    "customer_name",
    "customer_phone",
    "customer_email",
    "customer_address",
    "serial_number",
    "product_model",
    "symptom",
    "accessories",
    "intake_channel",
    "device_in_shop",
    "return_method",
    "courier_address",
]


INTAKE_DEFAULTS = {"intake_channel": "walk_in", "return_method": "pickup", "device_in_shop": "on"}


def _intake_input(values: dict[str, str], language: str) -> dict[str, Any]:
    """The intake form as the API's intake body (workflows.inputs.IntakeInSerializer): the
    customer's fields nested, the device box ticked or not, the page's language."""
    customer = {k: values[f"customer_{k}"] for k in ("name", "phone", "email", "address")}
    own = {k: v for k, v in values.items() if not k.startswith("customer_")}
    return {
        **own,
        "customer": customer,
        "device_in_shop": values["device_in_shop"] == "on",
        "language": language,
    }


@require_http_methods(["GET", "POST"])
@staff_area(DESK_ROLES)
def desk_intake(request: HttpRequest) -> HttpResponse:
    values: dict[str, Any] = dict(INTAKE_DEFAULTS)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in INTAKE_FIELDS}
        try:
            repair = _take_in(request, values)
        except DomainError as exc:
            errors, status = error_messages(exc), status_for(exc)
            condition_errors(errors, condition_from_post(request.POST))
        else:
            messages.success(
                request,
                _("Repair %(ticket)s received. Print the claim ticket for the customer.")
                % {"ticket": repair.ticket_number},
            )
            return redirect("desk-repair", repair.ticket_number)
    models = list(ProductModel.objects.order_by("name"))
    context = {
        "values": values,
        "errors": errors,
        "product_models": models,
        "channels": IntakeChannel.choices,
        "return_methods": ReturnMethod.choices,
        **checklist_context(models, values.get("product_model", ""), request.POST),
    }
    return render_staff(request, "desk/intake.html", context, status=status)


def _take_in(request: HttpRequest, values: dict[str, Any]) -> Any:
    """The form checked whole (every field's error and every bad photo at once), then the
    repair taken in and its photos added."""
    body = _intake_input(values, request.LANGUAGE_CODE)
    body["condition"] = condition_from_post(request.POST)
    found: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    photos = []
    try:
        data = validated(IntakeInSerializer, body)
    except ValidationFailed as exc:
        found.update(exc.errors)
    try:
        photos = clean_form_photos(request.FILES.getlist("photos"))
    except ValidationFailed as exc:
        found.update(exc.errors)
    if found:
        raise ValidationFailed(found)
    repair = s.repair_intake(center=request.user.staff_profile.center, actor=request.user, **data)
    for photo in photos:
        s.repair_add_photo(repair=repair.pk, actor=request.user, upload=photo)
    return repair


@require_GET
@staff_area(DESK_ROLES)
def lookup_serial(request: HttpRequest) -> JsonResponse:
    """Live warranty check while the customer is still at the counter."""
    try:
        found = s.serial_lookup(request.GET.get("serial", ""))
    except ValidationFailed as exc:
        return JsonResponse({"ok": False, "errors": error_messages(exc)}, status=400)
    answer = {"ok": True, "serial_number": found.serial_number}
    if found.device is None:
        answer.update(
            status="unknown",
            label=str(WarrantyStatus.UNKNOWN.label),
            detail=_(
                "Not in the serial registry: coverage stays to be confirmed. "
                "Choose the product model."
            ),
        )
    else:
        answer.update(_known_serial(found))
    center = request.user.staff_profile.center
    earlier = selectors.repair_warranty_source(center=center, serial=found.serial_number)
    if earlier is not None:
        answer.update(_comeback(earlier))
    return JsonResponse(answer)


def _comeback(earlier: Any) -> dict[str, Any]:
    """A serial this center repaired and closed within its repair warranty: free again."""
    facts = selectors.repair_warranty_params(earlier)
    return {
        "repair_warranty": facts,
        "label": str(CoverageReason.REPAIR_WARRANTY.label),
        "coverage": str(Coverage.WARRANTY.label),
        "detail": coverage_reason_text(CoverageReason.REPAIR_WARRANTY, facts),
    }


def _known_serial(found: Any) -> dict[str, Any]:
    """A registered serial's warranty, model, channel and the coverage it gives."""
    device = found.device
    coverage = Coverage(s.coverage_from_serial(found)[0])
    facts = {
        "model": device.product_model.name,
        "bought": f"{device.purchase_date:%Y-%m-%d}",
        "until": f"{found.until:%Y-%m-%d}",
        "coverage": coverage.label,
    }
    return {
        "status": str(found.status),
        "label": str(WarrantyStatus(found.status).label),
        "until": facts["until"],
        "product_model": {"code": device.product_model.code, "name": device.product_model.name},
        "channel": device.get_channel_display(),
        "purchase_date": facts["bought"],
        "coverage": str(coverage.label),
        "detail": _(
            "%(model)s, bought %(bought)s, warranty until %(until)s. Coverage: %(coverage)s."
        )
        % facts,
    }


@require_POST
@staff_area(STAFF_ROLES)
def lookup_customer(request: HttpRequest) -> HttpResponse:
    """Customers by phone (POST: phone numbers stay out of URLs and access logs). The intake
    page's script shows the answer, or the phone's error, right under the phone field; the page
    does not reload, so nothing typed is lost."""
    try:
        phone = clean_phone(request.POST.get("phone", ""), field="phone")
    except ValidationFailed as exc:
        return JsonResponse({"ok": False, "errors": error_messages(exc)}, status=400)
    matches = sel.customers_by_phone(center_id=_center_id(request), phone=phone)
    for m in matches:
        _decorate_devices(m.devices)
    html = render_to_string("desk/_customer_matches.html", {"matches": matches}, request=request)
    return JsonResponse({"ok": True, "count": len(matches), "html": html})


@require_GET
@staff_area(DESK_ROLES)
def desk_repair(request: HttpRequest, ticket: str) -> HttpResponse:
    return _render_repair(request, _get_repair(request, ticket))


@require_GET
@staff_area(DESK_ROLES)
def desk_calls(request: HttpRequest) -> HttpResponse:
    calls = sel.call_list(center_id=_center_id(request))
    return render_staff(request, "desk/calls.html", {"calls": calls})
