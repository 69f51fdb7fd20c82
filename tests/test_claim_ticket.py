"""The claim ticket: what it prints (and never prints), that it reads back, and who may print it."""

import datetime as dt
import io
import logging
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from django.core.management import call_command
from django.test import Client
from PIL import Image
from pypdf import PdfReader
from rest_framework.authtoken.models import Token

from service_center.services import staff_create
from tests.conftest import PASSWORD
from workflows import services as s
from workflows import tickets
from workflows.tickets import harfbuzz_subsetting_available, render_claim_ticket

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
FULL_PHONE_FORMS = ("010-2345-6789", "01023456789", "2345-6789", "010 2345 6789", "23456789")


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def font_names(pdf: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            names.add(str(font["/BaseFont"]))
            for descendant in font.get("/DescendantFonts", []):
                names.add(str(descendant.get_object()["/BaseFont"]))
    return names


def page_png(pdf: bytes, tmp_path: Path, name: str) -> Image.Image:
    """Page 1 at 200 dpi with poppler, as a print shop would see it; kept in tests/screenshots."""
    source = tmp_path / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "200",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            source,
            tmp_path / name,
        ],
        check=True,
    )
    image = Image.open(tmp_path / f"{name}.png")
    image.load()
    SCREENSHOTS.mkdir(exist_ok=True)
    image.save(SCREENSHOTS / f"{name}.png")
    return image


def decoded(image: Image.Image) -> dict[str, str]:
    return {r.format.name: r.text for r in zxingcpp.read_barcodes(image)}


@pytest.fixture
def warranty_repair(make_repair, in_warranty):
    return make_repair(serial_number=in_warranty.serial_number, accessories="충전 케이블, 파우치")


@pytest.fixture
def unknown_serial_repair(make_repair):
    return make_repair()


# --- what it prints ---------------------------------------------------------------------------


def test_ticket_prints_number_model_serial_and_the_masked_korean_name(warranty_repair):
    text = pdf_text(render_claim_ticket(warranty_repair))

    assert warranty_repair.ticket_number in text
    assert "블루투스 헤드셋 HBS-1100" in text
    assert "HBS1100K7Q2" in text
    assert "김*지" in text and "김민지" not in text  # a lost slip doesn't name its owner
    assert "클립 스프링이 빠졌어요" in text
    assert "충전 케이블, 파우치" in text
    assert "수리 접수증" in text
    assert "무상 수리 (보증)" in text


def test_ticket_says_serial_unknown_when_the_serial_is_not_in_the_registry(unknown_serial_repair):
    text = pdf_text(render_claim_ticket(unknown_serial_repair))

    assert "시리얼 미확인 — 보증 여부 확인 예정" in text
    assert "확인 예정" in text  # the coverage, not yet decided


def test_ticket_never_prints_the_full_phone_number_only_the_masked_one(warranty_repair):
    for variant in ("a4", "receipt"):
        text = pdf_text(render_claim_ticket(warranty_repair, variant=variant))

        assert "010-****-6789" in text
        compact = text.replace(" ", "")
        assert not [form for form in FULL_PHONE_FORMS if form.replace(" ", "") in compact]


def test_ticket_prints_the_status_secret_only_inside_the_qr_code(warranty_repair):
    text = pdf_text(render_claim_ticket(warranty_repair))

    assert warranty_repair.status_token not in text.replace("\n", "")


def test_courier_return_prints_a_masked_address_recipient_and_phone(make_repair):
    repair = make_repair(return_method="courier", courier_address="서울특별시 서초구 반포대로 45")
    repair.courier_phone = "010-9876-5432"
    text = pdf_text(render_claim_ticket(repair))

    assert "택배 반환" in text
    assert "서울특별시 서초구 ***" in text
    assert "반포대로" not in text and "9876" not in text
    assert "김민지" not in text


def test_ticket_prints_open_promises(warranty_repair, desk):
    s.repair_record_promise(
        repair=warranty_repair,
        actor=desk,
        kind="callback",
        due_at=dt.datetime.fromisoformat("2030-01-02T10:00:00+09:00"),
    )
    repair = tickets.load_repair(warranty_repair.ticket_number)

    assert "연락 예정 2030-01-02(수) 10:00" in pdf_text(render_claim_ticket(repair))


def test_english_ticket_for_an_english_speaking_customer(make_repair):
    repair = make_repair(language="en")
    text = pdf_text(render_claim_ticket(repair))

    assert "Repair claim ticket" in text
    assert "Serial unknown — coverage to be confirmed" in text
    assert "김*지" in text


# --- fonts and codes --------------------------------------------------------------------------


def test_korean_is_set_in_an_embedded_nanumgothic_subset(warranty_repair):
    pdf = render_claim_ticket(warranty_repair)

    assert any("NanumGothic" in name for name in font_names(pdf)), font_names(pdf)
    assert "김*지" in pdf_text(pdf)  # a glyph without a Unicode mapping would not round-trip
    assert len(pdf) < 200_000  # a subset, not the 4.6 MB font


def test_a4_ticket_qr_opens_the_status_link_and_barcode_reads_the_ticket_number(
    warranty_repair, tmp_path
):
    image = page_png(render_claim_ticket(warranty_repair), tmp_path, "claim_ticket_a4")

    codes = decoded(image)
    assert codes.get("QRCode") == s.status_link(warranty_repair)
    assert codes.get("Code128") == warranty_repair.ticket_number


def test_receipt_variant_is_80_mm_wide_and_its_codes_read_too(unknown_serial_repair, tmp_path):
    pdf = render_claim_ticket(unknown_serial_repair, variant="receipt")
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    image = page_png(pdf, tmp_path, "claim_ticket_receipt")

    assert float(page.mediabox.width) == pytest.approx(80 / 25.4 * 72, abs=0.5)
    assert float(page.mediabox.height) < 297 / 25.4 * 72  # cut below its content
    assert "시리얼 미확인" in pdf_text(pdf)
    codes = decoded(image)
    assert codes.get("QRCode") == s.status_link(unknown_serial_repair)
    assert codes.get("Code128") == unknown_serial_repair.ticket_number


def test_harfbuzz_subsetting_is_available():
    assert harfbuzz_subsetting_available(), (
        "WeasyPrint cannot load libharfbuzz-subset.so.0 (HarfBuzz >= 4.1): it falls back to "
        "fontTools and every claim ticket renders ~10x slower. Install the Debian package "
        "libharfbuzz-subset0 (scripts/setup.sh does where it can)."
    )


def test_fontconfig_finds_nanumgothic():
    assert tickets.korean_font_family() == "NanumGothic", "install the Debian package fonts-nanum"


def test_startup_check_warns_when_harfbuzz_subsetting_is_missing(monkeypatch, caplog):
    monkeypatch.setattr(tickets, "harfbuzz_subsetting_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="workflows.tickets"):
        assert tickets.check_pdf_environment() is False
    assert "libharfbuzz-subset0" in caplog.text


# --- who may print it -------------------------------------------------------------------------


def url(repair) -> str:
    return f"/api/v1/repairs/{repair.ticket_number}/claim-ticket.pdf"


def test_staff_get_the_ticket_as_an_inline_pdf(
    warranty_repair, desk, django_assert_max_num_queries
):
    client = Client()
    client.force_login(desk)
    with django_assert_max_num_queries(10):
        response = client.get(url(warranty_repair), HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'inline; filename="{warranty_repair.ticket_number}.pdf"'
    )
    assert response.content.startswith(b"%PDF")


def test_staff_with_a_token_get_the_receipt_variant(warranty_repair, desk):
    token = Token.objects.create(user=desk)
    response = Client().get(
        url(warranty_repair) + "?variant=receipt", HTTP_AUTHORIZATION=f"Token {token.key}"
    )

    assert response.status_code == 200
    page = PdfReader(io.BytesIO(response.content)).pages[0]
    assert float(page.mediabox.width) == pytest.approx(80 / 25.4 * 72, abs=0.5)


def test_an_unknown_variant_is_a_400(warranty_repair, desk):
    client = Client()
    client.force_login(desk)
    response = client.get(url(warranty_repair) + "?variant=a3")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_anonymous_get_401_json(warranty_repair):
    response = Client().get(url(warranty_repair))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.json()["detail"]


def test_a_user_without_a_staff_role_gets_403_json(warranty_repair, django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user("visitor", password=PASSWORD))
    response = client.get(url(warranty_repair))

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_staff_of_another_center_get_404(warranty_repair, other_center):
    stranger = staff_create(
        username="sc_desk", role="front_desk", center_code=other_center.code, password=PASSWORD
    )
    client = Client()
    client.force_login(stranger)
    response = client.get(url(warranty_repair))

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "No such repair."}


def test_an_unknown_ticket_is_the_same_404(desk):
    client = Client()
    client.force_login(desk)
    response = client.get("/api/v1/repairs/GN-2611-AAAAAA/claim-ticket.pdf")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- the command ------------------------------------------------------------------------------


def test_print_ticket_writes_the_pdf(warranty_repair, tmp_path):
    output = tmp_path / "ticket.pdf"
    call_command(
        "print_ticket",
        warranty_repair.ticket_number.lower(),
        "-o",
        str(output),
        "--variant",
        "receipt",
        stdout=io.StringIO(),
    )

    assert output.read_bytes().startswith(b"%PDF")
    assert warranty_repair.ticket_number in pdf_text(output.read_bytes())
