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
from django.utils.translation import pgettext, pgettext_lazy
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from core.compat import crop_last_page, fontconfig_family_names, harfbuzz_subsetting_available
from core.privacy import mask_address, mask_name
from core.roles import staff_name
from service_center.models import mask_phone
from workflows.choices import Coverage, IntakeChannel, PromiseKind, ReturnMethod
from workflows.condition import checklist_rows
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


# --- wording: the project's gettext catalogue, under the repair's language ----------------------
# The ticket speaks to the customer, so some labels differ from the staff pages' model labels:
# those are marked with the "claim ticket" context.


# Keyed by the stored value; what the table does not name prints as stored.
_LABELS = {
    "channel": {
        IntakeChannel.WALK_IN: pgettext_lazy("claim ticket channel", "Walk-in"),
        IntakeChannel.PHONE: pgettext_lazy("claim ticket channel", "Phone"),
        IntakeChannel.COURIER: pgettext_lazy("claim ticket channel", "Courier"),
    },
    "return_method": {
        ReturnMethod.PICKUP: pgettext_lazy("claim ticket", "Pickup at the center"),
        ReturnMethod.COURIER: pgettext_lazy("claim ticket", "Courier return"),
    },
    "coverage": {
        Coverage.WARRANTY: pgettext_lazy("claim ticket", "Warranty (free)"),
        Coverage.PAID: pgettext_lazy("claim ticket", "Paid repair"),
        Coverage.UNDETERMINED: pgettext_lazy("claim ticket", "To be confirmed"),
    },
    "promise": {
        PromiseKind.CALLBACK: pgettext_lazy("claim ticket promise", "We call you by"),
        PromiseKind.PART_ETA: pgettext_lazy("claim ticket promise", "Part arrives"),
        PromiseKind.READY_BY: pgettext_lazy("claim ticket promise", "Ready by"),
    },
}


def _label(kind: str, value: str) -> str:
    """The ticket's wording of a stored choice (`kind` names the table), in the active language."""
    return str(_LABELS[kind].get(value, value))


def _terms() -> list[str]:
    return [
        pgettext("claim ticket", "You pay only for a repair whose quote you approved."),
        pgettext(
            "claim ticket",
            "Where the warranty cannot be confirmed from the serial number or proof of purchase, "
            "the repair is paid.",
        ),
        pgettext(
            "claim ticket",
            "Data and settings on the device may be erased during the repair; back them up.",
        ),
        pgettext(
            "claim ticket",
            "Lost this ticket? We find your repair with the ticket number and the last 4 digits "
            "of your phone.",
        ),
        pgettext(
            "claim ticket",
            "We never ask for a national ID number; your phone is used only about this repair.",
        ),
        pgettext(
            "claim ticket",
            "If a repaired device is not collected for a long time, we will contact you about "
            "storage.",
        ),
    ]


def _weekday(index: int) -> str:
    names = (
        pgettext("weekday", "Mon"),
        pgettext("weekday", "Tue"),
        pgettext("weekday", "Wed"),
        pgettext("weekday", "Thu"),
        pgettext("weekday", "Fri"),
        pgettext("weekday", "Sat"),
        pgettext("weekday", "Sun"),
    )
    return names[index]


def _when(value: dt.datetime | dt.date | None, *, time: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)
    day = f"{value:%Y-%m-%d}({_weekday(value.weekday())})"
    return f"{day} {value:%H:%M}" if time and isinstance(value, dt.datetime) else day


def _money(amount: int | None) -> str:
    if amount is None:
        return pgettext("claim ticket", "to be confirmed")
    return pgettext("claim ticket", "KRW %(amount)s") % {"amount": f"{amount:,}"}


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


def _quote(repair: Repair) -> dict | None:
    if repair.coverage == Coverage.WARRANTY:
        return {"free": pgettext("claim ticket", "Free (warranty repair)")}
    if repair.labor_fee is None:
        return None
    return {
        "labor": _money(repair.labor_fee),
        "parts": _money(repair.parts_total),
        "total": _money(repair.quote_total),
        "approved": _when(repair.quote_approved_at),
    }


def _promises(repair: Repair) -> list[dict[str, str]]:
    rows = [
        {"label": _label("promise", p.kind), "when": _when(p.due_at)}
        for p in repair.promises.all()
        if p.is_open
    ]
    if repair.promised_ready_by and not any(p.kind == "ready_by" for p in repair.promises.all()):
        rows.append(
            {"label": pgettext("claim ticket", "Ready by"), "when": _when(repair.promised_ready_by)}
        )
    return rows


def ticket_language(repair: Repair) -> str:
    return (
        repair.language if repair.language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    )


def _device_lines(repair: Repair) -> dict[str, str]:
    """The model, the serial (registered or as reported) and the warranty end."""
    device = repair.device
    model = repair.product_model or (device.product_model if device else None)
    serial = device.serial_number if device else repair.checked_in_serial or repair.reported_serial
    return {
        "model": f"{model.name} ({model.code})"
        if model
        else pgettext("claim ticket", "to be confirmed"),
        "serial": serial if device else "",
        "reported_serial": serial,
        "warranty_until": _when(device.warranty_until, time=False) if device else "",
    }


def _courier_lines(repair: Repair) -> dict[str, Any]:
    courier = repair.return_method == ReturnMethod.COURIER
    return {
        "courier": courier,
        "courier_recipient": mask_name(repair.courier_recipient) if courier else "",
        "courier_address": mask_address(repair.courier_address) if courier else "",
        "courier_phone": mask_phone(repair.courier_phone) if courier else "",
    }


def ticket_context(repair: Repair, *, variant: str = "a4") -> dict[str, Any]:
    """Everything the template prints, as display strings in the active language (the caller
    activates the repair's language: `render_claim_ticket` does)."""
    return {
        "lang": translation.get_language(),
        "variant": variant,
        "center": repair.center,
        "ticket_number": repair.ticket_number,
        "barcode": barcode_svg(repair.ticket_number),
        "qr": qr_svg(status_link(repair)),
        "lookup": [
            pgettext("claim ticket", "Or go to %(url)s") % {"url": f"{settings.SITE_URL}/status/"},
            pgettext("claim ticket", "with the ticket number and your phone's last 4 digits"),
        ],
        "terms": _terms(),
        "intake_date": _when(repair.created_at),
        "channel": _label("channel", repair.intake_channel),
        "received_by": staff_name(repair.created_by),
        "technician": staff_name(repair.technician),
        "customer_name": mask_name(repair.customer.name),
        "customer_phone": mask_phone(repair.customer.phone),
        **_device_lines(repair),
        "symptom": repair.symptom,
        "accessories": repair.accessories or pgettext("claim ticket", "None"),
        "condition": checklist_rows(repair.condition),
        "coverage": _label("coverage", repair.coverage),
        "coverage_reason": repair.coverage_reason,
        "quote": _quote(repair),
        "promises": _promises(repair),
        "return_method": _label("return_method", repair.return_method),
        **_courier_lines(repair),
        "printed_at": _when(timezone.now()),
    }


def render_claim_ticket(repair: Repair, *, variant: str = "a4") -> bytes:
    """The claim ticket as PDF bytes (A4, or an 80 mm receipt). Reads the repair's related rows
    first (a few queries), then renders with no database access; call it outside a transaction
    so no lock is held while WeasyPrint works."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}")
    with translation.override(ticket_language(repair)):
        html = _template().render(ticket_context(repair, variant=variant))
    document = HTML(string=html, url_fetcher=URL_FETCHER).render(
        stylesheets=[STYLESHEET], font_config=FONT_CONFIG
    )
    if variant == "receipt":
        crop_last_page(document)
    return document.write_pdf()
