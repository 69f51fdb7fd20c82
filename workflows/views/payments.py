"""The ledger on the desk's repair page: take a payment, give a refund, print the receipt.

Every money form carries a one-time token (`form_token`), new on each render: a second post of
the same form (a double click, a resent page) records nothing (workflows/services/payments.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.pages import DESK_ROLES, error_messages, staff_area, status_for
from workflows import services as s
from workflows.views.common import _get_repair, _render_repair, _repair_url

DONE = {
    "payment": gettext_noop("Payment recorded: %(n)s."),
    "refund": gettext_noop("Refund recorded: %(n)s."),
}


def _money_view(kind: str, service: Any, fields: tuple[str, ...]) -> Any:
    """The page view of one money form: the typed fields and the form's one-time token go to
    `service`; an error shows the repair page again with the message beside the field."""

    @require_POST
    @staff_area(DESK_ROLES)
    def view(request: HttpRequest, ticket: str) -> HttpResponse:
        repair = _get_repair(request, ticket)
        typed = {name: request.POST.get(name, "") for name in fields}
        try:
            done = service(
                repair=repair.pk,
                actor=request.user,
                request_key=request.POST.get("form_token", ""),
                **typed,
            )
        except DomainError as exc:
            repair = _get_repair(request, ticket)
            return _render_repair(
                request, repair, failed=kind, errors=error_messages(exc), status=status_for(exc)
            )
        if done is None:
            messages.info(
                request, gettext("That form was already sent; nothing was recorded twice.")
            )
        else:
            messages.success(request, gettext(DONE[kind]) % {"n": done.receipt_number})
        return redirect(_repair_url("desk", repair.ticket_number) + "#payments")

    view.__name__ = f"repair_{kind}"
    return view


repair_payment = _money_view("payment", s.repair_record_payment, ("amount", "method"))
repair_refund = _money_view("refund", s.repair_record_refund, ("amount", "method", "reason"))
