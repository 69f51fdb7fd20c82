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
from weasyprint import CSS, HTML

from service_center.models import mask_phone
from workflows.choices import PaymentKind
from workflows.models import Payment, Repair
from workflows.tickets import FONT_CONFIG, URL_FETCHER

TEMPLATE_NAME = "receipts/receipt.html"
CSS_PATH = Path(settings.BASE_DIR) / "templates" / "receipts" / "receipt.css"
STYLESHEET = CSS(
    string=CSS_PATH.read_text(encoding="utf-8"), font_config=FONT_CONFIG, url_fetcher=URL_FETCHER
)

LABELS: dict[str, dict[str, Any]] = {
    "ko": {
        "title": "영수증",
        "ticket_number": "접수번호",
        "customer": "고객",
        "model": "모델",
        "printed": "발행 일시",
        "receipt_number": "영수증 번호",
        "when": "일시",
        "kind": "구분",
        "method": "결제 수단",
        "amount": "금액",
        "no_rows": "결제 내역이 없습니다.",
        "total_due": "청구 금액",
        "total_paid": "받은 금액 (합계)",
        "refunded": "환불 금액",
        "balance": "남은 금액",
        "footer": "이 영수증은 수리 접수번호의 결제 내역을 모두 보여 줍니다.",
        "unknown": "미정",
        "won": "{amount}원",
        "kinds": {"deposit": "예치금", "payment": "결제", "refund": "환불"},
        "methods": {"cash": "현금", "card": "카드", "transfer": "계좌 이체"},
    },
    "en": {
        "title": "Receipt",
        "ticket_number": "Ticket number",
        "customer": "Customer",
        "model": "Model",
        "printed": "Printed",
        "receipt_number": "Receipt no.",
        "when": "Date",
        "kind": "Kind",
        "method": "Method",
        "amount": "Amount",
        "no_rows": "No payments recorded.",
        "total_due": "Amount due",
        "total_paid": "Paid (total)",
        "refunded": "Refunded",
        "balance": "Balance",
        "footer": "This receipt lists every payment recorded on the repair.",
        "unknown": "to be confirmed",
        "won": "KRW {amount}",
        "kinds": {"deposit": "Deposit", "payment": "Payment", "refund": "Refund"},
        "methods": {"cash": "Cash", "card": "Card", "transfer": "Bank transfer"},
    },
}


@cache
def _template():
    return loader.get_template(TEMPLATE_NAME)


def _money(amount: int | None, labels: dict) -> str:
    return labels["unknown"] if amount is None else labels["won"].format(amount=f"{amount:,}")


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
    lang = repair.language if repair.language in LABELS else "ko"
    labels = LABELS[lang]
    rows = list(Payment.objects.filter(repair=repair).order_by("created_at", "id"))
    refunded = -sum(p.amount for p in rows if p.kind == PaymentKind.REFUND)
    model = repair.product_model
    return {
        "lang": lang,
        "t": labels,
        "center": repair.center,
        "ticket_number": repair.ticket_number,
        "customer_name": repair.customer.name,
        "customer_phone": mask_phone(repair.customer.phone),
        "model": f"{model.name} ({model.code})" if model else labels["unknown"],
        "printed_at": _when(timezone.now()),
        "rows": [
            {
                "receipt_number": p.receipt_number,
                "when": _when(p.created_at),
                "kind": labels["kinds"].get(p.kind, p.kind),
                "method": labels["methods"].get(p.method, p.method),
                "amount": _money(p.amount, labels),
                "reason": p.reason,
                "css": p.kind,
            }
            for p in rows
        ],
        "total_due": _money(repair.amount_due, labels),
        "total_paid": _money(repair.amount_paid, labels),
        "refunded": _money(refunded, labels) if refunded else "",
        "balance": _money(repair.balance_due, labels),
    }


def render_receipt(repair: Repair) -> bytes:
    """The receipt as PDF bytes (A4). Reads the rows first, then renders without the database."""
    with translation.override(repair.language or settings.LANGUAGE_CODE):
        html = _template().render(receipt_context(repair))
    document = HTML(string=html, url_fetcher=URL_FETCHER).render(
        stylesheets=[STYLESHEET], font_config=FONT_CONFIG
    )
    return document.write_pdf()
