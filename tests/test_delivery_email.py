"""E-mail rows go out through Django's SMTP backend to a real SMTP server started by the test
(aiosmtpd on 127.0.0.1): subject and body arrive as written, Korean included, the row records
its Message-ID; a refused recipient is retried with growing back-off, then failed."""

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller

from tests.delivery_support import *  # noqa: F403 - the clock and queued fixtures
from workflows import notify
from workflows.choices import NotificationChannel, NotificationStatus

EMAIL = NotificationChannel.EMAIL


class Mailbox:
    """An SMTP server's handler: keeps what it accepted; refuses the first `refuse` RCPTs."""

    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []
        self.envelopes = []
        self.rcpt_seen = 0
        self.refuse = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_seen += 1
        if self.refuse:
            self.refuse -= 1
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.received.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free local port, and the settings that send to it."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.NOTIFICATION_EMAIL_BACKEND = "workflows.notify.EmailBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "강남 서비스센터 <gangnam@repair.example>"
    yield mailbox
    controller.stop()


def test_an_email_row_arrives_at_the_smtp_server_with_its_subject_and_korean_body(
    smtp, queued, django_assert_num_queries
):
    row = queued(
        EMAIL,
        recipient="minji@example.com",
        subject="수리 완료: GN-0001 찾아가세요",
        body="김민지 고객님, 헤드셋 수리가 끝났습니다.\n영업시간 10:00–18:00에 방문해 주세요.",
    )

    with django_assert_num_queries(3):  # the claim, the read, the outcome
        assert notify.deliver_one(row.pk) is True

    [message] = smtp.received
    assert message["Subject"] == "수리 완료: GN-0001 찾아가세요"
    assert message["To"] == "minji@example.com"
    assert message["From"] == "강남 서비스센터 <gangnam@repair.example>"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().replace("\r\n", "\n").rstrip("\n") == (  # SMTP sends CRLF
        "김민지 고객님, 헤드셋 수리가 끝났습니다.\n영업시간 10:00–18:00에 방문해 주세요."
    )
    assert smtp.envelopes[0].rcpt_tos == ["minji@example.com"]
    row.refresh_from_db()
    assert row.status == NotificationStatus.SENT
    assert row.sent_at is not None
    assert row.attempts == 1
    assert row.provider_message_id == message["Message-ID"]
    assert row.provider_message_id == notify.message_id(row)
    assert row.provider_message_id.startswith(f"<notification-{row.pk}.")


def test_delivering_the_same_email_row_twice_sends_one_message(smtp, queued):
    row = queued(EMAIL, subject="접수", body="접수되었습니다.")

    assert (notify.deliver([row.pk]), notify.deliver([row.pk]), notify.deliver_pending()) == (
        1,
        0,
        0,
    )
    assert len(smtp.received) == 1


def test_a_refused_recipient_is_retried_with_growing_back_off_then_failed(
    smtp, queued, clock, settings
):
    smtp.refuse = 100
    row = queued(EMAIL, recipient="nobody@example.com", subject="접수", body="접수되었습니다.")
    waits = []

    for attempt in range(1, settings.NOTIFICATION_MAX_ATTEMPTS):
        assert notify.deliver_pending() == 0
        row.refresh_from_db()
        assert (row.status, row.attempts) == (NotificationStatus.PENDING, attempt)
        assert "recipient refused: 550" in row.last_error
        assert "User unknown" in row.last_error
        waits.append((row.next_attempt_at - clock.now).total_seconds())
        assert notify.deliver_pending() == 0  # not due yet: nothing is tried early
        assert smtp.rcpt_seen == attempt
        clock.advance(waits[-1])

    assert waits == [60, 120, 240, 480]
    assert notify.deliver_pending() == 0
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.FAILED, 5)
    assert "recipient refused: 550" in row.last_error
    assert row.next_attempt_at is None
    assert row.sent_at is None and row.provider_message_id == ""

    clock.advance(86400)
    assert notify.deliver_pending() == 0  # failed stays failed
    assert smtp.rcpt_seen == 5
    assert smtp.received == []


def test_a_recipient_refused_once_is_delivered_on_the_retry_with_the_rows_message_id(
    smtp, queued, clock
):
    smtp.refuse = 1
    row = queued(EMAIL, subject="접수", body="접수되었습니다.")

    assert notify.deliver_pending() == 0
    clock.advance(60)
    assert notify.deliver_pending() == 1

    [message] = smtp.received
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 2)
    assert "recipient refused: 550" in row.last_error  # kept: what the first attempt met
    assert row.next_attempt_at is None
    assert message["Message-ID"] == row.provider_message_id == notify.message_id(row)


def test_the_back_off_is_capped(settings):
    settings.NOTIFICATION_RETRY_BASE = 60
    settings.NOTIFICATION_RETRY_CAP = 600

    assert [notify.retry_delay(n).total_seconds() for n in range(1, 7)] == [
        60,
        120,
        240,
        480,
        600,
        600,
    ]


def test_an_smtp_server_that_is_down_leaves_the_row_pending_for_a_retry(settings, queued, clock):
    settings.NOTIFICATION_EMAIL_BACKEND = "workflows.notify.EmailBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    row = queued(EMAIL)

    assert notify.deliver_one(row.pk) is False

    row.refresh_from_db()
    assert row.status == NotificationStatus.PENDING
    assert row.last_error.startswith("SMTP unavailable")
    assert (row.next_attempt_at - clock.now).total_seconds() == 60


@pytest.mark.parametrize("address", ["김민지 at example.com", "a@b.com\nBcc: x@evil.example", ""])
def test_an_invalid_address_fails_at_once_without_talking_to_the_server(smtp, queued, address):
    row = queued(EMAIL, recipient="placeholder@example.com")
    type(row).objects.filter(pk=row.pk).update(recipient=address)

    assert notify.deliver_one(row.pk) is False

    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (
        NotificationStatus.FAILED,
        1,
        "invalid e-mail address",
    )
    assert smtp.rcpt_seen == 0


def test_email_and_sms_rows_go_to_their_own_backends(settings, queued, outbox, smtp):
    settings.NOTIFICATION_BACKEND = "workflows.notify.LocmemBackend"
    sms, mail = queued(), queued(EMAIL, subject="접수")

    assert notify.deliver([sms.pk, mail.pk]) == 2

    assert [n.pk for n in outbox] == [sms.pk]
    assert len(smtp.received) == 1
    sms.refresh_from_db()
    assert sms.provider_message_id == f"locmem-{sms.pk}"


def test_a_message_the_manager_edits_arrives_by_e_mail_as_edited(
    smtp, settings, manager, center, make_repair, django_capture_on_commit_callbacks
):
    """The issue's end to end: the manager words the RECEIVED message on /manager/messages/, a
    repair is phoned in for a customer with an e-mail address, and the SMTP server receives
    exactly that wording (and the SMS row has it too)."""
    from django.test import Client

    from workflows.models import Notification
    from workflows.services.core import status_link

    settings.NOTIFICATION_BACKEND = "workflows.notify.LocmemBackend"  # the SMS row
    client = Client()
    client.force_login(manager)
    edited = {
        "subject": "[{center}] {ticket} 접수 확인",
        "body": "{customer}님, 맡기신 기기를 잘 받았습니다. 진행 상황: {link}",
        "action": "save",
    }
    assert client.post("/manager/messages/received/ko/", edited).status_code == 302

    with django_capture_on_commit_callbacks(execute=True):
        repair = make_repair(
            customer={"name": "김민지", "phone": "010-2345-6789", "email": "minji@example.com"},
            intake_channel="phone",
            device_in_shop=False,
        )
    rows = {n.channel: n for n in Notification.objects.filter(repair=repair)}
    assert set(rows) == {"sms", "email"}
    assert rows["email"].status == NotificationStatus.SENT  # delivered after commit
    (received,) = smtp.received
    assert received["To"] == "minji@example.com"
    # A long Korean subject is folded onto encoded words ("Subject:" CRLF SP "=?utf-8?b?..."),
    # which unfolds with the folding space in front; mail readers drop it.
    assert received["Subject"].lstrip() == f"[{center.name}] {repair.ticket_number} 접수 확인"
    body = received.get_content().strip()
    assert body == f"김민지님, 맡기신 기기를 잘 받았습니다. 진행 상황: {status_link(repair)}"
    assert rows["sms"].body == body and rows["email"].body == body
