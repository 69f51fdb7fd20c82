"""The payments ledger through the services: the issue's reproductions, the edges, and a
property test over random sequences of payments, refunds, declines and hand-overs."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import TransitionBlocked, ValidationFailed
from core.validation import validated
from parts.models import Part, Reservation
from tests.conftest import stock
from tests.hostile_support import refused_by_api
from tests.payments_support import *  # noqa: F403 - the ledger fixtures
from tests.payments_support import COURIER, assert_ledger_agrees, fresh, ledger_sum
from workflows import services as s
from workflows.choices import State
from workflows.inputs import PaymentInSerializer, RefundInSerializer
from workflows.models import Notification, Payment, RepairEvent
from workflows.registry import TRANSITIONS

# --- the reproductions -----------------------------------------------------------------


def test_a_courier_repair_with_15100_won_unpaid_cannot_be_shipped(walk, desk):
    repair = walk(State.REPAIRED, **COURIER)
    assert repair.balance_due == 15100

    with pytest.raises(TransitionBlocked) as caught:
        s.repair_ship(repair=repair, actor=desk, carrier="CJ", tracking_number="123")

    assert [b["code"] for b in caught.value.blockers] == ["balance_due"]
    assert fresh(repair).state == State.REPAIRED
    assert not Notification.objects.filter(repair=repair, kind="shipped").exists()

    s.repair_record_payment(repair=repair, actor=desk, amount=15100, method="transfer")
    shipped = s.repair_ship(repair=repair, actor=desk, carrier="CJ", tracking_number="123")
    assert shipped.state == State.SHIPPED
    assert_ledger_agrees(shipped)


def test_a_phone_intake_that_never_arrived_cannot_be_shipped_after_a_decline(walk, desk):
    repair = walk(State.DECLINED, intake_channel="phone", device_in_shop=False, **COURIER)
    assert not repair.device_in_shop

    with pytest.raises(TransitionBlocked) as caught:
        s.repair_ship(repair=repair, actor=desk, carrier="CJ", tracking_number="123")

    assert "device_not_in_shop" in [b["code"] for b in caught.value.blockers]
    repair = fresh(repair)
    assert (repair.state, repair.tracking_number) == (State.DECLINED, "")
    assert not Notification.objects.filter(repair=repair, kind="shipped").exists()


def test_a_deposit_far_beyond_the_quote_is_refused_and_repeats_change_nothing(walk, desk):
    repair = walk(State.AWAITING_APPROVAL, labor=9900)  # 10,000 won quote
    assert repair.quote_total == 10000

    for _ in range(21):
        with pytest.raises(s.Overpayment) as caught:
            s.repair_record_deposit(repair=repair, actor=desk, amount=100_000_000)
        assert caught.value.code == "overpayment"
        assert "amount" in caught.value.errors

    repair = assert_ledger_agrees(repair)
    assert (repair.amount_paid, repair.deposit_paid) == (0, 0)
    assert not Payment.objects.exists()


def test_two_deposits_of_the_whole_quote_record_only_the_first(walk, desk):
    repair = walk(State.AWAITING_APPROVAL, labor=29900)  # 30,000 won quote

    s.repair_record_deposit(repair=repair, actor=desk, amount=30000)
    with pytest.raises(s.Overpayment):
        s.repair_record_deposit(repair=repair, actor=desk, amount=30000)

    repair = assert_ledger_agrees(repair)
    assert repair.amount_paid == 30000
    assert Payment.objects.get(repair=repair).kind == "deposit"


def test_the_same_form_posted_twice_records_once(walk, desk):
    repair = walk(State.AWAITING_APPROVAL, labor=29900)

    s.repair_record_deposit(repair=repair, actor=desk, amount=10000, request_key="tok-1")
    s.repair_record_deposit(repair=repair, actor=desk, amount=10000, request_key="tok-1")
    assert (
        s.repair_record_payment(
            repair=repair, actor=desk, amount=10000, method="card", request_key="tok-1"
        )
        is None
    )

    assert assert_ledger_agrees(repair).amount_paid == 10000
    assert Payment.objects.filter(repair=repair).count() == 1


def test_a_quote_beyond_the_column_range_is_refused_at_diagnosis(
    make_repair, desk, tech, headset, center, expired
):
    dear = Part.objects.create(part_number="GOLD-1", name="금 부품", unit_price=100_000_000)
    dear.compatible_models.add(headset)
    stock(center, dear, 99)
    repair = make_repair(serial_number=expired.serial_number)
    s.repair_assign(repair=repair, actor=desk, technician=tech)

    with pytest.raises(ValidationFailed) as caught:
        s.repair_diagnose(
            repair=repair,
            actor=tech,
            findings="전부 교체",
            parts=[{"part_number": "GOLD-1", "quantity": 31}],  # 3.1 billion won
            labor_fee=1000,
        )

    assert "labor_fee" in caught.value.errors
    repair = fresh(repair)
    assert (repair.state, repair.labor_fee) == (State.DIAGNOSING, None)
    assert not Reservation.objects.filter(repair=repair).exists()


def test_a_deposit_kept_on_a_declined_repair_asks_for_the_refund(walk, desk):
    repair = walk(State.AWAITING_APPROVAL)
    s.repair_record_deposit(repair=repair, actor=desk, amount=10000, method="card")
    repair = s.repair_decline(repair=repair, actor=desk, reason="너무 비싸요")
    assert (repair.amount_due, repair.refund_due) == (0, 10000)
    repair = s.repair_notify_ready_for_pickup(repair=repair, actor=desk)

    with pytest.raises(TransitionBlocked) as caught:
        s.repair_hand_over(repair=repair, actor=desk)
    assert [b["code"] for b in caught.value.blockers] == ["refund_due"]

    s.repair_record_refund(
        repair=repair, actor=desk, amount=10000, method="card", reason="수리 거절"
    )
    closed = s.repair_hand_over(repair=repair, actor=desk)
    assert closed.state == State.CLOSED
    assert assert_ledger_agrees(closed).amount_paid == 0
    assert list(Payment.objects.filter(repair=repair).values_list("amount", flat=True)) == [
        10000,
        -10000,
    ]


def test_a_refund_due_blocks_shipping_too(walk, desk):
    repair = walk(State.AWAITING_APPROVAL, **COURIER)
    s.repair_record_deposit(repair=repair, actor=desk, amount=5000)
    repair = s.repair_decline(repair=repair, actor=desk)

    with pytest.raises(TransitionBlocked) as caught:
        s.repair_ship(repair=repair, actor=desk, carrier="CJ", tracking_number="1")
    assert [b["code"] for b in caught.value.blockers] == ["refund_due"]


def test_a_declined_paid_repair_owes_the_centers_diagnosis_fee(walk, desk, center):
    center.diagnosis_fee = 5000
    center.save()
    repair = walk(State.AWAITING_APPROVAL)
    s.repair_record_deposit(repair=repair, actor=desk, amount=10000)
    repair = s.repair_decline(repair=repair, actor=desk)

    assert (repair.amount_due, repair.balance_due, repair.refund_due) == (5000, 0, 5000)
    with pytest.raises(s.RefundExceedsPaid):
        s.repair_record_refund(
            repair=repair, actor=desk, amount=10001, method="cash", reason="환불"
        )
    s.repair_record_refund(repair=repair, actor=desk, amount=5000, method="cash", reason="환불")
    assert fresh(repair).refund_due == 0


def test_warranty_repairs_owe_nothing_and_take_no_money(make_repair, desk, tech, in_warranty):
    repair = make_repair(serial_number=in_warranty.serial_number)
    repair = s.repair_assign(repair=repair, actor=desk, technician=tech)
    assert repair.amount_due == 0

    with pytest.raises(s.Overpayment):
        s.repair_record_payment(repair=repair, actor=desk, amount=1, method="cash")


# --- edges ---------------------------------------------------------------------------------------


def test_exactly_what_is_due_is_taken_and_one_won_more_is_refused(walk, desk):
    repair = walk(State.READY_TO_REPAIR)
    s.repair_record_payment(repair=repair, actor=desk, amount=15000, method="cash")
    with pytest.raises(s.Overpayment):
        s.repair_record_payment(repair=repair, actor=desk, amount=101, method="cash")
    s.repair_record_payment(repair=repair, actor=desk, amount=100, method="card")

    repair = assert_ledger_agrees(repair)
    assert (repair.amount_paid, repair.balance_due) == (15100, 0)
    with pytest.raises(s.Overpayment):
        s.repair_record_payment(repair=repair, actor=desk, amount=1, method="cash")


def test_before_approval_the_quoted_total_is_the_limit(walk, desk):
    repair = walk(State.AWAITING_APPROVAL)
    with pytest.raises(s.Overpayment):
        s.repair_record_payment(repair=repair, actor=desk, amount=15101, method="cash")
    s.repair_record_payment(repair=repair, actor=desk, amount=15100, method="cash")
    assert assert_ledger_agrees(repair).amount_paid == 15100


def test_before_any_quote_nothing_can_be_paid(walk, desk):
    repair = walk(State.RECEIVED)
    with pytest.raises(s.Overpayment):
        s.repair_record_payment(repair=repair, actor=desk, amount=1, method="cash")


# Amounts, methods and reasons are checked at the edge, by the API and the page alike
# (workflows/inputs.py); the services take typed values.


@pytest.mark.parametrize("amount", [0, -1, -15100, 10**12, "lots", None, True, 1.5, "\x00"])
def test_nonsense_amounts_are_refused_and_nothing_is_written(walk, desk, amount):
    repair = walk(State.READY_TO_REPAIR)
    events = RepairEvent.objects.count()
    for path, extra in (("payments", {}), ("refunds", {"reason": "x"})):
        data = {"amount": amount, "method": "cash", **extra}
        refused_by_api(desk, f"/repairs/{repair.ticket_number}/{path}/", data, "amount")
    assert not Payment.objects.exists()
    assert RepairEvent.objects.count() == events


@pytest.mark.parametrize("method", ["", None, "\x00", "bitcoin", "CASH", 1, ["cash"]])
def test_a_payment_needs_a_known_method(walk, desk, method):
    repair = walk(State.READY_TO_REPAIR)
    data = {"amount": 1000, "method": method}
    refused_by_api(desk, f"/repairs/{repair.ticket_number}/payments/", data, "method")
    assert not Payment.objects.exists()


def test_a_refund_needs_a_reason_and_no_more_than_was_paid(walk, desk):
    repair = walk(State.READY_TO_REPAIR)
    s.repair_record_payment(repair=repair, actor=desk, amount=5000, method="cash")
    data = {"amount": 100, "method": "cash", "reason": ""}
    refused_by_api(desk, f"/repairs/{repair.ticket_number}/refunds/", data, "reason")
    with pytest.raises(s.RefundExceedsPaid) as caught:
        s.repair_record_refund(repair=repair, actor=desk, amount=5001, method="cash", reason="x")
    assert caught.value.code == "refund_exceeds_paid"
    assert assert_ledger_agrees(repair).amount_paid == 5000


def test_no_payment_on_a_closed_repair_but_hand_over_writes_its_row(walk, desk):
    repair = walk(State.READY_FOR_PICKUP)
    repair = s.repair_hand_over(repair=repair, actor=desk, amount_paid=15100, method="card")
    row = Payment.objects.get(repair=repair)
    assert (row.kind, row.amount, row.method) == ("payment", 15100, "card")
    assert row.receipt_number == f"R-{repair.ticket_number}-1"
    assert_ledger_agrees(repair)

    with pytest.raises(TransitionBlocked):
        s.repair_record_payment(repair=repair, actor=desk, amount=1, method="cash")


def test_hand_over_beyond_the_balance_is_an_overpayment(walk, desk):
    repair = walk(State.READY_FOR_PICKUP)
    with pytest.raises(s.Overpayment) as caught:
        s.repair_hand_over(repair=repair, actor=desk, amount_paid=15101)
    assert "amount_paid" in caught.value.errors
    assert not Payment.objects.exists()


def test_technicians_may_not_take_money(walk, tech):
    from core.errors import PermissionDenied

    repair = walk(State.READY_TO_REPAIR)
    with pytest.raises(PermissionDenied):
        s.repair_record_payment(repair=repair, actor=tech, amount=1000, method="cash")
    with pytest.raises(PermissionDenied):
        s.repair_record_refund(repair=repair, actor=tech, amount=1000, method="cash", reason="x")


def test_receipt_numbers_count_up_per_repair(walk, desk):
    repair = walk(State.READY_TO_REPAIR)
    for amount in (1000, 2000):
        s.repair_record_payment(repair=repair, actor=desk, amount=amount, method="cash")
    s.repair_record_refund(repair=repair, actor=desk, amount=500, method="cash", reason="x")
    numbers = list(Payment.objects.filter(repair=repair).values_list("receipt_number", flat=True))
    assert numbers == [f"R-{repair.ticket_number}-{n}" for n in (1, 2, 3)]


# --- the property: the ledger always adds up -----------------------------------------------------

STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(min_value=-10, max_value=20000)),
        st.tuples(st.just("deposit"), st.integers(min_value=1, max_value=20000)),
        st.tuples(st.just("refund"), st.integers(min_value=-10, max_value=20000)),
        st.tuples(st.just("decline"), st.just(0)),
        st.tuples(st.just("ready"), st.just(0)),
        st.tuples(st.just("hand_over"), st.integers(min_value=0, max_value=20000)),
    ),
    max_size=12,
)
REFUSED = (ValidationFailed, TransitionBlocked)


def money(amount: int, method: str = "", reason: str = "") -> dict:
    """A payment's, a deposit's or a refund's input, checked as the edge checks it."""
    if reason:
        return validated(RefundInSerializer, {"amount": amount, "method": method, "reason": reason})
    if method:
        return validated(PaymentInSerializer, {"amount": amount, "method": method})
    return validated(TRANSITIONS["record_deposit"].input_serializer, {"amount": amount})


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_random_sequences_keep_the_ledger_honest(walk, desk, steps):
    repair = walk(State.AWAITING_APPROVAL)
    for op, amount in steps:
        before = fresh(repair)
        try:
            # Through the edge's checks, as the API and the pages send them (a negative amount
            # never reaches a service).
            if op == "pay":
                s.repair_record_payment(repair=repair, actor=desk, **money(amount, "cash"))
            elif op == "deposit":
                s.repair_record_deposit(repair=repair, actor=desk, **money(amount))
            elif op == "refund":
                s.repair_record_refund(repair=repair, actor=desk, **money(amount, "cash", "r"))
            elif op == "decline":
                s.repair_decline(repair=repair, actor=desk)
            elif op == "ready":
                s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
            else:
                s.repair_hand_over(repair=repair, actor=desk, amount_paid=amount)
        except REFUSED:
            after = fresh(repair)
            assert (after.amount_paid, after.state) == (before.amount_paid, before.state)
        after = fresh(repair)
        assert after.amount_paid == ledger_sum(after)
        refunds = -sum(
            Payment.objects.filter(repair=repair, kind="refund").values_list("amount", flat=True)
        )
        taken = sum(
            Payment.objects.filter(repair=repair)
            .exclude(kind="refund")
            .values_list("amount", flat=True)
        )
        assert refunds <= taken
        assert after.amount_paid >= 0
        if op in ("pay", "deposit", "hand_over"):
            # Money is only ever taken up to what is payable.
            assert after.amount_paid <= max(after.payable, before.amount_paid)
        if after.state == State.CLOSED:
            assert after.refund_due == 0 and after.balance_due == 0


def test_a_payment_line_is_stored_as_a_code_and_read_in_either_language(walk, desk):
    from django.utils import translation

    repair = walk("awaiting_approval")
    s.repair_record_payment(repair=repair, actor=desk, amount=1000, method="card")
    event = RepairEvent.objects.filter(repair=repair, kind="payment").latest("pk")
    assert (event.text_code, event.text_params) == (
        "payment_received",
        {"amount": 1000, "method": "card"},
    )
    assert event.text == ""  # nothing stored as prose
    with translation.override("en"):
        assert event.display_text == "Payment of 1,000 won received (Card)."
    with translation.override("ko"):
        assert "1,000원" in event.display_text and "카드" in event.display_text
