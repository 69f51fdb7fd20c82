"""Message templates: a center's own wording of each notification kind, per language.

A center that has not written its own uses the default shipped in `workflows/messages.py`. The
placeholders a kind may use are declared there; an unknown one is refused when the template is
saved, so a message never goes out with a hole in it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from service_center.models import ServiceCenter
from workflows.choices import NotificationKind


class MessageTemplate(models.Model):
    center = models.ForeignKey(
        ServiceCenter,
        on_delete=models.CASCADE,
        related_name="message_templates",
        verbose_name=_("service center"),
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices, verbose_name=_("kind"))
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, verbose_name=_("language")
    )
    subject = models.CharField(max_length=200, blank=True, verbose_name=_("e-mail subject"))
    body = models.TextField(max_length=2000, verbose_name=_("message"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("updated by"),
    )

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["center", "kind", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["center", "kind", "language"], name="message_template_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.center} · {self.get_kind_display()} · {self.language}"
