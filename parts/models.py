"""Parts, stock per center and its movements ledger, reservations for repairs, and parts orders to
the central warehouse."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition


class Part(models.Model):
    part_number = models.CharField(max_length=40, unique=True, verbose_name=_("part number"))
    name = models.CharField(max_length=120, verbose_name=_("name"))
    unit_price = models.PositiveIntegerField(help_text=_("KRW"), verbose_name=_("unit price"))
    compatible_models = models.ManyToManyField(
        "service_center.ProductModel",
        related_name="parts",
        blank=True,
        verbose_name=_("compatible models"),
    )

    class Meta:
        verbose_name = _("part")
        verbose_name_plural = _("parts")

    def __str__(self) -> str:
        return f"{self.part_number} {self.name}"


class Stock(models.Model):
    """On-hand and reserved units of one part at one center.

    Never read-modify-write in Python: lock the row or use a conditional F() update. The database
    constraints hold the invariant even if code is wrong.
    """

    center = models.ForeignKey(
        "service_center.ServiceCenter",
        on_delete=models.PROTECT,
        related_name="stock",
        verbose_name=_("service center"),
    )
    part = models.ForeignKey(
        Part, on_delete=models.PROTECT, related_name="stock", verbose_name=_("part")
    )
    on_hand = models.PositiveIntegerField(default=0, verbose_name=_("units on hand"))
    reserved = models.PositiveIntegerField(default=0, verbose_name=_("units reserved"))

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        constraints = [
            models.UniqueConstraint(
                fields=["center", "part"], name="stock_one_row_per_center_part"
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="stock_reserved_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.part.part_number} @ {self.center.code}: {self.on_hand} ({self.reserved} res.)"
        )

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class ReservationStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for stock")
    RESERVED = "reserved", _("Reserved")
    CONSUMED = "consumed", _("Used")
    RELEASED = "released", _("Released")


class Reservation(models.Model):
    repair = models.ForeignKey(
        "workflows.Repair",
        on_delete=models.CASCADE,
        related_name="reservations",
        verbose_name=_("repair"),
    )
    center = models.ForeignKey(
        "service_center.ServiceCenter",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("service center"),
    )
    part = models.ForeignKey(
        Part, on_delete=models.PROTECT, related_name="reservations", verbose_name=_("part")
    )
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    unit_price = models.PositiveIntegerField(
        help_text=_("Price quoted, KRW"), verbose_name=_("unit price")
    )
    status = models.CharField(
        max_length=10,
        choices=ReservationStatus.choices,
        default=ReservationStatus.WAITING,
        verbose_name=_("status"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("parts reservation")
        verbose_name_plural = _("parts reservations")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="reservation_quantity_positive"
            )
        ]
        indexes = [
            # FIFO allocation on receiving: the oldest waiting reservations of one part at a center.
            models.Index(
                fields=["center", "part", "created_at", "id"],
                condition=Q(status="waiting"),
                name="reservation_waiting_fifo",
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.part_id} ({self.status})"

    @property
    def line_total(self) -> int:
        return self.quantity * self.unit_price


class PartsOrderState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    SHIPPED = "shipped", _("Shipped by the warehouse")
    RECEIVED = "received", _("Received")
    CANCELLED = "cancelled", _("Cancelled")


class PartsOrder(ConcurrentTransitionMixin, models.Model):
    center = models.ForeignKey(
        "service_center.ServiceCenter",
        on_delete=models.PROTECT,
        related_name="parts_orders",
        verbose_name=_("service center"),
    )
    state = FSMField(
        choices=PartsOrderState.choices,
        default=PartsOrderState.REQUESTED,
        protected=True,
        verbose_name=_("state"),
    )
    carrier = models.CharField(max_length=60, blank=True, verbose_name=_("carrier"))
    tracking_number = models.CharField(max_length=60, blank=True, verbose_name=_("tracking number"))
    eta = models.DateField(null=True, blank=True, verbose_name=_("expected arrival"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    received_at = models.DateTimeField(null=True, blank=True, verbose_name=_("received at"))
    cancel_reason = models.CharField(
        max_length=300, blank=True, verbose_name=_("reason for cancelling")
    )

    class Meta:
        verbose_name = _("parts order")
        verbose_name_plural = _("parts orders")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"PO-{self.pk} ({self.state})"

    @transition(field=state, source=PartsOrderState.REQUESTED, target=PartsOrderState.SHIPPED)
    def ship(self, *, carrier: str, tracking_number: str, eta) -> None:
        self.carrier, self.tracking_number, self.eta = carrier, tracking_number, eta

    @transition(
        field=state,
        source=[PartsOrderState.REQUESTED, PartsOrderState.SHIPPED],
        target=PartsOrderState.RECEIVED,
    )
    def receive(self) -> None:
        self.received_at = timezone.now()

    @transition(
        field=state,
        source=[PartsOrderState.REQUESTED, PartsOrderState.SHIPPED],
        target=PartsOrderState.CANCELLED,
    )
    def cancel(self, *, reason: str) -> None:
        self.cancel_reason = reason


class PartsOrderLine(models.Model):
    order = models.ForeignKey(
        PartsOrder, on_delete=models.CASCADE, related_name="lines", verbose_name=_("parts order")
    )
    part = models.ForeignKey(
        Part, on_delete=models.PROTECT, related_name="+", verbose_name=_("part")
    )
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    quantity_received = models.PositiveIntegerField(default=0, verbose_name=_("quantity received"))
    repair = models.ForeignKey(
        "workflows.Repair",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="parts_order_lines",
        verbose_name=_("for repair"),
    )

    class Meta:
        verbose_name = _("parts order line")
        verbose_name_plural = _("parts order lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity")),
                name="order_line_received_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.part_id} (order {self.order_id})"

    @property
    def outstanding(self) -> int:
        return self.quantity - self.quantity_received


class StockMovementKind(models.TextChoices):
    RECEIVE = "receive", _("Received from the warehouse")
    ADJUST = "adjust", _("Count adjusted")
    RESERVE = "reserve", _("Reserved for a repair")
    RELEASE = "release", _("Released by a repair")
    CONSUME = "consume", _("Used in a repair")
    TRANSFER_OUT = "transfer_out", _("Sent to another center")
    TRANSFER_IN = "transfer_in", _("Received from another center")


class StockMovement(models.Model):
    """One change of a Stock row, and why. Per (center, part) the deltas sum to the row's
    `on_hand` and `reserved`: `parts/services/ledger.py` writes the change and its movement in
    one transaction, and `manage.py audit_ledgers` proves the sums."""

    center = models.ForeignKey(
        "service_center.ServiceCenter",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("service center"),
    )
    part = models.ForeignKey(
        Part, on_delete=models.PROTECT, related_name="movements", verbose_name=_("part")
    )
    kind = models.CharField(
        max_length=12, choices=StockMovementKind.choices, verbose_name=_("kind")
    )
    delta_on_hand = models.IntegerField(default=0, verbose_name=_("change in units on hand"))
    delta_reserved = models.IntegerField(default=0, verbose_name=_("change in units reserved"))
    reason = models.CharField(max_length=300, blank=True, verbose_name=_("reason"))
    repair = models.ForeignKey(
        "workflows.Repair",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stock_movements",
        verbose_name=_("repair"),
    )
    parts_order = models.ForeignKey(
        PartsOrder,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stock_movements",
        verbose_name=_("parts order"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("time"))

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(delta_on_hand=0, delta_reserved=0),
                name="stock_movement_changes_something",
            )
        ]
        indexes = [
            # GET /api/v1/stock/movements/?part=&since= at one center, newest first.
            models.Index(
                fields=["center", "part", "created_at", "id"], name="stock_movement_part_time"
            ),
            models.Index(fields=["center", "created_at", "id"], name="stock_movement_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.part_id}: {self.delta_on_hand:+d} / {self.delta_reserved:+d}"
