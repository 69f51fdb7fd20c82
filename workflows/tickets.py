"""The claim ticket: one function renders a repair's ticket to PDF bytes, in process.

WeasyPrint is slow to start and a CJK font is big, so everything that does not depend on the
repair is built once per process and reused: the FontConfiguration (Pango's font map, which keeps
the parsed NanumGothic faces), the stylesheet and the compiled template. The barcode and the QR
code are inline SVG; the URL fetcher refuses every scheme but `data:`, so a render never touches
the network or the disk.

Call `render_claim_ticket` outside any transaction: it reads what it needs first, then renders.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from base64 import b64decode
from functools import cache
from itertools import groupby
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import segno
from barcode import Code128
from django.conf import settings
from django.template import loader
from django.utils import timezone, translation
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from core.compat import crop_last_page, fontconfig_family_names, harfbuzz_subsetting_available
from service_center.models import mask_phone, staff_name
from workflows.choices import Coverage, ReturnMethod
from workflows.models import Repair
from workflows.services import status_link

logger = logging.getLogger(__name__)

VARIANTS = ("a4", "receipt")
TEMPLATE_NAME = "tickets/claim_ticket.html"
CSS_PATH = Path(settings.BASE_DIR) / "templates" / "tickets" / "claim_ticket.css"
# The first family that fontconfig resolves to itself is the one the ticket prints with.
FONT_STACK = ("NanumGothic", "Nanum Gothic", "Noto Sans CJK KR")

# Built once per process (STYLE.md: fonts and CSS are loaded once, not per request).
FONT_CONFIG = FontConfiguration()


class DataOnlyFetcher(URLFetcher):
    """Serves the ticket's `data:` URIs (its SVG codes) and refuses everything else: a render
    never reaches the network or the disk. Decoding here also skips urllib's data handler, which
    runs the whole URI through the e-mail header parser (~8 ms a ticket)."""

    def fetch(self, url, headers=None):
        if not url.startswith("data:"):
            raise ValueError(f"claim tickets load nothing from outside: {url[:60]}")
        meta, _, data = url[5:].partition(",")
        body = b64decode(data) if meta.endswith(";base64") else unquote_to_bytes(data)
        return URLFetcherResponse(url, body, {"Content-Type": meta.split(";")[0]})


URL_FETCHER = DataOnlyFetcher()
STYLESHEET = CSS(
    string=CSS_PATH.read_text(encoding="utf-8"), font_config=FONT_CONFIG, url_fetcher=URL_FETCHER
)


@cache
def _template():
    return loader.get_template(TEMPLATE_NAME)


# --- the environment: HarfBuzz subsetting and a Korean font ------------------------------------


def korean_font_family() -> str | None:
    """The first family of FONT_STACK that fontconfig matches to itself (what `fc-match` does)."""
    for family in FONT_STACK:
        if family.replace(" ", "").lower() in fontconfig_family_names(family):
            return family
    return None


def check_pdf_environment() -> bool:
    """Log a warning for what would make tickets slow or unreadable. Never raises."""
    ok = True
    try:
        if not harfbuzz_subsetting_available():
            ok = False
            logger.warning(
                "Claim tickets: HarfBuzz subsetting (libharfbuzz-subset0, HarfBuzz >= 4.1) is "
                "missing; WeasyPrint falls back to fontTools and each ticket renders ~10x slower. "
                "Install the Debian package libharfbuzz-subset0."
            )
        if korean_font_family() is None:
            ok = False
            logger.warning(
                "Claim tickets: fontconfig finds no Korean font (%s); Korean text would print as "
                "empty boxes. Install the Debian package fonts-nanum.",
                ", ".join(FONT_STACK),
            )
    except Exception:  # a check must never stop the app from starting
        logger.exception("Claim tickets: could not check the PDF environment")
        return False
    return ok


# --- codes -------------------------------------------------------------------------------------


def barcode_svg(text: str, *, module_mm: float = 0.3, height_mm: float = 11) -> str:
    """Code128 of `text` as an SVG data URI, drawn at its true size, with its quiet zones.

    python-barcode encodes; the bars are drawn here as one path. Its SVGWriter emits a <rect>
    (with millimetre units) per bar, which WeasyPrint parses and draws one by one: ~25 ms per
    ticket against ~1 ms for the single path.
    """
    modules = Code128(text).build()[0]
    quiet = 10
    bars, x = [], quiet
    for bit, run in groupby(modules):
        width = len(list(run))
        if bit == "1":
            bars.append(f"M{x} 0h{width}v1h-{width}z")
        x += width
    total = x + quiet
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total * module_mm:.2f}mm" '
        f'height="{height_mm}mm" viewBox="0 0 {total} 1" preserveAspectRatio="none">'
        f'<path d="{"".join(bars)}"/></svg>'
    )
    return "data:image/svg+xml," + quote(svg)


def qr_svg(data: str, *, module_mm: float = 0.75) -> str:
    """QR code of `data` as an SVG data URI (one path), sized in millimetres, quiet zone included.

    A fixed mask skips segno's evaluation of all eight (4 ms); any mask decodes alike.
    """
    qr = segno.make(data, error="m", mask=0)
    return qr.svg_data_uri(scale=module_mm, unit="mm", border=4)


# --- wording -----------------------------------------------------------------------------------

LABELS: dict[str, dict[str, Any]] = {
    "ko": {
        "title": "수리 접수증",
        "ticket_number": "접수번호",
        "scan": ["QR 코드를 스캔하면", "수리 진행 상황을 볼 수 있습니다."],
        "lookup": ["또는 {url} 에서", "접수번호와 휴대폰 뒤 4자리로 조회"],
        "intake": "접수 정보",
        "intake_date": "접수 일시",
        "intake_channel": "접수 방법",
        "received_by": "접수 담당",
        "technician": "담당 기사",
        "customer": "고객 정보",
        "name": "성함",
        "phone": "연락처",
        "device": "제품 정보",
        "model": "모델",
        "serial": "시리얼 번호",
        "serial_unknown": "시리얼 미확인 — 보증 여부 확인 예정",
        "warranty_until": "보증 기간",
        "symptom": "고장 증상",
        "accessories": "접수 부속품",
        "none": "없음",
        "coverage": "수리 구분",
        "coverage_reason": "판정 근거",
        "quote": "견적",
        "labor": "공임",
        "parts": "부품",
        "total": "합계",
        "quote_pending": "진단 후 안내합니다. 고객님의 승인 없이 유상 수리를 진행하지 않습니다.",
        "quote_free": "무상 (보증 수리)",
        "approved": "승인",
        "promises": "약속 일정",
        "ready_by": "완료 예정",
        "no_promise": "진단 후 연락드립니다.",
        "return": "반환 방법",
        "recipient": "받는 분",
        "address": "주소",
        "terms_title": "유의사항",
        "sign_customer": "고객 확인",
        "sign_staff": "접수 담당",
        "sign_return": "제품 수령 확인",
        "date": "날짜",
        "signature": "서명",
        "footer": "제품을 찾으실 때 이 접수증을 지참해 주세요.",
        "unknown": "미정",
        "channels": {"walk_in": "방문 접수", "phone": "전화 접수", "courier": "택배 접수"},
        "returns": {"pickup": "센터 방문 수령", "courier": "택배 반환"},
        "coverages": {
            "warranty": "무상 수리 (보증)",
            "paid": "유상 수리",
            "undetermined": "확인 예정",
        },
        "promise_kinds": {
            "callback": "연락 예정",
            "part_eta": "부품 입고 예정",
            "ready_by": "수리 완료 예정",
        },
        "weekdays": "월화수목금토일",
        "won": "{amount}원",
        "reasons": {
            "unknown": "시리얼 번호가 확인되지 않아 보증 여부를 확인한 뒤 결정합니다.",
            "in_warranty": "시리얼 {serial}: {date}까지 보증 기간입니다.",
            "expired": "시리얼 {serial}: 보증 기간이 {date}에 끝났습니다.",
            "parallel": "시리얼 {serial}: 병행 수입 제품으로 보증 대상이 아닙니다.",
        },
        "terms": [
            "수리 비용은 견적을 안내하고 고객님이 승인하신 뒤에만 청구합니다.",
            "보증 여부가 확인되지 않은 제품은 시리얼 번호와 구입 내역을 확인한 뒤 "
            "무상/유상을 결정합니다.",
            "제품에 저장된 데이터와 설정은 수리 중 초기화될 수 있으니 미리 백업해 주세요.",
            "접수증을 분실하신 경우 접수번호와 휴대폰 번호 뒤 4자리로 확인합니다.",
            "주민등록번호는 요구하지 않으며, 연락처는 수리 안내에만 사용합니다.",
            "수리 완료 안내 후 오래 찾아가지 않으시면 보관 및 처리에 대해 따로 연락드립니다.",
        ],
    },
    "en": {
        "title": "Repair claim ticket",
        "ticket_number": "Ticket number",
        "scan": ["Scan the QR code", "to follow your repair."],
        "lookup": ["Or go to {url}", "with the ticket number and your phone's last 4 digits"],
        "intake": "Intake",
        "intake_date": "Received",
        "intake_channel": "Received by",
        "received_by": "Desk",
        "technician": "Technician",
        "customer": "Customer",
        "name": "Name",
        "phone": "Phone",
        "device": "Device",
        "model": "Model",
        "serial": "Serial number",
        "serial_unknown": "Serial unknown — coverage to be confirmed",
        "warranty_until": "Warranty",
        "symptom": "Reported problem",
        "accessories": "Accessories received",
        "none": "None",
        "coverage": "Coverage",
        "coverage_reason": "How it was decided",
        "quote": "Quote",
        "labor": "Labor",
        "parts": "Parts",
        "total": "Total",
        "quote_pending": "Given after diagnosis. No paid repair is done without your approval.",
        "quote_free": "Free (warranty repair)",
        "approved": "approved",
        "promises": "Promised dates",
        "ready_by": "Ready by",
        "no_promise": "We will call you after the diagnosis.",
        "return": "Return",
        "recipient": "Recipient",
        "address": "Address",
        "terms_title": "Terms",
        "sign_customer": "Customer",
        "sign_staff": "Received by",
        "sign_return": "Device returned",
        "date": "Date",
        "signature": "Signature",
        "footer": "Please bring this ticket when you collect your device.",
        "unknown": "to be confirmed",
        "channels": {"walk_in": "Walk-in", "phone": "Phone", "courier": "Courier"},
        "returns": {"pickup": "Pickup at the center", "courier": "Courier return"},
        "coverages": {
            "warranty": "Warranty (free)",
            "paid": "Paid repair",
            "undetermined": "To be confirmed",
        },
        "promise_kinds": {
            "callback": "We call you by",
            "part_eta": "Part arrives",
            "ready_by": "Ready by",
        },
        "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        "won": "KRW {amount}",
        "reasons": {
            "unknown": "Serial unknown — coverage to be confirmed.",
            "in_warranty": "Serial {serial}: in warranty until {date}.",
            "expired": "Serial {serial}: warranty ended {date}.",
            "parallel": "Serial {serial}: parallel import, no warranty.",
        },
        "terms": [
            "You pay only for a repair whose quote you approved.",
            "Where the warranty cannot be confirmed from the serial number or proof of purchase, "
            "the repair is paid.",
            "Data and settings on the device may be erased during the repair; back them up.",
            "Lost this ticket? We find your repair with the ticket number and the last 4 digits "
            "of your phone.",
            "We never ask for a national ID number; your phone is used only about this repair.",
            "If a repaired device is not collected for a long time, we will contact you about "
            "storage.",
        ],
    },
}

# The reasons `workflows.services.coverage_from_serial` writes (in English); anything else was
# typed by staff and is printed as it is.
_REASONS = [
    ("unknown", re.compile(r"^Serial unknown\b")),
    ("in_warranty", re.compile(r"^Serial (?P<serial>\S+): in warranty until (?P<date>[\d-]+)\.$")),
    ("expired", re.compile(r"^Serial (?P<serial>\S+): warranty ended (?P<date>[\d-]+)\.$")),
    ("parallel", re.compile(r"^Serial (?P<serial>\S+): parallel import, no warranty\.$")),
]


def _coverage_reason(text: str, labels: dict) -> str:
    for key, pattern in _REASONS:
        match = pattern.match(text or "")
        if match:
            return labels["reasons"][key].format(**match.groupdict())
    return text


def _when(value: dt.datetime | dt.date | None, labels: dict, *, time: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)
    day = f"{value:%Y-%m-%d}({labels['weekdays'][value.weekday()]})"
    return f"{day} {value:%H:%M}" if time and isinstance(value, dt.datetime) else day


def _money(amount: int | None, labels: dict) -> str:
    return labels["unknown"] if amount is None else labels["won"].format(amount=f"{amount:,}")


# --- the ticket --------------------------------------------------------------------------------


def load_repair(ticket_number: str) -> Repair | None:
    """The repair with everything the ticket prints, in a constant number of queries."""
    return (
        Repair.objects.select_related(
            "center",
            "customer",
            "device__product_model",
            "product_model",
            "created_by__staff_profile",
            "technician__staff_profile",
        )
        .prefetch_related("promises", "reservations")
        .filter(ticket_number=ticket_number)
        .first()
    )


def _quote(repair: Repair, labels: dict) -> dict | None:
    if repair.coverage == Coverage.WARRANTY:
        return {"free": labels["quote_free"]}
    if repair.labor_fee is None:
        return None
    return {
        "labor": _money(repair.labor_fee, labels),
        "parts": _money(repair.parts_total, labels),
        "total": _money(repair.quote_total, labels),
        "approved": _when(repair.quote_approved_at, labels),
    }


def _promises(repair: Repair, labels: dict) -> list[dict[str, str]]:
    rows = [
        {"label": labels["promise_kinds"].get(p.kind, p.kind), "when": _when(p.due_at, labels)}
        for p in repair.promises.all()
        if p.fulfilled_at is None
    ]
    if repair.promised_ready_by and not any(p.kind == "ready_by" for p in repair.promises.all()):
        rows.append({"label": labels["ready_by"], "when": _when(repair.promised_ready_by, labels)})
    return rows


def ticket_context(repair: Repair, *, variant: str = "a4") -> dict[str, Any]:
    """Everything the template prints, as display strings in the repair's language."""
    lang = repair.language if repair.language in LABELS else "ko"
    labels = LABELS[lang]
    device = repair.device
    model = repair.product_model or (device.product_model if device else None)
    serial = device.serial_number if device else repair.checked_in_serial or repair.reported_serial
    courier = repair.return_method == ReturnMethod.COURIER
    return {
        "lang": lang,
        "t": labels,
        "variant": variant,
        "center": repair.center,
        "ticket_number": repair.ticket_number,
        "barcode": barcode_svg(repair.ticket_number),
        "qr": qr_svg(status_link(repair)),
        "lookup": [line.format(url=f"{settings.SITE_URL}/status/") for line in labels["lookup"]],
        "intake_date": _when(repair.created_at, labels),
        "channel": labels["channels"].get(repair.intake_channel, repair.intake_channel),
        "received_by": staff_name(repair.created_by),
        "technician": staff_name(repair.technician),
        "customer_name": repair.customer.name,
        "customer_phone": mask_phone(repair.customer.phone),
        "model": f"{model.name} ({model.code})" if model else labels["unknown"],
        "serial": serial if device else "",
        "reported_serial": serial,
        "warranty_until": _when(device.warranty_until, labels, time=False) if device else "",
        "symptom": repair.symptom,
        "accessories": repair.accessories or labels["none"],
        "coverage": labels["coverages"].get(repair.coverage, repair.coverage),
        "coverage_reason": _coverage_reason(repair.coverage_reason, labels),
        "quote": _quote(repair, labels),
        "promises": _promises(repair, labels),
        "return_method": labels["returns"].get(repair.return_method, repair.return_method),
        "courier": courier,
        "courier_recipient": repair.courier_recipient if courier else "",
        "courier_address": repair.courier_address if courier else "",
        "courier_phone": mask_phone(repair.courier_phone) if courier else "",
        "printed_at": _when(timezone.now(), labels),
    }


def render_claim_ticket(repair: Repair, *, variant: str = "a4") -> bytes:
    """The claim ticket as PDF bytes (A4, or an 80 mm receipt). Reads the repair's related rows
    first (a few queries), then renders with no database access; call it outside a transaction
    so no lock is held while WeasyPrint works."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}")
    with translation.override(repair.language or settings.LANGUAGE_CODE):
        html = _template().render(ticket_context(repair, variant=variant))
    document = HTML(string=html, url_fetcher=URL_FETCHER).render(
        stylesheets=[STYLESHEET], font_config=FONT_CONFIG
    )
    if variant == "receipt":
        crop_last_page(document)
    return document.write_pdf()
