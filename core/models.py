"""The stored answers of `Idempotency-Key` requests (core/idempotency.py says how they are used)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotencyKey(models.Model):
    """One row per (user, key): the request it answered and the answer. The row is written in the
    same transaction as the action, so it exists (committed) exactly when the action does."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    key = models.CharField(max_length=200, verbose_name=_("key"))
    method = models.CharField(max_length=10, verbose_name=_("method"))
    path = models.CharField(max_length=1000, verbose_name=_("path"))
    # sha256 of method, path and body: the same key with another request is refused (422).
    fingerprint = models.CharField(max_length=64, verbose_name=_("fingerprint"))
    status = models.PositiveSmallIntegerField(verbose_name=_("status"))
    # JSON text, not a JSONField: PostgreSQL's jsonb refuses \u0000, text keeps it escaped.
    body = models.TextField(verbose_name=_("body"))
    headers = models.TextField(default="{}", verbose_name=_("headers"))
    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created")
    )

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="core_idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
