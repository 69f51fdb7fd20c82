"""What a repair accumulates: its timeline, its promises, its outbox and its payments ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from workflows import texts
from workflows.choices import (
    ActorKind,
    EventKind,
    NotificationChannel,
    NotificationKind,
    NotificationStatus,
    PaymentKind,
    PaymentMethod,
    PromiseKind,
)
from workflows.models.repair import Repair


class RepairEvent(models.Model):
    """The timeline: every transition, note, call, promise, payment and message, in order."""

    repair = models.ForeignKey(
        Repair, on_delete=models.CASCADE, related_name="events", verbose_name=_("repair")
    )
    at = models.DateTimeField(default=timezone.now, verbose_name=_("time"))
    actor_kind = models.CharField(
        max_length=10, choices=ActorKind.choices, verbose_name=_("actor kind")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_name = models.CharField(max_length=120, blank=True, verbose_name=_("actor name"))
    kind = models.CharField(max_length=20, choices=EventKind.choices, verbose_name=_("kind"))
    transition = models.CharField(max_length=40, blank=True, verbose_name=_("transition"))
    from_state = models.CharField(max_length=20, blank=True, verbose_name=_("from state"))
    to_state = models.CharField(max_length=20, blank=True, verbose_name=_("to state"))
    customer_visible = models.BooleanField(default=False, verbose_name=_("customer sees it"))
    text = models.TextField(max_length=4000, blank=True, verbose_name=_("text"))  # typed by people
    # What the system says, as a code and its params (workflows/texts.py renders it).
    text_code = models.CharField(max_length=30, blank=True, verbose_name=_("text code"))
    text_params = models.JSONField(default=dict, blank=True, verbose_name=_("text params"))
    data = models.JSONField(default=dict, blank=True, verbose_name=_("data"))

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["repair", "at", "id"], name="event_repair_at")]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.at):%Y-%m-%d %H:%M} {self.get_kind_display()}"

    @property
    def display_text(self) -> str:
        """The row's line in the active language, then what a person typed."""
        return texts.event_text(self)


class PromiseQuerySet(models.QuerySet):
    def open(self) -> PromiseQuerySet:
        """Neither kept nor withdrawn: what the board, the call list and the customer count on."""
        return self.filter(fulfilled_at__isnull=True, withdrawn_at__isnull=True)


class Promise(models.Model):
    repair = models.ForeignKey(
        Repair, on_delete=models.CASCADE, related_name="promises", verbose_name=_("repair")
    )
    kind = models.CharField(max_length=10, choices=PromiseKind.choices, verbose_name=_("kind"))
    due_at = models.DateTimeField(verbose_name=_("due at"))
    note = models.CharField(max_length=300, blank=True, verbose_name=_("note"))
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("made by"),
    )
    made_at = models.DateTimeField(default=timezone.now, verbose_name=_("made at"))
    fulfilled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("fulfilled at"))
    fulfilled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("fulfilled by"),
    )
    # The system took it back (its parts order was cancelled): not kept, and never overdue.
    withdrawn_at = models.DateTimeField(null=True, blank=True, verbose_name=_("withdrawn at"))

    objects = PromiseQuerySet.as_manager()

    class Meta:
        verbose_name = _("promise")
        verbose_name_plural = _("promises")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(fulfilled_at__isnull=True, withdrawn_at__isnull=True),
                name="promise_open_due",
            ),
            # A card's `overdue_since`: the earliest open promise of one repair.
            models.Index(
                fields=["repair", "due_at"],
                condition=Q(fulfilled_at__isnull=True, withdrawn_at__isnull=True),
                name="promise_open_repair_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {timezone.localtime(self.due_at):%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.fulfilled_at is None and self.withdrawn_at is None

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at < timezone.now()


class Notification(models.Model):
    """Outbox row, written in the transition's transaction and delivered after commit."""

    repair = models.ForeignKey(
        Repair, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("repair")
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices, verbose_name=_("kind"))
    channel = models.CharField(
        max_length=8,
        choices=NotificationChannel.choices,
        default=NotificationChannel.SMS,
        verbose_name=_("message channel"),
    )
    recipient = models.CharField(max_length=200, verbose_name=_("recipient"))
    # A staff alert (overdue promise) goes to this user; customer messages leave it empty.
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("staff recipient"),
    )
    language = models.CharField(max_length=8, blank=True, verbose_name=_("language"))
    # The rendered text as sent: the subject (e-mail only) and the body.
    subject = models.CharField(max_length=200, blank=True, verbose_name=_("subject"))
    body = models.TextField(max_length=2000, verbose_name=_("message"))
    status = models.CharField(
        max_length=8,
        choices=NotificationStatus.choices,
        default=NotificationStatus.PENDING,
        verbose_name=_("status"),
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    idempotency_key = models.CharField(
        max_length=120, unique=True, verbose_name=_("idempotency key")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))
    # Retries back off: a failed attempt is tried again no sooner than this.
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    # What the provider called the message it accepted (SMTP Message-ID, SMS message id).
    provider_message_id = models.CharField(
        max_length=200, blank=True, verbose_name=_("provider message id")
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(status="pending"), name="notification_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient} ({self.get_status_display()})"


class Payment(models.Model):
    """One row of a repair's ledger: money in (deposit, payment) or out (refund, negative).

    `Repair.amount_paid` is the sum of these rows; `workflows/services/payments.py` writes both
    in one transaction with the repair row locked."""

    repair = models.ForeignKey(
        Repair, on_delete=models.PROTECT, related_name="payments", verbose_name=_("repair")
    )
    kind = models.CharField(max_length=8, choices=PaymentKind.choices, verbose_name=_("kind"))
    amount = models.IntegerField(help_text=_("KRW; refunds are negative"), verbose_name=_("amount"))
    method = models.CharField(
        max_length=8, choices=PaymentMethod.choices, verbose_name=_("payment method")
    )
    receipt_number = models.CharField(max_length=40, unique=True, verbose_name=_("receipt number"))
    reason = models.CharField(max_length=300, blank=True, verbose_name=_("reason"))
    # A page form's one-time token or an API retry: the same key on a repair records once.
    request_key = models.CharField(max_length=64, blank=True, verbose_name=_("request key"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("time"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["repair", "request_key"],
                condition=~Q(request_key=""),
                name="payment_once_per_request",
            ),
            models.CheckConstraint(
                condition=(Q(kind="refund", amount__lt=0) | (~Q(kind="refund") & Q(amount__gt=0))),
                name="payment_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_number} {self.kind} {self.amount}"
