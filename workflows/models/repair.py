"""The repair: its state machine, its timeline, its promises and its outbox.

Transition methods change only this row. Their inputs are staged on the row by the service in
`workflows/services/` before the method runs, so the FSM conditions (the readiness gate) judge
the row as it would be after the action; a blocked transition rolls the staged fields back with
the transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from parts.models import ReservationStatus
from workflows import gate, registry, texts
from workflows.choices import (
    PRE_APPROVAL_STATES,
    Coverage,
    IntakeChannel,
    ReturnMethod,
    State,
)
from workflows.roles import permission_for
from workflows.texts import CoverageReason

# States a repair reaches without being repaired when completed_at is still empty.
UNREPAIRED_END_STATES = (
    State.DECLINED,
    State.READY_FOR_PICKUP,
    State.SHIPPED,
    State.CLOSED,
    State.CANCELLED,
)

TICKET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_ticket_number(center_code: str, when=None) -> str:
    when = timezone.localtime(when or timezone.now())
    suffix = "".join(secrets.choice(TICKET_ALPHABET) for _ in range(6))
    return f"{center_code}-{when:%y%m}-{suffix}"


def new_status_token() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits


def fsm_transition(name: str):
    """A repair transition as the registry declares it: source and target states from there,
    conditions from the gate, permission from the roles."""
    spec = registry.TRANSITIONS[name]
    return transition(
        field="state",
        source=spec.source,
        target=spec.target,
        conditions=[gate.condition(name)],
        permission=permission_for(name),
        custom={"label": name},
    )


def amount_due_of(
    *,
    state: str,
    coverage: str,
    completed: bool,
    labor_fee: int | None,
    parts_total: Callable[[], int],
    diagnosis_fee: Callable[[], int],
) -> int | None:
    """What a repair's customer owes in all; None while it is not known yet. One rule for the
    model (`Repair.amount_due`) and the CSV export's plain rows; the totals are callables so the
    model reads its reservations or its center only when the answer needs them."""
    if not completed and state in UNREPAIRED_END_STATES:
        # Declined or unrepairable: a paid repair that was diagnosed owes the center's
        # diagnosis fee (0 by default); cancelled, warranty or undiagnosed ones nothing.
        charged = state != State.CANCELLED and coverage == Coverage.PAID and labor_fee is not None
        return diagnosis_fee() if charged else 0
    if coverage == Coverage.WARRANTY:
        return 0
    if coverage == Coverage.UNDETERMINED or labor_fee is None:
        return None
    return labor_fee + parts_total()


class Repair(ConcurrentTransitionMixin, models.Model):
    ticket_number = models.CharField(max_length=24, unique=True, verbose_name=_("ticket number"))
    status_token = models.CharField(
        max_length=32, unique=True, default=new_status_token, verbose_name=_("status link token")
    )
    center = models.ForeignKey(
        "service_center.ServiceCenter",
        on_delete=models.PROTECT,
        related_name="repairs",
        verbose_name=_("service center"),
    )
    customer = models.ForeignKey(
        "service_center.Customer",
        on_delete=models.PROTECT,
        related_name="repairs",
        verbose_name=_("customer"),
    )
    device = models.ForeignKey(
        "service_center.Device",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="repairs",
        verbose_name=_("registered device"),
    )
    reported_serial = models.CharField(
        max_length=40, blank=True, verbose_name=_("serial given by the customer")
    )
    checked_in_serial = models.CharField(
        max_length=40, blank=True, verbose_name=_("serial checked at drop-off")
    )
    serial_mismatch = models.BooleanField(default=False, verbose_name=_("serial differs"))
    product_model = models.ForeignKey(
        "service_center.ProductModel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="repairs",
        verbose_name=_("product model"),
    )
    symptom = models.TextField(max_length=2000, verbose_name=_("symptom"))
    accessories = models.CharField(
        max_length=300, blank=True, verbose_name=_("accessories received")
    )
    intake_channel = models.CharField(
        max_length=10,
        choices=IntakeChannel.choices,
        default=IntakeChannel.WALK_IN,
        verbose_name=_("intake channel"),
    )
    device_in_shop = models.BooleanField(default=True, verbose_name=_("device in the shop"))
    return_method = models.CharField(
        max_length=10,
        choices=ReturnMethod.choices,
        default=ReturnMethod.PICKUP,
        verbose_name=_("return method"),
    )
    courier_recipient = models.CharField(
        max_length=120, blank=True, verbose_name=_("courier recipient")
    )
    courier_address = models.CharField(
        max_length=300, blank=True, verbose_name=_("courier address")
    )
    courier_phone = models.CharField(max_length=40, blank=True, verbose_name=_("courier phone"))
    language = models.CharField(max_length=8, default="ko", verbose_name=_("language"))

    coverage = models.CharField(
        max_length=12,
        choices=Coverage.choices,
        default=Coverage.UNDETERMINED,
        verbose_name=_("coverage"),
    )
    # How coverage was decided, as a code and its facts (workflows/texts.py renders it).
    coverage_reason_code = models.CharField(
        max_length=20, choices=CoverageReason.choices, blank=True, verbose_name=_("coverage reason")
    )
    coverage_reason_params = models.JSONField(
        default=dict, blank=True, verbose_name=_("coverage reason facts")
    )

    findings = models.TextField(max_length=4000, blank=True, verbose_name=_("findings"))
    labor_fee = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("KRW"), verbose_name=_("labor fee")
    )
    quote_approved_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("quote approved at")
    )
    quote_approved_by = models.CharField(
        max_length=20, blank=True, verbose_name=_("quote approved by")
    )  # "customer" or a username
    # A requote keeps the total the customer had approved, so both can be shown side by side.
    previous_quote_total = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("KRW"), verbose_name=_("previous quote total")
    )
    requote_reason = models.CharField(
        max_length=500, blank=True, verbose_name=_("reason for the new quote")
    )
    # Intake evidence: [{item, state, note}], the checklist of the device's condition.
    condition = models.JSONField(default=list, blank=True, verbose_name=_("condition at intake"))
    # A comeback within the center's repair warranty: the earlier repair of the same serial.
    comeback_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="comebacks",
        verbose_name=_("comeback of"),
    )
    deposit_required = models.PositiveIntegerField(default=0, verbose_name=_("deposit required"))
    deposit_paid = models.PositiveIntegerField(default=0, verbose_name=_("deposit paid"))
    amount_paid = models.PositiveIntegerField(default=0, verbose_name=_("amount paid"))

    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_repairs",
        verbose_name=_("technician"),
    )
    state = FSMField(
        choices=State.choices,
        default=State.RECEIVED,
        protected=True,
        db_index=True,
        verbose_name=_("state"),
    )
    version = models.PositiveIntegerField(default=0, verbose_name=_("version"))

    invited_at = models.DateTimeField(null=True, blank=True, verbose_name=_("invited at"))
    promised_price = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("promised price")
    )
    promised_ready_by = models.DateTimeField(
        null=True, blank=True, verbose_name=_("promised ready by")
    )
    work_notes = models.TextField(max_length=4000, blank=True, verbose_name=_("work notes"))
    outcome_reason = models.CharField(
        max_length=500, blank=True, verbose_name=_("reason (decline, unrepairable, cancel)")
    )  # decline / unrepairable / cancel
    carrier = models.CharField(max_length=60, blank=True, verbose_name=_("carrier"))
    tracking_number = models.CharField(max_length=60, blank=True, verbose_name=_("tracking number"))

    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created at")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))

    class Meta:
        verbose_name = _("repair")
        verbose_name_plural = _("repairs")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The board's and the lists' oldest-first cards per state, the column counts.
            models.Index(
                fields=["center", "state", "created_at", "id"], name="repair_center_state_age"
            ),
            models.Index(
                fields=["technician", "state", "created_at", "id"], name="repair_tech_state_age"
            ),
            # The API's and the desk's repair lists, newest first (selectors.OverdueFirst).
            models.Index(fields=["center", "created_at", "id"], name="repair_center_newest"),
            # Search's trigram indexes are PostgreSQL's only: migration 0012 creates them there.
            # The call list's "waiting on the customer", least recently touched first.
            models.Index(
                fields=["center", "state", "updated_at", "id"], name="repair_center_state_touched"
            ),
        ]

    def __str__(self) -> str:
        return self.ticket_number

    @property
    def coverage_reason(self) -> str:
        """How coverage was decided, in the active language."""
        return texts.coverage_reason_text(self.coverage_reason_code, self.coverage_reason_params)

    def set_coverage_reason(self, code: str, **params: str) -> None:
        self.coverage_reason_code, self.coverage_reason_params = code, params

    # --- derived facts (pure; reservations are prefetched by selectors and services) -----------

    @property
    def active_reservations(self) -> list:
        return [
            r
            for r in self.reservations.all()
            if r.status in (ReservationStatus.WAITING, ReservationStatus.RESERVED)
        ]

    @property
    def parts_total(self) -> int:
        return sum(
            r.line_total for r in self.reservations.all() if r.status != ReservationStatus.RELEASED
        )

    @property
    def quote_total(self) -> int | None:
        if self.labor_fee is None:
            return None
        return self.labor_fee + self.parts_total

    @property
    def amount_due(self) -> int | None:
        """What the customer owes in all; None while it is not known yet."""
        return amount_due_of(
            state=self.state,
            coverage=self.coverage,
            completed=self.completed_at is not None,
            labor_fee=self.labor_fee,
            parts_total=lambda: self.parts_total,
            diagnosis_fee=lambda: self.center.diagnosis_fee,
        )

    @property
    def balance_due(self) -> int:
        return max((self.amount_due or 0) - self.amount_paid, 0)

    @property
    def payable(self) -> int:
        """The most the ledger may hold: what is due, or before that is known the quoted
        total (0 without a quote)."""
        due = self.amount_due
        if due is None:
            due = self.quote_total or 0
        return due

    @property
    def refund_due(self) -> int:
        """Paid more than is due (a deposit on a declined repair): to give back."""
        return max(self.amount_paid - self.payable, 0)

    @property
    def coverage_locked(self) -> bool:
        return self.quote_approved_at is not None or self.state not in PRE_APPROVAL_STATES

    def readiness_blockers(self) -> list[dict[str, str]]:
        return gate.readiness_blockers(self)

    def next_after_approval(self) -> str:
        if any(r.status == ReservationStatus.WAITING for r in self.active_reservations):
            return State.AWAITING_PARTS
        return State.READY_TO_REPAIR

    # --- transitions ---------------------------------------------------------------------------

    @fsm_transition("assign")
    def assign(self) -> None:
        pass

    @fsm_transition("diagnose")
    def diagnose(self) -> str:
        if self.coverage == Coverage.WARRANTY:
            return self.next_after_approval()  # nothing for the customer to approve
        return State.AWAITING_APPROVAL

    @fsm_transition("set_coverage")
    def set_coverage(self) -> str:
        # A price the customer never agreed to sends the repair back for approval.
        if (
            self.state in (State.AWAITING_PARTS, State.READY_TO_REPAIR)
            and self.coverage != Coverage.WARRANTY
            and self.quote_approved_at is None
        ):
            return State.AWAITING_APPROVAL
        return self.state

    @fsm_transition("record_deposit")
    def record_deposit(self) -> None:
        pass

    @fsm_transition("approve")
    def approve(self) -> str:
        self.quote_approved_at = timezone.now()
        return self.next_after_approval()

    @fsm_transition("decline")
    def decline(self) -> None:
        pass

    @fsm_transition("parts_arrived")
    def parts_arrived(self) -> None:
        pass

    @fsm_transition("invite_for_repair")
    def invite_for_repair(self) -> None:
        self.invited_at = timezone.now()
        self.promised_price = self.amount_due or 0

    @fsm_transition("check_in_device")
    def check_in_device(self) -> None:
        self.device_in_shop = True

    @fsm_transition("start_repair")
    def start_repair(self) -> None:
        pass

    @fsm_transition("complete")
    def complete(self) -> None:
        self.completed_at = timezone.now()

    @fsm_transition("requote")
    def requote(self) -> str:
        if self.coverage == Coverage.WARRANTY:
            return self.next_after_approval()  # nothing for the customer to approve
        return State.AWAITING_APPROVAL

    @fsm_transition("report_unrepairable")
    def report_unrepairable(self) -> None:
        pass

    @fsm_transition("notify_ready_for_pickup")
    def notify_ready_for_pickup(self) -> None:
        pass

    @fsm_transition("ship")
    def ship(self) -> None:
        self.device_in_shop = False

    @fsm_transition("hand_over")
    def hand_over(self) -> None:
        self.device_in_shop = False
        self.closed_at = timezone.now()

    @fsm_transition("confirm_delivery")
    def confirm_delivery(self) -> None:
        self.closed_at = timezone.now()

    @fsm_transition("cancel")
    def cancel(self) -> None:
        self.closed_at = timezone.now()
