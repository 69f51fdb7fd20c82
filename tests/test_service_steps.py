"""The steps every repair service takes: the lock needs a transaction, texts follow the repair."""

import pytest
from django.utils import translation

from workflows import services as s
from workflows.choices import EventKind, NotificationKind
from workflows.models import Notification, RepairEvent


@pytest.mark.django_db(transaction=True)
def test_locking_a_repair_outside_a_transaction_fails_loudly(make_repair):
    repair = make_repair()

    with pytest.raises(RuntimeError, match="transaction"):
        s.lock_repair(repair.pk)


@pytest.mark.django_db(transaction=True)
def test_a_service_brings_its_own_transaction_for_the_lock(make_repair, desk, tech):
    repair = make_repair()

    assert s.repair_assign(repair=repair, actor=desk, technician=tech).technician == tech


def _last_transition_text(repair) -> str:
    """The row stores a code (no prose); the customer's timeline renders it in their language."""
    event = RepairEvent.objects.filter(repair=repair, kind=EventKind.TRANSITION).last()
    assert event.text_code == "device_received" and event.text == ""
    with translation.override(repair.language):
        return event.display_text


def test_an_english_repair_gets_english_timeline_and_messages_from_a_korean_desk(make_repair, desk):
    with translation.override("ko"):
        repair = make_repair(language="en", intake_channel="phone", device_in_shop=False)
        s.repair_check_in_device(repair=repair, actor=desk)

    assert _last_transition_text(repair) == "Device received at the counter."
    body = Notification.objects.get(repair=repair, kind=NotificationKind.RECEIVED).body
    assert "received. Follow your repair" in body


def test_a_korean_repair_gets_korean_timeline_from_an_english_desk(make_repair, desk):
    with translation.override("en"):
        repair = make_repair(language="ko", device_in_shop=False)
        s.repair_check_in_device(repair=repair, actor=desk)

    assert _last_transition_text(repair) == "창구에서 기기를 받았습니다."
