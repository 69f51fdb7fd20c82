"""The readiness gate and every other transition condition, as blockers with stable codes.

All checks are pure functions of a Repair row and its reservations (which callers prefetch), so
the FSM conditions, the API's `blockers` and the pages' disabled buttons all say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.utils.translation import gettext as _
from django_fsm import can_proceed

from parts.models import ReservationStatus
from workflows import registry
from workflows.choices import Coverage, ReturnMethod, State

Blocker = dict[str, str]
# Before the work is finished (or given up): "not complete" is the honest reason there.
NOT_YET_DONE_STATES = (
    State.RECEIVED,
    State.DIAGNOSING,
    State.AWAITING_APPROVAL,
    State.AWAITING_PARTS,
    State.READY_TO_REPAIR,
    State.IN_REPAIR,
)


def _active_reservations(repair: Any) -> list[Any]:
    return [
        r
        for r in repair.reservations.all()
        if r.status in (ReservationStatus.WAITING, ReservationStatus.RESERVED)
    ]


def _needs_approval(repair: Any) -> bool:
    return repair.coverage != Coverage.WARRANTY and repair.quote_approved_at is None


def _deposit_unpaid(repair: Any) -> bool:
    return repair.coverage != Coverage.WARRANTY and repair.deposit_paid < repair.deposit_required


# code -> (is blocked?, message). Messages are for people; codes are for programs.
CHECKS: dict[str, tuple[Callable[[Any], bool], Callable[[Any], str]]] = {
    "coverage_undetermined": (
        lambda r: r.coverage == Coverage.UNDETERMINED,
        lambda r: _("Coverage is not settled: find the serial number or agree a paid repair."),
    ),
    "quote_not_approved": (
        _needs_approval,
        lambda r: _("The customer has not approved the quote."),
    ),
    "deposit_unpaid": (
        _deposit_unpaid,
        lambda r: (
            _("A deposit of %(amount)s won is due before parts are ordered.")
            % {"amount": f"{r.deposit_required - r.deposit_paid:,}"}
        ),
    ),
    "parts_not_on_hand": (
        lambda r: any(x.status == ReservationStatus.WAITING for x in _active_reservations(r)),
        lambda r: (
            _("Parts are still on order: %(parts)s.")
            % {
                "parts": ", ".join(
                    f"{x.part.part_number} x{x.quantity}"
                    for x in _active_reservations(r)
                    if x.status == ReservationStatus.WAITING
                )
            }
        ),
    ),
    "no_technician": (
        lambda r: r.technician_id is None,
        lambda r: _("No technician owns this repair."),
    ),
    "device_not_in_shop": (
        lambda r: not r.device_in_shop,
        lambda r: _("The device is not at the center."),
    ),
    "device_in_shop": (
        lambda r: r.device_in_shop,
        lambda r: _("The device is already at the center."),
    ),
    "already_invited": (
        lambda r: r.invited_at is not None,
        lambda r: _("The customer has already been invited; record a call to remind them."),
    ),
    "repair_not_complete": (
        lambda r: r.state in NOT_YET_DONE_STATES,
        lambda r: _("The repair is not finished yet."),
    ),
    "wrong_return_method": (
        lambda r: False,  # replaced per transition below: pickup vs courier
        lambda r: "",
    ),
    "address_missing": (
        lambda r: not (r.courier_address or "").strip(),
        lambda r: _("There is no return address."),
    ),
    "tracking_missing": (
        lambda r: not (r.carrier or "").strip() or not (r.tracking_number or "").strip(),
        lambda r: _("Enter the carrier and the tracking number."),
    ),
    "balance_due": (
        lambda r: r.balance_due > 0,
        lambda r: _("%(amount)s won is still to be paid.") % {"amount": f"{r.balance_due:,}"},
    ),
    "refund_due": (
        lambda r: r.refund_due > 0,
        lambda r: (
            _("%(amount)s won was paid beyond what is due: record the refund first.")
            % {"amount": f"{r.refund_due:,}"}
        ),
    ),
}

READINESS = list(registry.READINESS)


def transition_checks(name: str) -> tuple[str, ...]:
    """The checks `name` needs besides its state (declared in the registry)."""
    return registry.TRANSITIONS[name].checks


def input_clearable(name: str) -> frozenset[str]:
    """Codes that the transition's own input can clear (a payment, a tracking number): the
    pages keep those buttons enabled and ask for the input instead."""
    return registry.TRANSITIONS[name].clearable


def _return_method_blocker(repair: Any, name: str) -> Blocker | None:
    wanted = ReturnMethod.PICKUP if name == "notify_ready_for_pickup" else ReturnMethod.COURIER
    if repair.return_method == wanted:
        return None
    if wanted == ReturnMethod.PICKUP:
        message = _("The customer asked for courier return: ship it instead.")
    else:
        message = _("The customer will pick it up: courier return was not requested.")
    return {"code": "wrong_return_method", "message": str(message)}


def check(
    repair: Any, codes: Iterable[str], name: str = "", memo: dict[str, Blocker | None] | None = None
) -> list[Blocker]:
    """The blockers among `codes`. `memo` (code -> blocker or None) lets one caller evaluate each
    check once across many transitions; `wrong_return_method` depends on `name`, so it is not
    remembered."""
    blockers: list[Blocker] = []
    for code in codes:
        if code == "wrong_return_method":
            found = _return_method_blocker(repair, name)
        elif memo is not None and code in memo:
            found = memo[code]
        else:
            is_blocked, message = CHECKS[code]
            found = {"code": code, "message": str(message(repair))} if is_blocked(repair) else None
            if memo is not None:
                memo[code] = found
        if found:
            blockers.append(dict(found))  # a copy: a caller may change its list's rows
    return blockers


def readiness_blockers(repair: Any) -> list[Blocker]:
    """The readiness gate: what stands between this repair and doing it. Empty = ready."""
    return check(repair, READINESS)


def state_allows(repair: Any, name: str) -> bool:
    return can_proceed(getattr(repair, name), check_conditions=False)


def transition_blockers(
    repair: Any, name: str, memo: dict[str, Blocker | None] | None = None
) -> list[Blocker]:
    """Everything that blocks `name` now, state included. Empty = the transition may run."""
    blockers = check(repair, transition_checks(name), name, memo)
    if not state_allows(repair, name):
        # The readiness checks above still say *why* it is not ready; the state is one more reason.
        if not any(b["code"] == "repair_not_complete" for b in blockers):
            blockers.insert(0, state_blocker(repair, name))
    return blockers


def all_transition_blockers(repair: Any, names: Iterable[str]) -> dict[str, list[Blocker]]:
    """`transition_blockers` of each of `names`, every check evaluated (and its message
    translated) once for them all: what the API's detail shows for every transition."""
    memo: dict[str, Blocker | None] = {}
    return {name: transition_blockers(repair, name, memo) for name in names}


def state_blocker(repair: Any, name: str) -> Blocker:  # noqa: ARG001 (kept for symmetry)
    return {
        "code": "wrong_state",
        "message": str(
            _("Not possible while the repair is “%(state)s”.")
            % {"state": State(repair.state).label}
        ),
    }


def condition(name: str) -> Callable[[Any], bool]:
    """An FSM condition: the transition's checks all pass (the state is the FSM's own business)."""

    def holds(repair: Any) -> bool:
        return not check(repair, transition_checks(name), name)

    holds.__name__ = f"{name}_checks_pass"
    return holds


def booking_blockers(repair: Any) -> list[Blocker]:
    """What stops a visit being booked (or kept): `invite_for_repair`'s state and checks, except
    that a customer already invited may still pick a time."""
    codes = [c for c in transition_checks("invite_for_repair") if c != "already_invited"]
    blockers = check(repair, codes, "invite_for_repair")
    if not state_allows(repair, "invite_for_repair"):
        blockers.insert(0, state_blocker(repair, "invite_for_repair"))
    return blockers
