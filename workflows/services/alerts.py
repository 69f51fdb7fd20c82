"""Overdue-promise alerts: each open promise past its due time gets one e-mail to the staff
member who made it, through the outbox (so it is delivered like every other message: after
commit, by a Celery worker when there is a broker, retried, never twice).

Run by beat every 15 minutes (`workflows.tasks.alert_overdue_promises`) or by the management
command of the same name. Two runs at once are safe: the idempotency key `overdue:<promise>` is
unique, the insert ignores conflicts, and only the rows this run inserted are counted.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone, translation

from core.roles import staff_name
from workflows import messages, notify
from workflows.choices import NotificationChannel, NotificationKind
from workflows.models import MessageTemplate, Notification, Promise
from workflows.services.core import local_slot

log = logging.getLogger(__name__)
KEY_PREFIX = "overdue:"


def alert_overdue_promises(now: dt.datetime | None = None) -> int:
    """Queue one alert per overdue open promise not alerted yet; returns how many this run
    queued. Four queries whatever the number of promises (the overdue ones with their repair,
    center and maker; the centers' own wording; one insert; the ids inserted), then delivery
    after commit."""
    now = now or timezone.now()
    promises = _overdue_unalerted(now)
    if not promises:
        return 0
    templates = _center_templates({p.repair.center_id for p in promises})
    alerts = [a for p in promises if (a := _alert(p, now, templates))]
    if not alerts:
        return 0
    with transaction.atomic():
        Notification.objects.bulk_create(alerts, ignore_conflicts=True)
        # With ignore_conflicts no ids come back; a row another run inserted first has its own
        # created_at, so this run's rows are the ones stamped with `now`.
        ids = list(
            Notification.objects.filter(
                idempotency_key__in=[a.idempotency_key for a in alerts], created_at=now
            ).values_list("pk", flat=True)
        )
        notify.deliver_on_commit(ids)
    return len(ids)


def _overdue_unalerted(now: dt.datetime) -> list[Promise]:
    key = Concat(Value(KEY_PREFIX), Cast(OuterRef("pk"), CharField()))
    return list(
        Promise.objects.open()
        .filter(due_at__lt=now)
        .exclude(Exists(Notification.objects.filter(idempotency_key=key)))
        .select_related("repair__center", "made_by__staff_profile")
        .order_by("due_at", "pk")
    )


def _center_templates(center_ids: set[int]) -> dict[tuple[int, str], MessageTemplate]:
    """The centers' own wording of the alert, by (center, language): one query for all."""
    rows = MessageTemplate.objects.filter(
        center_id__in=center_ids, kind=NotificationKind.OVERDUE_PROMISE
    )
    return {(t.center_id, t.language): t for t in rows}


def _alert(
    promise: Promise, now: dt.datetime, templates: dict[tuple[int, str], MessageTemplate]
) -> Notification | None:
    user = promise.made_by
    if user is None or not user.is_active or not user.email:
        log.info(
            "overdue promise %s of %s: no alert, %s",
            promise.pk,
            promise.repair.ticket_number,
            "its maker has no e-mail address" if user else "nobody made it",
        )
        return None
    language = _staff_language(user)
    with translation.override(language):
        context = {
            "center": promise.repair.center.name,
            "ticket": promise.repair.ticket_number,
            "promise": str(promise.get_kind_display()),
            "due": local_slot(promise.due_at),
            "staff": staff_name(user),
            "link": settings.SITE_URL + reverse("desk-repair", args=[promise.repair.ticket_number]),
        }
        custom = templates.get((promise.repair.center_id, language))
        rendered = messages.render_with(custom, NotificationKind.OVERDUE_PROMISE, language, context)
        subject, body = rendered.subject, rendered.body
    return Notification(
        repair=promise.repair,
        kind=NotificationKind.OVERDUE_PROMISE,
        channel=NotificationChannel.EMAIL,
        recipient=user.email,
        recipient_user=user,
        language=language,
        subject=subject[:200],
        body=body[:2000],
        idempotency_key=f"{KEY_PREFIX}{promise.pk}",
        created_at=now,
    )


def _staff_language(user) -> str:
    # Staff have no language of their own yet (nor centers a default): the site's.
    return settings.LANGUAGE_CODE
