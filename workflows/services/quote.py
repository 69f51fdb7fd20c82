"""The quote: the parts a diagnosis asks for and their reservation, shared by `diagnose` and
`requote` (a new quote while the repair is open on the bench).

Requote and warranty: a warranty repair has nothing for the customer to approve, so its requote
records the new findings and parts and goes on like a warranty diagnosis (awaiting_parts or
ready_to_repair, then `start_repair` resumes); only a paid repair waits for a new approval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_noop

from core.errors import invalid
from core.roles import as_actor
from core.validation import MAX_AMOUNT
from parts import services as parts_services
from parts.models import Part, ReservationStatus
from workflows.choices import Coverage, NotificationKind, State
from workflows.inputs import PartLine
from workflows.messages import sentence
from workflows.models import Repair
from workflows.services.core import (
    atomic_service,
    lock_for,
    move,
    queue_message,
    record_transition,
    refresh_reservations,
    require_gate,
    won,
)
from workflows.services.supply import allocate_after_commit


def parts_wanted(repair: Repair, parts: Sequence[PartLine]) -> list[tuple[Part, int]]:
    """The parts asked for, each once with its total quantity. Raises ValidationFailed for a
    part number that is not in the catalogue or a part that does not fit the repair's model."""
    wanted: dict[str, int] = {}
    for line in parts:
        number = line["part_number"]
        wanted[number] = wanted.get(number, 0) + line.get("quantity", 1)
    found = {
        p.part_number: p
        for p in Part.objects.filter(part_number__in=wanted).prefetch_related("compatible_models")
    }
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise invalid("parts", gettext_noop("Unknown part: %(parts)s."), parts=", ".join(missing))
    if repair.product_model_id:
        wrong = [
            n
            for n, p in found.items()
            if repair.product_model_id not in {m.pk for m in p.compatible_models.all()}
        ]
        if wrong:
            raise invalid(
                "parts",
                gettext_noop("Not for this model: %(parts)s."),
                parts=", ".join(sorted(wrong)),
            )
    return [(found[n], q) for n, q in sorted(wanted.items())]


def check_quote_range(labor: int, wanted: list[tuple[Part, int]]) -> None:
    """Labour plus parts must stay a sensible amount (and within the columns it is stored in:
    the promised price, the ledger): a typo is a clear 400, never a DataError later."""
    total = labor + sum(p.unit_price * q for p, q in wanted)
    if total > MAX_AMOUNT:
        raise invalid(
            "labor_fee",
            gettext_noop("The quote would be %(total)s won; at most %(most)s won."),
            total=f"{total:,}",
            most=f"{MAX_AMOUNT:,}",
        )


def reserve_parts(repair: Repair, wanted: list[tuple[Part, int]], actor: Any) -> None:
    """Reserve what is on hand; order the rest, and ask a deposit for it where the center does."""
    who = as_actor(actor).user
    made = [
        parts_services.reservation_create(repair=repair, part=p, quantity=q, actor_user=who)
        for p, q in wanted
    ]
    waiting = [x for x in made if x.status == ReservationStatus.WAITING]
    if waiting:
        parts_services.parts_order_request(
            center_id=repair.center_id,
            lines=[(x.part, x.quantity, repair) for x in waiting],
            actor_user=as_actor(actor).user,
        )
        if (
            repair.center.requires_deposit_for_ordered_parts
            and repair.coverage != Coverage.WARRANTY
        ):
            repair.deposit_required += sum(x.line_total for x in waiting)
    refresh_reservations(repair)


def diagnosis_data(repair: Repair) -> dict[str, Any]:
    return {
        "findings": repair.findings,
        "labor_fee": repair.labor_fee,
        "parts": [
            {"part_number": x.part.part_number, "quantity": x.quantity, "status": x.status}
            for x in repair.active_reservations
        ],
        "quote_total": repair.quote_total,
        "deposit_required": repair.deposit_required,
    }


# --- requote -----------------------------------------------------------------------------------


@atomic_service
def repair_requote(
    *,
    repair: Repair | int,
    actor: Any,
    findings: str,
    reason: str,
    parts: Sequence[PartLine] | None = None,
    labor_fee: int = 0,
) -> Repair:
    """in_repair -> awaiting_approval: the work showed more (or less) to do than quoted.

    Locks the repair; keeps the reservations of parts the new quote still asks for, reserves
    (or orders) what it adds and releases, through the stock ledger, what it no longer needs.
    A paid repair keeps the approved total in `previous_quote_total`, loses its approval and
    queues one message with the old and the new total; a warranty repair goes on as after a
    warranty diagnosis. Raises ValidationFailed (unknown or unfitting parts, a quote out of
    range) and PermissionDenied (not the owning technician) before anything is written."""
    r = lock_for(repair, "requote", actor)
    wanted = parts_wanted(r, parts or ())
    check_quote_range(labor_fee, wanted)
    require_gate(r, "requote")
    old_total = r.amount_due
    freed = _apply_new_parts(r, wanted, actor)
    r.findings, r.labor_fee, r.requote_reason = findings, labor_fee, reason
    if r.coverage != Coverage.WARRANTY:
        r.previous_quote_total, r.quote_approved_at, r.quote_approved_by = old_total, None, ""
        r.invited_at = None  # the invitation was made on the old price
    moved = move(r, "requote", actor)
    data = {**diagnosis_data(r), "reason": reason, "previous_quote_total": old_total}
    with translation.override(r.language):
        params = {"old_total": old_total, "new_total": r.amount_due}
        record_transition(moved, text=reason, code="requoted", params=params, data=data)
        if r.state == State.AWAITING_APPROVAL:
            queue_message(r, NotificationKind.QUOTE, _requote_facts(r, reason))
    if freed:
        allocate_after_commit(center_id=r.center_id, part_ids=freed)
    return r


def _apply_new_parts(repair: Repair, wanted: list[tuple[Part, int]], actor: Any) -> list[int]:
    """Change the repair's reservations to `wanted`: a part asked for in the same quantity keeps
    its reservation; more of it reserves the difference; less or none releases what it held
    (and reserves again the smaller quantity). Returns the part ids whose units were freed."""
    held: dict[int, int] = {}
    for x in repair.active_reservations:
        held[x.part_id] = held.get(x.part_id, 0) + x.quantity
    new = {p.pk: q for p, q in wanted}
    drop = sorted(pid for pid, q in held.items() if new.get(pid, 0) < q)
    freed: list[int] = []
    if drop:
        who = as_actor(actor).user
        freed = parts_services.reservations_release(repair=repair, actor_user=who, part_ids=drop)
    keep = {pid: q for pid, q in held.items() if pid not in drop}
    more = [(p, q - keep.get(p.pk, 0)) for p, q in wanted if q > keep.get(p.pk, 0)]
    reserve_parts(repair, more, actor)
    return freed


def _requote_facts(repair: Repair, reason: str) -> dict[str, str]:
    """The quote message's placeholders for a new quote: the old total beside the new one."""
    old = won(repair.previous_quote_total)
    return {
        "total": won(repair.quote_total),
        "old_total": old,
        "reason": reason,
        "requote": sentence("requote", old_total=old, reason=reason),
    }
