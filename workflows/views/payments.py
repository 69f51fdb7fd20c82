"""The ledger on the desk's repair page: take a payment, give a refund, print the receipt.

Every money form carries a one-time token (`form_token`), new on each render: a second post of
the same form (a double click, a resent page) records nothing (workflows/services/payments.py).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.pages import DESK_ROLES, error_messages, staff_area, status_for
from workflows import services as s
from workflows.choices import PaymentMethod
from workflows.models import Payment, Repair
from workflows.roles import actor_may
from workflows.views.common import _get_repair, _render_repair, _repair_url

MONEY_FORMS = ("payment", "refund")


def payment_context(request: HttpRequest, repair: Repair, failed: str, errors: Any) -> dict:
    """What the repair page's ledger panel shows (desk pages only)."""
    rows = list(Payment.objects.filter(repair=repair).select_related("created_by"))
    return {
        "payments": rows,
        "refunded": -sum(p.amount for p in rows if p.amount < 0),
        "payment_methods": PaymentMethod.choices,
        "form_token": secrets.token_urlsafe(16),
        "may_take_payments": actor_may(request.user, repair, "record_payment"),
        "money_errors": (errors or {}) if failed in MONEY_FORMS else {},
        "money_values": request.POST.dict() if failed in MONEY_FORMS else {},
        "receipt_url": f"/api/v1/repairs/{repair.ticket_number}/receipt.pdf",
    }


def _money_write(request: HttpRequest, ticket: str, kind: str, write) -> HttpResponse:
    repair = _get_repair(request, ticket)
    try:
        done = write(repair)
    except DomainError as exc:
        repair = _get_repair(request, ticket)
        return _render_repair(
            request, repair, failed=kind, errors=error_messages(exc), status=status_for(exc)
        )
    if done is None:
        messages.info(request, _("That form was already sent; nothing was recorded twice."))
    elif kind == "refund":
        messages.success(request, _("Refund recorded: %(n)s.") % {"n": done.receipt_number})
    else:
        messages.success(request, _("Payment recorded: %(n)s.") % {"n": done.receipt_number})
    return redirect(_repair_url("desk", repair.ticket_number) + "#payments")


@require_POST
@staff_area(DESK_ROLES)
def repair_payment(request: HttpRequest, ticket: str) -> HttpResponse:
    return _money_write(
        request,
        ticket,
        "payment",
        lambda r: s.repair_record_payment(
            repair=r.pk,
            actor=request.user,
            amount=request.POST.get("amount", ""),
            method=request.POST.get("method", ""),
            request_key=request.POST.get("form_token", ""),
        ),
    )


@require_POST
@staff_area(DESK_ROLES)
def repair_refund(request: HttpRequest, ticket: str) -> HttpResponse:
    return _money_write(
        request,
        ticket,
        "refund",
        lambda r: s.repair_record_refund(
            repair=r.pk,
            actor=request.user,
            amount=request.POST.get("amount", ""),
            method=request.POST.get("method", ""),
            reason=request.POST.get("reason", ""),
            request_key=request.POST.get("form_token", ""),
        ),
    )
