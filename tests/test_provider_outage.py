"""A provider that is down, then up again: the SMTP server (aiosmtpd on 127.0.0.1) is stopped
and started by the test. The message stays pending with the error, waits out its back-off, shows
as not delivered on the desk's call list so someone phones instead, and is sent exactly once
when the server is back."""

from __future__ import annotations

import re

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from tests.delivery_support import *  # noqa: F403 - the clock and queued fixtures
from tests.test_delivery_email import Mailbox, free_port
from workflows import notify
from workflows.choices import NotificationChannel, NotificationStatus

pytestmark = pytest.mark.django_db


class SmtpServer:
    """An SMTP server on one port that the test stops and starts."""

    def __init__(self) -> None:
        self.port, self.mailbox, self.controller = free_port(), Mailbox(), None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def server(settings):
    smtp = SmtpServer()
    settings.NOTIFICATION_EMAIL_BACKEND = "workflows.notify.EmailBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", smtp.port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.NOTIFICATION_RETRY_BASE, settings.NOTIFICATION_MAX_ATTEMPTS = 60, 5
    yield smtp
    smtp.stop()


def section(page: str, panel: str) -> str:
    """The text of one panel of the call list (`to-send`, `sent`)."""
    match = re.search(rf'<section class="panel" id="{panel}">(.*?)</section>', page, re.S)
    assert match, f"no {panel} panel"
    return match.group(1)


def call_list(desk, language: str = "en") -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(desk)
    response = client.get("/desk/calls/")
    assert response.status_code == 200
    return response.content.decode()


def test_smtp_down_then_up_sends_the_message_once_after_its_back_off(server, queued, clock, desk):
    server.start()
    server.stop()  # the mail server goes down
    row = queued(NotificationChannel.EMAIL, subject="수리 완료")
    ticket = row.repair.ticket_number

    assert notify.deliver_pending() == 0
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.PENDING, 1)
    assert row.last_error.startswith("SMTP unavailable")
    assert (row.next_attempt_at - clock.now).total_seconds() == 60

    # The desk sees it as not delivered, with the error and when it is tried again.
    waiting = section(call_list(desk), "to-send")
    assert ticket in waiting and "SMTP unavailable" in waiting
    assert "attempt 1 failed, next try" in waiting
    assert "1번째 시도 실패, 다음 시도" in section(call_list(desk, "ko"), "to-send")

    server.start()  # back up: nothing is sent before the back-off is over
    assert notify.deliver_pending() == 0
    assert server.mailbox.received == []

    clock.advance(60)
    assert notify.deliver_pending() == 1
    clock.advance(3600)
    assert notify.deliver_pending() == 0  # and never again

    (received,) = server.mailbox.received
    assert received["Message-ID"] == notify.message_id(row)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 2)
    page = call_list(desk)
    assert ticket not in section(page, "to-send") and ticket in section(page, "sent")


def test_a_message_that_gave_up_stays_on_the_call_list_as_not_delivered(
    server, queued, clock, desk
):
    row = queued(NotificationChannel.EMAIL, subject="수리 완료")  # the server never comes up
    for _ in range(5):
        notify.deliver_pending()
        clock.advance(3600)

    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.FAILED, 5)
    waiting = section(call_list(desk), "to-send")
    assert row.repair.ticket_number in waiting and "Failed" in waiting
    assert "next try" not in waiting  # given up: no retry is promised
