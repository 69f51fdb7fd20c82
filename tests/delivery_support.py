"""Shared by the delivery tests: a clock the test moves, an outbox row of either channel.

(No tests here; the delivery test modules import these fixtures.)
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from workflows.choices import NotificationChannel
from workflows.models import Notification

__all__ = ["Clock", "clock", "queued"]


class Clock:
    """`timezone.now()` stands still until the test moves it: retries come due without
    sleeping."""

    def __init__(self, monkeypatch) -> None:
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, seconds: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def queued(make_repair):
    """Makes outbox rows for one walk-in repair (which has had nothing to tell so far, so the
    rows made here are the only ones in the outbox)."""
    repair = make_repair()
    made = iter(range(1, 1000))

    def make(channel=NotificationChannel.SMS, *, recipient="", subject="", body="") -> Notification:
        email = channel == NotificationChannel.EMAIL
        return Notification.objects.create(
            repair=repair,
            kind="received",
            channel=channel,
            recipient=recipient or ("minji@example.com" if email else "010-2345-6789"),
            language="ko",
            subject=subject,
            body=body or "수리가 접수되었습니다.",
            idempotency_key=f"{repair.pk}:test:{next(made)}",
        )

    return make
