"""The payments ledger over the API, on the desk's repair page, on the customer's status answer
and on the printed receipt."""

from __future__ import annotations

import re

import pytest

from tests.payments_support import *  # noqa: F403 - the ledger fixtures
from tests.payments_support import COURIER, assert_ledger_agrees
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import get, post, transition
from tests.test_claim_ticket import font_names, pdf_text
from workflows import services as s
from workflows.choices import State
from workflows.models import Payment, Repair


def payments(client, ticket, body=None, **extra):
    return post(client, f"/repairs/{ticket}/payments/", body, **extra)


def refunds(client, ticket, body=None, **extra):
    return post(client, f"/repairs/{ticket}/refunds/", body, **extra)


def test_a_payment_is_recorded_and_listed(walk, desk_api):
    repair = walk(State.READY_TO_REPAIR)

    answer = payments(desk_api, repair.ticket_number, {"amount": 5000, "method": "card"})

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["amount_paid"], body["balance_due"], body["payable"]) == (5000, 10100, 15100)
    [row] = body["payments"]
    assert row["receipt_number"] == f"R-{repair.ticket_number}-1"
    assert (row["kind"], row["amount"], row["method"], row["created_by"]) == (
        "payment",
        5000,
        "card",
        "desk",
    )
    listed = get(desk_api, f"/repairs/{repair.ticket_number}/payments/")
    assert listed.status_code == 200 and listed.json()["payments"] == body["payments"]
    assert assert_ledger_agrees(repair).amount_paid == 5000


def test_exactly_due_then_one_won_over_is_an_overpayment(walk, desk_api):
    repair = walk(State.READY_TO_REPAIR)
    ok = payments(desk_api, repair.ticket_number, {"amount": 15100, "method": "cash"})
    assert ok.status_code == 201

    over = payments(desk_api, repair.ticket_number, {"amount": 1, "method": "cash"})

    assert over.status_code == 400
    assert over.json()["code"] == "overpayment" and over.json()["detail"]
    assert Payment.objects.filter(repair=repair).count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 0, "method": "cash"},
        {"amount": -100, "method": "cash"},
        {"amount": 10**15, "method": "cash"},
        {"amount": 2**63, "method": "cash"},
        {"amount": "1e9", "method": "cash"},
        {"amount": 1000, "method": "\x00"},
        {"amount": 1000, "method": "cash\x00"},
        {"amount": 1000, "method": "bitcoin"},
        {"amount": 1000},
        {"method": "cash"},
        {"amount": [1], "method": "cash"},
    ],
)
def test_garbage_is_a_400_with_code_and_detail_and_writes_nothing(walk, desk_api, body):
    repair = walk(State.READY_TO_REPAIR)
    for path in (payments, refunds):
        answer = path(desk_api, repair.ticket_number, {**body, "reason": "x"})
        assert answer.status_code == 400, answer.content
        assert {"code", "detail"} <= set(answer.json())
    assert not Payment.objects.exists()
    assert Repair.objects.get(pk=repair.pk).amount_paid == 0


def test_a_refund_over_what_was_paid_is_refused(walk, desk_api):
    repair = walk(State.READY_TO_REPAIR)
    payments(desk_api, repair.ticket_number, {"amount": 3000, "method": "cash"})

    over = refunds(
        desk_api, repair.ticket_number, {"amount": 3001, "method": "cash", "reason": "x"}
    )
    assert over.status_code == 400 and over.json()["code"] == "refund_exceeds_paid"
    no_reason = refunds(desk_api, repair.ticket_number, {"amount": 1000, "method": "cash"})
    assert no_reason.status_code == 400

    ok = refunds(desk_api, repair.ticket_number, {"amount": 3000, "method": "cash", "reason": "x"})
    assert ok.status_code == 201 and ok.json()["amount_paid"] == 0
    assert [p["amount"] for p in ok.json()["payments"]] == [3000, -3000]
    assert_ledger_agrees(repair)


def test_roles_technicians_403_and_another_centers_desk_404(
    walk, tech_api, foreign_api, manager_api
):
    repair = walk(State.READY_TO_REPAIR)
    body = {"amount": 1000, "method": "cash", "reason": "x"}

    assert payments(tech_api, repair.ticket_number, body).status_code == 403
    assert refunds(tech_api, repair.ticket_number, body).status_code == 403
    assert payments(foreign_api, repair.ticket_number, body).status_code == 404
    assert refunds(foreign_api, repair.ticket_number, body).status_code == 404
    assert get(foreign_api, f"/repairs/{repair.ticket_number}/payments/").status_code == 404
    assert not Payment.objects.exists()
    assert payments(manager_api, repair.ticket_number, body).status_code == 201


def test_an_idempotency_key_replay_records_one_row(walk, desk_api):
    repair = walk(State.READY_TO_REPAIR)
    body = {"amount": 1000, "method": "cash"}

    first = payments(desk_api, repair.ticket_number, body, HTTP_IDEMPOTENCY_KEY="pay-1")
    again = payments(desk_api, repair.ticket_number, body, HTTP_IDEMPOTENCY_KEY="pay-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert Payment.objects.filter(repair=repair).count() == 1
    assert assert_ledger_agrees(repair).amount_paid == 1000


def test_a_huge_deposit_over_the_api_is_an_overpayment_every_time(walk, desk_api):
    repair = walk(State.AWAITING_APPROVAL, labor=9900)
    for _ in range(21):
        answer = transition(
            desk_api, repair.ticket_number, "record_deposit", {"amount": 100_000_000}
        )
        assert answer.status_code == 400 and answer.json()["code"] == "overpayment"
    assert Repair.objects.get(pk=repair.pk).amount_paid == 0
    ok = transition(
        desk_api, repair.ticket_number, "record_deposit", {"amount": 10000, "method": "card"}
    )
    assert ok.status_code == 200 and ok.json()["amount_paid"] == 10000
    assert Payment.objects.get(repair=repair).method == "card"


def test_a_quote_too_large_is_a_400_not_a_data_error(
    make_repair, desk, tech, tech_api, center, headset
):
    from parts.models import Part
    from tests.conftest import stock

    dear = Part.objects.create(part_number="GOLD-1", name="금", unit_price=100_000_000)
    dear.compatible_models.add(headset)
    stock(center, dear, 99)
    repair = make_repair()
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    answer = transition(
        tech_api,
        repair.ticket_number,
        "diagnose",
        {
            "findings": "x",
            "labor_fee": 100_000_000,
            "parts": [{"part_number": "GOLD-1", "quantity": 31}],
        },
    )
    assert answer.status_code == 400 and answer.json()["code"] == "invalid"


def test_shipping_with_a_balance_over_the_api_is_409_balance_due(walk, desk_api):
    repair = walk(State.REPAIRED, **COURIER)
    answer = transition(
        desk_api, repair.ticket_number, "ship", {"carrier": "CJ", "tracking_number": "1"}
    )
    assert answer.status_code == 409
    assert [b["code"] for b in answer.json()["blockers"]] == ["balance_due"]


def test_the_public_status_shows_paid_due_and_refunded(walk, desk, anon_api):
    repair = walk(State.AWAITING_APPROVAL)
    s.repair_record_deposit(repair=repair, actor=desk, amount=10000)
    s.repair_decline(repair=repair, actor=desk)
    s.repair_record_refund(repair=repair, actor=desk, amount=4000, method="cash", reason="x")

    answer = post(anon_api, "/public/status/", {"token": repair.status_token})

    assert answer.status_code == 200
    body = answer.json()
    assert (body["amount_due"], body["amount_paid"], body["refunded"], body["refund_due"]) == (
        0,
        6000,
        4000,
        6000,
    )
    assert "balance_due" in body and "quote" in body  # the existing fields stay


# --- the desk's page -----------------------------------------------------------------------------


def _token(html: str, form_id: str) -> str:
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S)
    assert form, f"no form {form_id}"
    return re.search(r'name="form_token" value="([^"]+)"', form.group(0)).group(1)


def test_the_repair_page_shows_the_ledger_and_its_forms(walk, desk, client):
    repair = walk(State.READY_TO_REPAIR)
    s.repair_record_payment(repair=repair, actor=desk, amount=2500, method="card")
    client.force_login(desk)

    html = client.get(f"/desk/repairs/{repair.ticket_number}/").content.decode()

    assert 'id="payments"' in html and f"R-{repair.ticket_number}-1" in html
    assert f"/api/v1/repairs/{repair.ticket_number}/receipt.pdf" in html
    assert 'id="payment-form"' in html and 'id="refund-form"' in html
    assert 'name="method"' in html


def test_the_same_payment_form_posted_twice_records_one_row(walk, desk, client):
    repair = walk(State.READY_TO_REPAIR)
    client.force_login(desk)
    html = client.get(f"/desk/repairs/{repair.ticket_number}/").content.decode()
    form = {"amount": "3000", "method": "cash", "form_token": _token(html, "payment-form")}

    for _ in range(2):
        answer = client.post(f"/desk/repairs/{repair.ticket_number}/payments/", form)
        assert answer.status_code == 302

    assert Payment.objects.filter(repair=repair).count() == 1
    assert assert_ledger_agrees(repair).amount_paid == 3000


def test_the_same_deposit_form_posted_twice_records_one_row(walk, desk, client):
    repair = walk(State.AWAITING_APPROVAL, labor=29900)  # 30,000 won quote
    client.force_login(desk)
    html = client.get(f"/desk/repairs/{repair.ticket_number}/").content.decode()
    form = {
        "amount": "30000",
        "method": "cash",
        "form_token": _token(html, "action-record_deposit"),
    }

    for _ in range(2):
        answer = client.post(
            f"/desk/repairs/{repair.ticket_number}/transitions/record_deposit/", form
        )
        assert answer.status_code == 302

    assert Payment.objects.filter(repair=repair).count() == 1
    assert assert_ledger_agrees(repair).amount_paid == 30000


def test_a_page_overpayment_and_a_refund_with_its_reason(walk, desk, client):
    repair = walk(State.READY_TO_REPAIR)
    client.force_login(desk)
    url = f"/desk/repairs/{repair.ticket_number}/"

    over = client.post(url + "payments/", {"amount": "15101", "method": "cash", "form_token": "a"})
    assert over.status_code == 400 and not Payment.objects.exists()
    assert 'class="ferr"' in over.content.decode()

    client.post(url + "payments/", {"amount": "15100", "method": "card", "form_token": "b"})
    refund = {"amount": "100", "method": "card", "reason": "부품 할인", "form_token": "c"}
    assert client.post(url + "refunds/", refund).status_code == 302
    row = Payment.objects.get(kind="refund")
    assert (row.amount, row.reason) == (-100, "부품 할인")
    assert assert_ledger_agrees(repair).amount_paid == 15000


def test_a_technician_cannot_post_payments_on_the_desk_pages(walk, tech, client):
    repair = walk(State.READY_TO_REPAIR)
    client.force_login(tech)
    answer = client.post(
        f"/desk/repairs/{repair.ticket_number}/payments/", {"amount": "1000", "method": "cash"}
    )
    assert answer.status_code == 403 and not Payment.objects.exists()


# --- the receipt ---------------------------------------------------------------------------------


def test_the_receipt_lists_the_rows_in_korean_with_the_korean_font(walk, desk, desk_api):
    repair = walk(State.READY_TO_REPAIR)
    s.repair_record_payment(repair=repair, actor=desk, amount=5000, method="card")
    s.repair_record_refund(repair=repair, actor=desk, amount=1000, method="cash", reason="할인")

    answer = desk_api.get(f"/api/v1/repairs/{repair.ticket_number}/receipt.pdf")

    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    pdf = answer.content
    text = pdf_text(pdf)
    assert "영수증" in text
    for n in (1, 2):
        assert f"R-{repair.ticket_number}-{n}" in text
    assert "5,000원" in text and "-1,000원" in text and "카드" in text and "환불" in text
    assert any("NanumGothic" in name for name in font_names(pdf)), font_names(pdf)


def test_the_receipt_speaks_english_for_an_english_repair(walk, desk, desk_api, foreign_api):
    repair = walk(State.READY_TO_REPAIR, language="en")
    s.repair_record_payment(repair=repair, actor=desk, amount=5000, method="transfer")

    pdf = desk_api.get(f"/api/v1/repairs/{repair.ticket_number}/receipt.pdf").content
    text = pdf_text(pdf)
    assert "Receipt" in text and "KRW 5,000" in text and "Bank transfer" in text
    assert foreign_api.get(f"/api/v1/repairs/{repair.ticket_number}/receipt.pdf").status_code == 404


def test_the_receipt_masks_the_customer_and_speaks_only_the_repairs_language(walk, desk, desk_api):
    import re

    korean = walk(State.READY_TO_REPAIR)
    s.repair_record_payment(repair=korean, actor=desk, amount=5000, method="cash")
    text = pdf_text(desk_api.get(f"/api/v1/repairs/{korean.ticket_number}/receipt.pdf").content)
    assert "김*지" in text and "김민지" not in text  # the name masked, as on every slip
    assert "010-****-6789" in text and "2345" not in text
    assert "Receipt" not in text and "KRW" not in text

    english = walk(State.READY_TO_REPAIR, language="en")
    s.repair_record_payment(repair=english, actor=desk, amount=5000, method="cash")
    text = pdf_text(desk_api.get(f"/api/v1/repairs/{english.ticket_number}/receipt.pdf").content)
    # Only data typed in Korean remains (the masked name, the center, its address, the model).
    data = " ".join([english.center.name, english.center.address, english.product_model.name])
    allowed = {"김", "지"} | set(re.findall(r"[\uac00-\ud7a3]+", data))
    assert set(re.findall(r"[\uac00-\ud7a3]+", text)) <= allowed
