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
from core.pages import DESK_ROLES, staff_area
from core.validation import validated
from workflows import services as s
from workflows.inputs import PaymentInSerializer, RefundInSerializer, form_token
from workflows.views.common import _get_repair, _repair_url, render_refusal, require_role

# Per money form: its input (the API's serializer) and what the page says once it is recorded.
LEDGER_FORMS: dict[str, tuple[Any, str]] = {
    "payment": (PaymentInSerializer, gettext_noop("Payment recorded: %(n)s.")),
    "refund": (RefundInSerializer, gettext_noop("Refund recorded: %(n)s.")),
}


def _money_view(kind: str) -> Any:
    """The page view of one money form: the role, the form checked with the API's serializer,
    then `repair_record_<kind>` with typed values and the form's one-time token; an error shows
    the repair page again with the messages beside the fields."""
    serializer, done_text = LEDGER_FORMS[kind]
    action = f"record_{kind}"

    @require_POST
    @staff_area(DESK_ROLES)
    def view(request: HttpRequest, ticket: str) -> HttpResponse:
        repair = _get_repair(request, ticket)
        try:
            require_role(request.user, repair, action)
            data = validated(serializer, request.POST)
            done = getattr(s, f"repair_{action}")(
                repair=repair.pk, actor=request.user, request_key=form_token(request.POST), **data
            )
        except DomainError as exc:
            return render_refusal(request, ticket, kind, exc)
        if done is None:
            messages.info(
                request, gettext("That form was already sent; nothing was recorded twice.")
            )
        else:
            messages.success(request, gettext(done_text) % {"n": done.receipt_number})
        return redirect(_repair_url("desk", repair.ticket_number) + "#payments")

    view.__name__ = view.__qualname__ = f"repair_{kind}"
    return view


repair_payment = _money_view("payment")
repair_refund = _money_view("refund")
