"""Every repair transition, declared once.

An entry says where the transition may start and end, who may run it, which gate checks must
pass, what input it takes (DRF fields: the API's input serializer and the pages' form validation
both come from them), which service runs it, and how staff call it. The FSM decorators on
`Repair`, the gate, the role checks, the API's routes and `available_transitions`, and the
pages' buttons are all derived from this table; `tests/test_registry.py` walks it.

Adding a transition: one `Transition(...)` entry here, a method on `Repair` decorated with
`@fsm_transition("<name>")`, and its service in `workflows/services/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE
from rest_framework import serializers

from core.roles import CUSTOMER, DESK, MANAGER, OWNER, SYSTEM
from workflows.choices import (
    CANCELLABLE_STATES,
    CHECK_IN_STATES,
    OPEN_STATES,
    Coverage,
    State,
)
from workflows.inputs import (
    PartLineInSerializer,
    Promised,
    Serial,
    amount,
    payment_method,
    text,
)

READINESS = (
    "coverage_undetermined",
    "quote_not_approved",
    "deposit_unpaid",
    "parts_not_on_hand",
    "no_technician",
)


@dataclass(frozen=True)
class Transition:
    name: str
    source: Any  # a state, a list of states, or "*"
    target: Any  # a state, None (stays), or RETURN_VALUE(...)
    roles: frozenset[str]
    label: Any  # the staff button, e.g. "Start the repair"
    service: str = ""  # the function's name in workflows.services ("" for system-only ones)
    checks: tuple[str, ...] = ()
    inputs: dict[str, serializers.Field] = field(default_factory=dict)
    clearable: frozenset[str] = frozenset()  # blocker codes the transition's own input clears
    danger: bool = False  # gives the repair up: shown apart, in red
    confirm: bool = False  # one way: the pages ask for a ticked "I confirm" box first
    staff_action: bool = True  # shown as a button on the staff pages

    @property
    def inputless(self) -> bool:
        return not self.inputs

    @cached_property
    def input_serializer(self) -> type[serializers.Serializer]:
        """The API's request body and the pages' form validation, from `inputs`."""
        name = "Repair" + self.name.title().replace("_", "") + "InSerializer"
        return type(name, (serializers.Serializer,), dict(self.inputs))


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition(
            "assign",
            source=State.RECEIVED,
            target=State.DIAGNOSING,
            roles=frozenset({DESK, MANAGER}),
            label=_("Assign a technician"),
            service="repair_assign",
            checks=("no_technician",),
            inputs={"technician": text(150, required=True)},
            clearable=frozenset({"no_technician"}),
        ),
        Transition(
            "diagnose",
            source=State.DIAGNOSING,
            target=RETURN_VALUE(
                State.AWAITING_APPROVAL, State.AWAITING_PARTS, State.READY_TO_REPAIR
            ),
            roles=frozenset({OWNER}),
            label=_("Record the diagnosis"),
            service="repair_diagnose",
            checks=("no_technician",),
            inputs={
                "findings": text(4000, required=True, multiline=True),
                "parts": PartLineInSerializer(many=True, required=False, max_length=30),
                "labor_fee": amount(),
            },
        ),
        Transition(
            "set_coverage",
            source=OPEN_STATES,
            target=RETURN_VALUE(*State.values),
            roles=frozenset({DESK, MANAGER}),
            label=_("Set coverage"),
            service="repair_set_coverage",
            inputs={
                "coverage": serializers.ChoiceField(choices=Coverage.choices),
                "reason": text(300, required=True),
            },
        ),
        Transition(
            "record_deposit",
            source=State.AWAITING_APPROVAL,
            target=None,
            roles=frozenset({DESK, MANAGER}),
            label=_("Record a deposit"),
            service="repair_record_deposit",
            inputs={"amount": amount(minimum=1, required=True), "method": payment_method()},
        ),
        Transition(
            "approve",
            source=State.AWAITING_APPROVAL,
            target=RETURN_VALUE(State.AWAITING_PARTS, State.READY_TO_REPAIR),
            roles=frozenset({DESK, MANAGER, CUSTOMER}),
            label=_("Customer approves the quote"),
            service="repair_approve",
            checks=("coverage_undetermined", "deposit_unpaid"),
            confirm=True,
        ),
        # Wider than the first design (awaiting_approval only): a customer may withdraw at any
        # point before the work starts, and the device then goes back like any declined repair.
        Transition(
            "decline",
            source=CANCELLABLE_STATES,
            target=State.DECLINED,
            roles=frozenset({DESK, MANAGER, CUSTOMER}),
            label=_("Customer declines the quote"),
            service="repair_decline",
            inputs={"reason": text(500)},
            danger=True,
            confirm=True,
        ),
        Transition(
            "parts_arrived",
            source=State.AWAITING_PARTS,
            target=State.READY_TO_REPAIR,
            roles=frozenset({SYSTEM}),
            label=_("All parts are here."),
            checks=("parts_not_on_hand",),
            staff_action=False,
        ),
        Transition(
            "invite_for_repair",
            source=State.READY_TO_REPAIR,
            target=None,
            roles=frozenset({DESK, MANAGER, OWNER}),
            label=_("Invite the customer in"),
            service="repair_invite_for_repair",
            checks=(*READINESS, "device_in_shop", "already_invited"),
            inputs={
                "ready_by": Promised(required=False, allow_null=True),
                # A visit booked with the invitation (a free slot of GET …/slots/).
                "appointment_start": Promised(required=False, allow_null=True),
            },
        ),
        Transition(
            "check_in_device",
            source=CHECK_IN_STATES,
            target=None,
            roles=frozenset({DESK, MANAGER}),
            label=_("Check the device in"),
            service="repair_check_in_device",
            checks=("device_in_shop",),
            inputs={"serial_number": Serial()},
        ),
        Transition(
            "start_repair",
            source=State.READY_TO_REPAIR,
            target=State.IN_REPAIR,
            roles=frozenset({OWNER}),
            label=_("Start the repair"),
            service="repair_start",
            checks=(*READINESS, "device_not_in_shop"),
        ),
        Transition(
            "complete",
            source=State.IN_REPAIR,
            target=State.REPAIRED,
            roles=frozenset({OWNER}),
            label=_("Complete the repair"),
            service="repair_complete",
            inputs={"work_notes": text(4000, multiline=True)},
        ),
        # A new quote while the device is on the bench (it stays in the shop). A paid repair
        # waits for the customer's approval again; a warranty one goes on (services/quote.py).
        Transition(
            "requote",
            source=State.IN_REPAIR,
            target=RETURN_VALUE(
                State.AWAITING_APPROVAL, State.AWAITING_PARTS, State.READY_TO_REPAIR
            ),
            roles=frozenset({OWNER}),
            label=_("Record a new quote"),
            service="repair_requote",
            inputs={
                "findings": text(4000, required=True, multiline=True),
                "parts": PartLineInSerializer(many=True, required=False, max_length=30),
                "labor_fee": amount(),
                "reason": text(500, required=True),
            },
        ),
        Transition(
            "report_unrepairable",
            source=[State.DIAGNOSING, State.IN_REPAIR],
            target=State.DECLINED,
            roles=frozenset({OWNER}),
            label=_("Report unrepairable"),
            service="repair_report_unrepairable",
            inputs={"reason": text(500, required=True)},
            danger=True,
            confirm=True,
        ),
        Transition(
            "notify_ready_for_pickup",
            source=[State.REPAIRED, State.DECLINED],
            target=State.READY_FOR_PICKUP,
            roles=frozenset({DESK, MANAGER, OWNER}),
            label=_("Tell the customer: ready for pickup"),
            service="repair_notify_ready_for_pickup",
            checks=("repair_not_complete", "wrong_return_method", "device_not_in_shop"),
        ),
        Transition(
            "ship",
            source=[State.REPAIRED, State.DECLINED],
            target=State.SHIPPED,
            roles=frozenset({DESK, MANAGER}),
            label=_("Ship by courier"),
            service="repair_ship",
            checks=(
                "repair_not_complete",
                "wrong_return_method",
                "address_missing",
                "tracking_missing",
                "device_not_in_shop",
                "balance_due",
                "refund_due",
            ),
            inputs={"carrier": text(60), "tracking_number": text(60)},
            clearable=frozenset({"tracking_missing"}),
        ),
        Transition(
            "hand_over",
            source=State.READY_FOR_PICKUP,
            target=State.CLOSED,
            roles=frozenset({DESK, MANAGER}),
            label=_("Hand over and close"),
            service="repair_hand_over",
            checks=("balance_due", "refund_due"),
            inputs={"amount_paid": amount(), "method": payment_method()},
            clearable=frozenset({"balance_due"}),
            confirm=True,
        ),
        Transition(
            "confirm_delivery",
            source=State.SHIPPED,
            target=State.CLOSED,
            roles=frozenset({DESK, MANAGER}),
            label=_("Confirm delivery"),
            service="repair_confirm_delivery",
            confirm=True,
        ),
        Transition(
            "cancel",
            source=CANCELLABLE_STATES,
            target=State.CANCELLED,
            roles=frozenset({DESK, MANAGER}),
            label=_("Cancel the repair"),
            service="repair_cancel",
            checks=("device_in_shop",),
            inputs={"reason": text(500, required=True)},
            danger=True,
            confirm=True,
        ),
    ]
}

# The transitions staff (and the API) run by name, in the order a repair page lists them.
STAFF_TRANSITIONS = [name for name, t in TRANSITIONS.items() if t.staff_action]


def get(name: str) -> Transition:
    return TRANSITIONS[name]
