"""Celery tasks (service_center/celery.py finds this module by name). Each one is a thin wrapper
around a service that is also reachable without Celery (a management command), and each is safe
to run twice: the outbox claim, `reminded_at` and the alerts' idempotency keys see to that.
"""

from __future__ import annotations

from celery import shared_task

from core import idempotency
from workflows import notify
from workflows.services import send_appointment_reminders as reminders_service
from workflows.services.alerts import alert_overdue_promises as alerts_service


@shared_task(name="workflows.tasks.deliver_notification")
def deliver_notification(pk: int) -> bool:
    """Send one outbox row. A second delivery of the same message (a redelivery after a lost
    ack, a row also picked up by resend_stuck) finds the row claimed or sent and does nothing."""
    return notify.deliver_one(pk)


@shared_task(name="workflows.tasks.send_appointment_reminders")
def send_appointment_reminders() -> int:
    """Beat, hourly: the day-before reminders (each visit is reminded once)."""
    return reminders_service()


@shared_task(name="workflows.tasks.alert_overdue_promises")
def alert_overdue_promises() -> int:
    """Beat, every 15 minutes: one e-mail per overdue promise to the staff member who made it."""
    return alerts_service()


@shared_task(name="workflows.tasks.resend_stuck")
def resend_stuck() -> int:
    """Beat, every minute: rows whose enqueue after commit was lost (broker down), rows whose
    retry is due, and claims a crashed worker left behind."""
    return notify.deliver_pending()


@shared_task(name="workflows.tasks.prune_idempotency_keys")
def prune_idempotency_keys() -> int:
    """Beat, hourly: delete stored Idempotency-Key answers older than the retention (24 h)."""
    return idempotency.prune()
