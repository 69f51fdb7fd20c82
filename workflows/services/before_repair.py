"""Transitions up to the visit: assign, diagnose, coverage, deposit, approval, parts, invite."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.errors import Message, TransitionBlocked, ValidationFailed
from core.roles import TECH, as_actor, same_center, staff_name, user_roles
from workflows import gate
from workflows.choices import (
    ActorKind,
    Coverage,
    EventKind,
    NotificationKind,
    PaymentKind,
    PaymentMethod,
    State,
)
from workflows.inputs import PartLine
from workflows.messages import sentence
from workflows.models import Repair
from workflows.services import payments
from workflows.services.core import (
    WORK_STARTED_STATES,
    atomic_service,
    lock_for,
    move,
    queue_message,
    record_transition,
    require_gate,
    status_link,
    won,
)
from workflows.services.quote import check_quote_range, diagnosis_data, parts_wanted, reserve_parts
from workflows.services.supply import give_up
from workflows.texts import CoverageReason

# --- assign ------------------------------------------------------------------------------------


@atomic_service
def repair_assign(*, repair: Repair | int, actor: Any, technician: Any) -> Repair:
    """received -> diagnosing. Locks the repair; raises ValidationFailed unless `technician`
    (a user, a pk or a username) is an active technician of this center."""
    tech = _find_user(technician)
    r = lock_for(repair, "assign", actor)
    if not _may_own(tech, r):
        raise ValidationFailed({"technician": ["Choose an active technician of this center."]})
    r.technician = tech
    moved = move(r, "assign", actor)
    with translation.override(r.language):
        record_transition(
            moved,
            code="technician_assigned",
            params={"name": staff_name(tech)},
            data={"technician": tech.get_username(), "technician_name": staff_name(tech)},
        )
    return r


def _find_user(who: Any) -> Any:
    if hasattr(who, "pk"):
        return who
    users = get_user_model().objects
    return (
        users.filter(pk=who).first() if str(who).isdigit() else users.filter(username=who).first()
    )


def _may_own(user: Any, repair: Repair) -> bool:
    return (
        user is not None
        and user.is_active
        and TECH in user_roles(user)
        and same_center(user, repair.center_id)
    )


# --- diagnose ----------------------------------------------------------------------------------


@atomic_service
def repair_diagnose(
    *,
    repair: Repair | int,
    actor: Any,
    findings: str,
    parts: Sequence[PartLine] | None = None,
    labor_fee: int = 0,
) -> Repair:
    """diagnosing -> awaiting_approval (or, under warranty, awaiting_parts / ready_to_repair).

    Locks the repair, then the stock rows of the parts on hand, which it reserves; what is not
    on hand becomes `waiting` reservations and one parts-order request to the warehouse. A
    center that requires deposits asks for the ordered parts' price before a paid repair goes
    ahead. Raises ValidationFailed for unknown or unfitting parts and a quote beyond what can
    be charged, TransitionBlocked (gate); queues the quote message when the customer has a
    price to approve."""
    r = lock_for(repair, "diagnose", actor)
    wanted = parts_wanted(r, parts or ())
    check_quote_range(labor_fee, wanted)
    r.findings, r.labor_fee = findings, labor_fee
    require_gate(r, "diagnose")
    reserve_parts(r, wanted, actor)
    moved = move(r, "diagnose", actor)
    with translation.override(r.language):
        record_transition(moved, text=findings, data=diagnosis_data(r))
        if r.state == State.AWAITING_APPROVAL:
            queue_message(r, NotificationKind.QUOTE, {"total": won(r.quote_total)})
    return r


# --- coverage, deposit, approval ---------------------------------------------------------------


@atomic_service
def repair_set_coverage(*, repair: Repair | int, actor: Any, coverage: str, reason: str) -> Repair:
    """Settle or change coverage, with a reason, on the timeline and told to the customer.
    After the customer approved a price only a manager may change it; a change to a paid
    repair needs a fresh approval (the repair goes back to awaiting_approval). Locks the
    repair; raises ValidationFailed for no change, TransitionBlocked once work started unless
    the change is to warranty; queues the coverage message."""
    r = lock_for(repair, "set_coverage", actor)
    _check_coverage_change(r, coverage)
    before = r.coverage
    r.coverage = coverage
    r.set_coverage_reason(CoverageReason.STAFF, text=reason)
    if coverage != Coverage.WARRANTY and r.quote_approved_at is not None:
        r.quote_approved_at = None  # the customer agreed to other terms
    r.invited_at = None  # any invitation made on the old terms no longer holds
    moved = move(r, "set_coverage", actor)
    with translation.override(r.language):
        record_transition(
            moved,
            kind=EventKind.COVERAGE_CHANGE,
            text=reason,
            data={"from": before, "to": coverage, "reason": reason},
        )
        queue_message(r, NotificationKind.COVERAGE_CHANGED, _coverage_facts(r))
    return r


def _check_coverage_change(repair: Repair, value: str) -> None:
    if repair.coverage == value:
        # Each value's sentence is in the catalogue (service_center.views.DOMAIN_MESSAGES).
        raise ValidationFailed({"coverage": [f"Coverage is already {value}."]})
    if value != Coverage.WARRANTY and repair.state in WORK_STARTED_STATES:
        # Charging for work the customer never agreed to pay for is exactly what we prevent.
        message = _("The work has started: coverage can now only change to warranty.")
        raise TransitionBlocked(
            [{"code": "quote_not_approved", "message": str(message)}], "set_coverage"
        )


def _coverage_facts(repair: Repair) -> dict[str, str]:
    """The coverage message's placeholders; the quote sentence only when a price now waits for
    the customer's approval. Call in the customer's language."""
    total = won(repair.quote_total)
    waits = repair.state == State.AWAITING_APPROVAL and repair.coverage != Coverage.WARRANTY
    return {
        "coverage": str(Coverage(repair.coverage).label),
        "reason": repair.coverage_reason,
        "total": total,
        "quote": sentence("quote", total=total, link=status_link(repair)) if waits else "",
    }


@atomic_service
def repair_record_deposit(
    *, repair: Repair | int, actor: Any, amount: int, method: str = "", request_key: str = ""
) -> Repair:
    """A deposit taken at the desk (in cash unless `method` says otherwise); at least what is
    still due, and no more than the quote (a ledger row). Locks the repair; raises
    ValidationFailed for less than the deposit due, Overpayment beyond the quote. A repeated
    one-time key does nothing."""
    r = lock_for(repair, "record_deposit", actor)
    if payments.already_recorded(r, request_key):
        return r
    due = max(r.deposit_required - r.deposit_paid, 0)
    if amount < due:
        raise ValidationFailed(
            {"amount": [Message(gettext_noop("The deposit due is %(due)s won."), due=f"{due:,}")]}
        )
    if gate.state_allows(r, "record_deposit"):
        payments.check_payable(r, amount, "amount")
    how = method or PaymentMethod.CASH
    row = payments.ledger_write(
        r, kind=PaymentKind.DEPOSIT, amount=amount, method=how, actor=actor, request_key=request_key
    )
    moved = move(r, "record_deposit", actor)
    record_transition(
        moved,
        code="deposit_received",
        params={"amount": amount},
        data={"amount": amount, "payment": "deposit", **payments.receipt_data(row)},
    )
    return r


@atomic_service
def repair_approve(*, repair: Repair | int, actor: Any) -> Repair:
    """The customer (online or at the desk) agrees to the quote. Locks the repair; raises
    TransitionBlocked while coverage is undetermined or a required deposit is unpaid."""
    who = as_actor(actor)
    r = lock_for(repair, "approve", who)
    r.quote_approved_by = "customer" if who.kind != ActorKind.STAFF else who.user.get_username()
    moved = move(r, "approve", who)
    facts = {"total": r.amount_due, "approved_by": r.quote_approved_by}
    record_transition(moved, code="quote_approved", params={"total": r.amount_due}, data=facts)
    return r


@atomic_service
def repair_decline(*, repair: Repair | int, actor: Any, reason: str = "") -> Repair:
    """The customer does not want the repair. Locks the repair; releases its reservations
    (freed stock goes to the next waiting repair after commit)."""
    return give_up(repair, "decline", actor, reason=reason)
