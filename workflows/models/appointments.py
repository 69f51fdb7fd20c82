"""A booked visit: the customer comes in at `start` and the repair's technician does it then."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from service_center.models import ServiceCenter
from workflows.models.repair import Repair


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Appointment(models.Model):
    repair = models.ForeignKey(
        Repair, on_delete=models.CASCADE, related_name="appointments", verbose_name=_("repair")
    )
    center = models.ForeignKey(
        ServiceCenter, on_delete=models.CASCADE, related_name="+", verbose_name=_("center")
    )
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=_("technician"),
    )
    start = models.DateTimeField(verbose_name=_("start"))
    end = models.DateTimeField(verbose_name=_("end"))
    status = models.CharField(
        max_length=10,
        choices=AppointmentStatus.choices,
        default=AppointmentStatus.BOOKED,
        verbose_name=_("status"),
    )
    booked_by = models.CharField(max_length=150, verbose_name=_("booked by"))
    withdrawn_reason = models.CharField(max_length=30, blank=True, verbose_name=_("why withdrawn"))
    reminded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reminded at"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["start", "id"]
        constraints = [
            # The database, not a check-then-insert, decides who gets a slot.
            models.UniqueConstraint(
                fields=["technician", "start"],
                condition=Q(status="booked"),
                name="appointment_one_per_technician_slot",
            ),
            models.UniqueConstraint(
                fields=["repair"],
                condition=Q(status="booked"),
                name="appointment_one_booked_per_repair",
            ),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="appointment_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["center", "start"], name="appointment_center_start")]

    def __str__(self) -> str:
        return f"{self.repair_id} @ {self.start:%Y-%m-%d %H:%M}"
