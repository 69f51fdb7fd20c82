"""Delivering the outbox. Rows are written by services inside the transition's transaction;
this module only sends what was committed.

A row is claimed with a compare-and-swap UPDATE (pending -> sending) so two workers, or a web
process and `deliver_notifications`, never send the same row twice.
"""

from __future__ import annotations

import abc
import datetime as dt
import logging
import sys
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from workflows.choices import NotificationStatus
from workflows.models import Notification

log = logging.getLogger(__name__)
STALE_CLAIM = dt.timedelta(minutes=10)


class BaseBackend(abc.ABC):
    """Send one message. Raise to report failure; the row is retried up to the attempt limit."""

    @abc.abstractmethod
    def send(self, notification: Notification) -> None: ...


class ConsoleBackend(BaseBackend):
    """Prints messages to stdout, like Django's console email backend."""

    def send(self, notification: Notification) -> None:
        sys.stdout.write(
            f"[{notification.channel} to {notification.recipient}] {notification.body}\n"
        )
        sys.stdout.flush()


class LocmemBackend(BaseBackend):
    """Keeps sent messages in `LocmemBackend.outbox`, for tests."""

    outbox: list[Notification] = []

    def send(self, notification: Notification) -> None:
        LocmemBackend.outbox.append(notification)


_backend: BaseBackend | None = None
_backend_path = ""


def get_backend() -> BaseBackend:
    global _backend, _backend_path
    if _backend is None or _backend_path != settings.NOTIFICATION_BACKEND:
        _backend_path = settings.NOTIFICATION_BACKEND
        _backend = import_string(_backend_path)()
    return _backend


def claim(notification_id: int) -> bool:
    """Compare-and-swap: only one caller turns a pending row into sending."""
    return (
        Notification.objects.filter(pk=notification_id, status=NotificationStatus.PENDING).update(
            status=NotificationStatus.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1
        )
        == 1
    )


def deliver(notification_ids: Iterable[int]) -> int:
    """Send the given rows if still pending. Returns how many were sent."""
    sent = 0
    for pk in notification_ids:
        if not claim(pk):
            continue
        notification = Notification.objects.get(pk=pk)
        try:
            get_backend().send(notification)
        except Exception as exc:  # a backend failure must never lose the row
            log.warning("notification %s failed: %s", pk, exc)
            exhausted = notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
            Notification.objects.filter(pk=pk).update(
                status=NotificationStatus.FAILED if exhausted else NotificationStatus.PENDING,
                last_error=str(exc)[:500],
            )
            continue
        Notification.objects.filter(pk=pk).update(
            status=NotificationStatus.SENT, sent_at=timezone.now()
        )
        sent += 1
    return sent


def deliver_on_commit(notification_ids: list[int]) -> None:
    """After the transaction commits, hand the rows to delivery: with CELERY_BROKER_URL set, one
    `deliver_notification` task per row on the broker; without one, send them here and now. A
    rolled-back transaction runs neither. Nothing here can fail the request: what is not sent
    stays pending for `resend_stuck` / `deliver_notifications`."""
    if not notification_ids:
        return
    ids = list(notification_ids)
    transaction.on_commit(lambda: _enqueue(ids) if settings.CELERY_BROKER_URL else _send_now(ids))


def _send_now(ids: list[int]) -> None:
    try:
        deliver(ids)
    except Exception:  # the request already succeeded; the worker will retry
        log.exception("delivery after commit failed; deliver_notifications will retry")


def _enqueue(ids: list[int]) -> None:
    from service_center.celery import app
    from workflows.tasks import deliver_notification  # tasks imports this module

    # The URL and queue are read from the settings at each commit (not from a pool made at the
    # first one): one connection per transaction, closed with it.
    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as connection:
            for pk in ids:
                deliver_notification.apply_async(
                    (pk,), connection=connection, queue=settings.CELERY_TASK_DEFAULT_QUEUE
                )
    except Exception as exc:  # broker down: the rows stay pending, the request succeeds
        log.error("could not enqueue notifications %s (%s); resend_stuck will send them", ids, exc)


def deliver_pending(limit: int = 500) -> int:
    """Send what is pending, oldest first; release claims a crashed worker left behind."""
    Notification.objects.filter(
        status=NotificationStatus.SENDING, claimed_at__lt=timezone.now() - STALE_CLAIM
    ).update(status=NotificationStatus.PENDING)
    ids = list(
        Notification.objects.filter(status=NotificationStatus.PENDING)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    return deliver(ids)
