"""Intake evidence: photos of the device as it was handed in."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from workflows.models.repair import Repair


class IntakePhoto(models.Model):
    """A photo taken at intake, re-encoded without metadata, with a thumbnail. The files live in
    the default storage under unguessable names and are served only through
    workflows/views/photos.py (staff of the center, or a signed, expiring link)."""

    repair = models.ForeignKey(
        Repair, on_delete=models.CASCADE, related_name="photos", verbose_name=_("repair")
    )
    image = models.FileField(max_length=200, verbose_name=_("image"))
    thumbnail = models.FileField(max_length=200, verbose_name=_("thumbnail"))
    width = models.PositiveIntegerField(verbose_name=_("width"))
    height = models.PositiveIntegerField(verbose_name=_("height"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("time"))

    class Meta:
        verbose_name = _("intake photo")
        verbose_name_plural = _("intake photos")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.repair_id} #{self.pk}"
