"""The payments ledger: money taken (deposits, payments) and given back (refunds) on a repair.

Every row is written with the repair row locked, in the same transaction that moves
`Repair.amount_paid` (and `deposit_paid`) by the row's amount, so the stored total is always the
sum of the rows. The ledger never holds more than the repair's `payable` (what is due, or the
quoted total before that is known): a payment beyond it is refused with `overpayment`, a refund
beyond what was paid with `refund_exceeds_paid`. `record_deposit` and `hand_over` write their
rows through `ledger_write` too.

Amounts, methods and keys come checked from the edge (workflows/inputs.py); here only what needs
the locked row. A `request_key` (a page form's one-time token) makes a second identical post a
no-op: the key is kept on the row (unique per repair) or, for a hand-over that took no money, on
its event. The API's `Idempotency-Key` replays answers at the view (core/idempotency.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Sum
from django.utils.translation import gettext_noop

from core.errors import Message, TransitionBlocked, ValidationFailed
from core.roles import as_actor
from workflows import gate
from workflows.choices import OPEN_STATES, EventKind, PaymentKind
from workflows.models import Payment, Repair, RepairEvent
from workflows.services.core import atomic_service, lock_for, record_event


class Overpayment(ValidationFailed):
    """More than the repair's payable amount would be paid."""

    code = "overpayment"


class RefundExceedsPaid(ValidationFailed):
    """A refund larger than what was paid."""

    code = "refund_exceeds_paid"


# --- the ledger under the repair's lock ------------------------------------------------------


def already_recorded(repair: Repair, request_key: str) -> bool:
    """Did a request with this one-time key already act on the (locked) repair?"""
    if not request_key:
        return False
    return (
        Payment.objects.filter(repair=repair, request_key=request_key).exists()
        or RepairEvent.objects.filter(repair=repair, data__request_key=request_key).exists()
    )


def check_payable(repair: Repair, amount: int, field: str) -> None:
    """Raise Overpayment unless `amount` more fits under what the repair may be paid."""
    left = max(repair.payable - repair.amount_paid, 0)
    if amount > left:
        message = Message(
            gettext_noop(
                "Only %(left)s won can be paid on this repair now; %(amount)s is too much."
            ),
            left=f"{left:,}",
            amount=f"{amount:,}",
        )
        raise Overpayment({field: [message]})


def _receipt_number(repair: Repair) -> str:
    # The repair row is locked: the count cannot move under us; the column is unique anyway.
    n = Payment.objects.filter(repair=repair).count() + 1
    return f"R-{repair.ticket_number}-{n}"


def ledger_write(
    repair: Repair,
    *,
    kind: str,
    amount: int,
    method: str,
    actor: Any,
    reason: str = "",
    request_key: str = "",
) -> Payment:
    """One ledger row on the locked repair, and the stored totals moved by it (the caller saves
    the repair: a transition's `move`, or `save_totals`). `amount` is positive; refunds are
    stored negative."""
    signed = -amount if kind == PaymentKind.REFUND else amount
    payment = Payment.objects.create(
        repair=repair,
        kind=kind,
        amount=signed,
        method=method,
        receipt_number=_receipt_number(repair),
        reason=reason,
        request_key=request_key,
        created_by=as_actor(actor).user,
    )
    repair.amount_paid += signed
    if kind == PaymentKind.DEPOSIT:
        repair.deposit_paid += amount
    repair.deposit_paid = min(repair.deposit_paid, repair.amount_paid)
    return payment


def receipt_data(payment: Payment) -> dict[str, str]:
    """What a timeline row says of the ledger row behind it."""
    return {"method": payment.method, "receipt_number": payment.receipt_number}


def save_totals(repair: Repair) -> None:
    repair.version += 1
    repair.save(update_fields=["amount_paid", "deposit_paid", "version", "updated_at"])


def ledger_total(repair: Repair | int) -> int:
    """The sum of the rows (what `Repair.amount_paid` must equal)."""
    pk = repair if isinstance(repair, int) else repair.pk
    return Payment.objects.filter(repair_id=pk).aggregate(t=Sum("amount"))["t"] or 0


def refunded(rows: Iterable[Payment]) -> int:
    """Money given back in these ledger rows, as a positive number."""
    return -sum(p.amount for p in rows if p.kind == PaymentKind.REFUND)


def _payment_event(repair: Repair, actor: Any, payment: Payment) -> None:
    refund = payment.kind == PaymentKind.REFUND
    record_event(
        repair,
        actor,
        EventKind.PAYMENT,
        code="refund_given" if refund else "payment_received",
        params={"amount": abs(payment.amount), "method": payment.method},
        data={
            "payment": payment.kind,
            "amount": payment.amount,
            "method": payment.method,
            "receipt_number": payment.receipt_number,
            "total_paid": repair.amount_paid,
        },
        customer_visible=True,
    )


# --- services ----------------------------------------------------------------------------------


@atomic_service
def repair_record_payment(
    *, repair: Repair | int, actor: Any, amount: int, method: str, request_key: str = ""
) -> Payment | None:
    """Money taken at the desk in any open state. Locks the repair; raises Overpayment beyond
    what is payable, TransitionBlocked on a closed or cancelled repair. Returns None for a
    repeated one-time key (nothing recorded)."""
    r = lock_for(repair, "record_payment", actor)
    if already_recorded(r, request_key):
        return None
    if r.state not in OPEN_STATES:
        raise TransitionBlocked([gate.state_blocker(r, "record_payment")], "record_payment")
    check_payable(r, amount, "amount")
    return _book(r, actor, PaymentKind.PAYMENT, amount, method, request_key)


def _check_refundable(r: Repair, back: int) -> None:
    """An open repair may give back up to what was paid (the balance then falls due again); a
    closed or cancelled one only what was paid beyond what is due, so it stays settled."""
    if r.state not in OPEN_STATES:
        if back > r.refund_due:
            msg = gettext_noop(
                "This repair is settled: only the %(amount)s won paid beyond what was due can be "
                "refunded."
            )
            raise RefundExceedsPaid({"amount": [Message(msg, amount=f"{r.refund_due:,}")]})
    elif back > r.amount_paid:
        msg = gettext_noop("Only %(paid)s won was paid; refund no more than that.")
        raise RefundExceedsPaid({"amount": [Message(msg, paid=f"{r.amount_paid:,}")]})


@atomic_service
def repair_record_refund(
    *,
    repair: Repair | int,
    actor: Any,
    amount: int,
    method: str,
    reason: str,
    request_key: str = "",
) -> Payment | None:
    """Money given back, with a reason, in any state (a cancelled repair's deposit too). Locks
    the repair; raises RefundExceedsPaid beyond what was paid. Returns None for a repeated
    one-time key (nothing recorded)."""
    r = lock_for(repair, "record_refund", actor)
    if already_recorded(r, request_key):
        return None
    _check_refundable(r, amount)
    return _book(r, actor, PaymentKind.REFUND, amount, method, request_key, reason=reason)


def _book(
    repair: Repair,
    actor: Any,
    kind: str,
    amount: int,
    method: str,
    request_key: str,
    *,
    reason: str = "",
) -> Payment:
    """A ledger row outside a transition, with the stored totals and its timeline line."""
    payment = ledger_write(
        repair,
        kind=kind,
        amount=amount,
        method=method,
        actor=actor,
        reason=reason,
        request_key=request_key,
    )
    save_totals(repair)
    _payment_event(repair, actor, payment)
    return payment
