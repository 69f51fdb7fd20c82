"""Delivering the outbox. Rows are written by services inside the transition's transaction;
this module only sends what was committed.

Backends, one per channel: `NOTIFICATION_BACKEND` sends SMS rows (console by default,
`workflows.solapi.SolapiBackend` for SOLAPI), `NOTIFICATION_EMAIL_BACKEND` sends e-mail rows
(`EmailBackend`, through Django's `EMAIL_BACKEND`: SMTP when `EMAIL_HOST` is set). A backend
returns a `DeliveryResult` carrying the provider's id for the message, or raises `DeliveryError`.

Never twice. A row is claimed with a compare-and-swap UPDATE (pending -> sending, attempts + 1)
so two workers, a web process and `deliver_notifications`, or two Celery tasks never send the
same row at once. A row left in `sending` (its worker died between the claim and the answer) may
or may not have reached the customer: after `NOTIFICATION_STALE_CLAIM` seconds it is marked
failed with "interrupted: may or may not have been sent", never resent by the machine. Staff
check (the e-mail's Message-ID or the SMS provider's log) and send it again with `requeue`
(the admin's "Send again" action) if it did not arrive.

Retries. A failed attempt puts the row back to pending with `next_attempt_at` = now +
`NOTIFICATION_RETRY_BASE` * 2**(attempts - 1) seconds (at most `NOTIFICATION_RETRY_CAP`); only
rows that are due are claimed. After `NOTIFICATION_MAX_ATTEMPTS` attempts the row is failed and
keeps its last error. A permanent `DeliveryError` (the provider refused the request as invalid:
a malformed number, a bad key) fails the row at once, since sending it again cannot succeed.
An SMTP server refusing the recipient is temporary: mail servers answer 550 for a full mailbox or
a greylisted sender as well as for an unknown one, so it goes through the retries.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import logging
import smtplib
import sys
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from workflows.choices import NotificationChannel, NotificationStatus
from workflows.models import Notification

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted: may or may not have been sent; check before sending it again"


@dataclasses.dataclass(frozen=True)
class DeliveryResult:
    """What the provider answered when it accepted the message."""

    provider_message_id: str = ""


class DeliveryError(Exception):
    """The provider did not take the message. `permanent`: retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class BaseBackend(abc.ABC):
    """Send one message; return its provider id. Raise `DeliveryError` (or anything: it counts
    as temporary) to report failure; the row is retried up to the attempt limit."""

    @abc.abstractmethod
    def send(self, notification: Notification) -> DeliveryResult | None: ...


class ConsoleBackend(BaseBackend):
    """Prints messages to stdout, like Django's console email backend."""

    def send(self, notification: Notification) -> DeliveryResult:
        subject = f" {notification.subject}:" if notification.subject else ""
        sys.stdout.write(
            f"[{notification.channel} to {notification.recipient}]{subject} {notification.body}\n"
        )
        sys.stdout.flush()
        return DeliveryResult()


class LocmemBackend(BaseBackend):
    """Keeps sent messages of either channel in `LocmemBackend.outbox`, for tests."""

    outbox: list[Notification] = []

    def send(self, notification: Notification) -> DeliveryResult:
        LocmemBackend.outbox.append(notification)
        return DeliveryResult(f"locmem-{notification.pk}")


def message_id(notification: Notification) -> str:
    """The row's e-mail Message-ID: the same on every attempt, so a copy that did arrive
    twice is recognisable (and mail clients fold it into one)."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<notification-{notification.pk}.{notification.created_at:%Y%m%d%H%M%S}@{domain}>"


class EmailBackend(BaseBackend):
    """Plain-text e-mail (subject and body) through Django's EMAIL_BACKEND."""

    def send(self, notification: Notification) -> DeliveryResult:
        try:
            validate_email(notification.recipient)
        except ValidationError:
            raise DeliveryError("invalid e-mail address", permanent=True) from None
        msgid = message_id(notification)
        email = EmailMessage(
            subject=notification.subject,
            body=notification.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notification.recipient],
            headers={"Message-ID": msgid},
        )
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = "; ".join(f"{code} {_text(reply)}" for code, reply in exc.recipients.values())
            raise DeliveryError(f"recipient refused: {refused}") from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP unavailable: {exc}") from exc
        return DeliveryResult(msgid)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


_backends: dict[str, BaseBackend] = {}


def get_backend(channel: str = NotificationChannel.SMS) -> BaseBackend:
    """The backend for a channel, one instance per configured class and process."""
    path = (
        settings.NOTIFICATION_EMAIL_BACKEND
        if channel == NotificationChannel.EMAIL
        else settings.NOTIFICATION_BACKEND
    )
    if path not in _backends:
        _backends[path] = import_string(path)()
    return _backends[path]


def _due(now: dt.datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def claim(notification_id: int) -> bool:
    """Compare-and-swap: only one caller turns a pending, due row into sending."""
    now = timezone.now()
    pending = Notification.objects.filter(
        _due(now), pk=notification_id, status=NotificationStatus.PENDING
    )
    return (
        pending.update(
            status=NotificationStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
        == 1
    )


def retry_delay(attempts: int) -> dt.timedelta:
    """How long a row waits after its `attempts`-th failed attempt."""
    seconds = settings.NOTIFICATION_RETRY_BASE * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.NOTIFICATION_RETRY_CAP))


def _error_text(exc: Exception) -> str:
    text = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
    # Provider answers end up here verbatim; PostgreSQL refuses NUL in text columns.
    return text.replace("\x00", "")[:500]


def _record_failure(notification: Notification, exc: Exception) -> None:
    permanent = isinstance(exc, DeliveryError) and exc.permanent
    exhausted = permanent or notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
    log.warning(
        "notification %s attempt %s failed%s: %s",
        notification.pk,
        notification.attempts,
        " for good" if exhausted else "",
        exc,
    )
    Notification.objects.filter(pk=notification.pk).update(
        status=NotificationStatus.FAILED if exhausted else NotificationStatus.PENDING,
        last_error=_error_text(exc),
        next_attempt_at=None if exhausted else timezone.now() + retry_delay(notification.attempts),
    )


def deliver_one(notification_id: int) -> bool:
    """Send one row if it is pending and due; True when the provider took it. Three queries:
    the claim, the read, the outcome. Never raises for a backend failure (it is recorded)."""
    if not claim(notification_id):
        return False
    notification = Notification.objects.get(pk=notification_id)
    try:
        result = get_backend(notification.channel).send(notification)
    except Exception as exc:  # a backend failure must never lose the row
        _record_failure(notification, exc)
        return False
    provider_id = result.provider_message_id if result else ""
    Notification.objects.filter(pk=notification_id).update(
        status=NotificationStatus.SENT,
        sent_at=timezone.now(),
        next_attempt_at=None,
        provider_message_id=provider_id.replace("\x00", "")[:200],
    )
    return True


def deliver(notification_ids: Iterable[int]) -> int:
    """Send the given rows that are still pending and due. Returns how many were sent."""
    return sum(deliver_one(pk) for pk in notification_ids)


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


def fail_interrupted() -> int:
    """Rows whose worker died mid-send become failed, for staff to check (see the docstring)."""
    stale = timezone.now() - dt.timedelta(seconds=settings.NOTIFICATION_STALE_CLAIM)
    return Notification.objects.filter(
        status=NotificationStatus.SENDING, claimed_at__lt=stale
    ).update(status=NotificationStatus.FAILED, last_error=INTERRUPTED, next_attempt_at=None)


def deliver_pending(limit: int = 500) -> int:
    """Send what is pending and due, oldest first, after failing what a crashed worker left
    in `sending`. Two queries, then three per row."""
    fail_interrupted()
    ids = list(
        Notification.objects.filter(_due(timezone.now()), status=NotificationStatus.PENDING)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    return deliver(ids)


def requeue(notification_ids: Iterable[int]) -> int:
    """Staff decided failed rows should go out again: pending, due now, attempts from zero.
    Only failed rows move; returns how many."""
    return Notification.objects.filter(
        pk__in=list(notification_ids), status=NotificationStatus.FAILED
    ).update(status=NotificationStatus.PENDING, attempts=0, next_attempt_at=None)
