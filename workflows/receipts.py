"""The payment receipt (영수증): a repair's ledger rows as a PDF, in the repair's language.

Same WeasyPrint set-up as the claim ticket (workflows/tickets.py): its per-process font
configuration (NanumGothic) and its `data:`-only URL fetcher; the stylesheet and the template
are built once per process. Call `render_receipt` outside any transaction.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template import loader
from django.utils import timezone, translation
from django.utils.translation import pgettext, pgettext_lazy
from weasyprint import CSS, HTML

from core.privacy import mask_name
from service_center.models import mask_phone
from workflows.choices import PaymentKind
from workflows.models import Payment, Repair
from workflows.tickets import FONT_CONFIG, URL_FETCHER

TEMPLATE_NAME = "receipts/receipt.html"
CSS_PATH = Path(settings.BASE_DIR) / "templates" / "receipts" / "receipt.css"
STYLESHEET = CSS(
    string=CSS_PATH.read_text(encoding="utf-8"), font_config=FONT_CONFIG, url_fetcher=URL_FETCHER
)

# The receipt's words come from the project's catalogue (context "receipt"), rendered under the
# repair's language; kinds and methods are the choices' own labels.
LABELS = {
    "title": pgettext_lazy("receipt", "Receipt"),
    "ticket_number": pgettext_lazy("receipt", "Ticket number"),
    "customer": pgettext_lazy("receipt", "Customer"),
    "model": pgettext_lazy("receipt", "Model"),
    "printed": pgettext_lazy("receipt", "Printed"),
    "receipt_number": pgettext_lazy("receipt", "Receipt no."),
    "when": pgettext_lazy("receipt", "Date"),
    "kind": pgettext_lazy("receipt", "Kind"),
    "method": pgettext_lazy("receipt", "Method"),
    "amount": pgettext_lazy("receipt", "Amount"),
    "no_rows": pgettext_lazy("receipt", "No payments recorded."),
    "total_due": pgettext_lazy("receipt", "Amount due"),
    "total_paid": pgettext_lazy("receipt", "Paid (total)"),
    "refunded": pgettext_lazy("receipt", "Refunded"),
    "balance": pgettext_lazy("receipt", "Balance"),
    "footer": pgettext_lazy("receipt", "This receipt lists every payment recorded on the repair."),
}


@cache
def _template():
    return loader.get_template(TEMPLATE_NAME)


def _money(amount: int | None) -> str:
    if amount is None:
        return pgettext("receipt", "to be confirmed")
    return pgettext("receipt", "KRW %(amount)s") % {"amount": f"{amount:,}"}


def _when(value) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"


def load_repair(ticket_number: str) -> Repair | None:
    """The repair with what the receipt prints (center, customer, model, its ledger rows)."""
    return (
        Repair.objects.select_related("center", "customer", "product_model")
        .prefetch_related("reservations")
        .filter(ticket_number=ticket_number)
        .first()
    )


def receipt_context(repair: Repair) -> dict[str, Any]:
    """What the receipt prints, in the active language (`render_receipt` activates the
    repair's). The customer's name and phone are masked, as on every printed slip."""
    rows = list(Payment.objects.filter(repair=repair).order_by("created_at", "id"))
    refunded = -sum(p.amount for p in rows if p.kind == PaymentKind.REFUND)
    model = repair.product_model
    return {
        "lang": translation.get_language(),
        "t": {key: str(label) for key, label in LABELS.items()},
        "center": repair.center,
        "ticket_number": repair.ticket_number,
        "customer_name": mask_name(repair.customer.name),
        "customer_phone": mask_phone(repair.customer.phone),
        "model": f"{model.name} ({model.code})" if model else _money(None),
        "printed_at": _when(timezone.now()),
        "rows": [
            {
                "receipt_number": p.receipt_number,
                "when": _when(p.created_at),
                "kind": p.get_kind_display(),
                "method": p.get_method_display(),
                "amount": _money(p.amount),
                "reason": p.reason,
                "css": p.kind,
            }
            for p in rows
        ],
        "total_due": _money(repair.amount_due),
        "total_paid": _money(repair.amount_paid),
        "refunded": _money(refunded) if refunded else "",
        "balance": _money(repair.balance_due),
    }


def render_receipt(repair: Repair) -> bytes:
    """The receipt as PDF bytes (A4). Reads the rows first, then renders without the database."""
    with translation.override(repair.language or settings.LANGUAGE_CODE):
        html = _template().render(receipt_context(repair))
    document = HTML(string=html, url_fetcher=URL_FETCHER).render(
        stylesheets=[STYLESHEET], font_config=FONT_CONFIG
    )
    return document.write_pdf()
