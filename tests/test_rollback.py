"""The outbox: written with the transition, delivered only after commit, claimed once, retried."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from core.errors import TransitionBlocked
from tests.conftest import stock
from tests.delivery_support import *  # noqa: F403 - the clock fixture
from workflows import notify
from workflows import services as s
from workflows.choices import NotificationStatus, State
from workflows.models import Notification, Repair


class Boom(Exception):
    pass


class FailingBackend(notify.BaseBackend):
    """An SMS gateway that is down."""

    calls = 0

    def send(self, notification):
        FailingBackend.calls += 1
        raise ConnectionError("gateway unreachable")


@pytest.fixture
def repaired(make_repair, desk, tech, center, battery, in_warranty, diagnose):
    stock(center, battery, 2)
    repair = make_repair(serial_number=in_warranty.serial_number)
    diagnose(repair, "배터리", parts=[{"part_number": "HBS-BATT"}])
    s.repair_start(repair=repair, actor=tech)
    return s.repair_complete(repair=repair, actor=tech, work_notes="교체")


@pytest.fixture
def pending(make_repair):
    """One pending outbox row: the "received" message of a phoned-in repair (never delivered,
    since the test's transaction never commits)."""
    repair = make_repair(intake_channel="phone", device_in_shop=False)
    return Notification.objects.get(repair=repair)


def test_a_rolled_back_transition_leaves_no_notification_and_delivers_nothing(
    repaired, desk, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Boom):
            with transaction.atomic():
                s.repair_notify_ready_for_pickup(repair=repaired, actor=desk)
                assert Notification.objects.filter(kind="ready_for_pickup").count() == 1
                raise Boom("the request failed after the row was written")

    assert callbacks == []
    assert outbox == []
    assert not Notification.objects.filter(kind="ready_for_pickup").exists()
    assert Repair.objects.get(pk=repaired.pk).state == State.REPAIRED


def test_a_committed_transition_delivers_its_message_once_after_commit(
    repaired, desk, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        s.repair_notify_ready_for_pickup(repair=repaired, actor=desk)
        assert outbox == []  # nothing leaves before the commit

    for callback in callbacks:
        callback()
    notification = Notification.objects.get(kind="ready_for_pickup")
    assert outbox == [notification]
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 1
    assert notify.deliver_pending() == 0


def test_pressing_ready_for_pickup_twice_leaves_one_notification(repaired, desk, tech):
    s.repair_notify_ready_for_pickup(repair=repaired, actor=desk)
    with pytest.raises(TransitionBlocked):
        s.repair_notify_ready_for_pickup(repair=repaired, actor=tech)

    assert Notification.objects.filter(repair=repaired, kind="ready_for_pickup").count() == 1


def test_claiming_a_notification_is_a_compare_and_swap(pending):
    assert notify.claim(pending.pk) is True
    assert notify.claim(pending.pk) is False

    pending.refresh_from_db()
    assert pending.status == NotificationStatus.SENDING
    assert pending.attempts == 1


def test_two_deliveries_of_the_same_row_send_it_once(pending, outbox):
    first = notify.deliver([pending.pk])
    second = notify.deliver([pending.pk])

    assert (first, second) == (1, 0)
    assert [n.pk for n in outbox] == [pending.pk]
    pending.refresh_from_db()
    assert pending.status == NotificationStatus.SENT
    assert pending.sent_at is not None


def test_deliver_notifications_sends_what_a_crash_left_pending(pending, outbox):
    out = io.StringIO()

    call_command("deliver_notifications", stdout=out)
    call_command("deliver_notifications", stdout=out)

    assert [n.pk for n in outbox] == [pending.pk]
    assert out.getvalue().split() == ["sent", "1", "sent", "0"]


def test_a_failing_backend_leaves_the_row_pending_then_failed_after_the_last_attempt(
    pending, settings, outbox, clock
):
    settings.NOTIFICATION_BACKEND = "tests.test_rollback.FailingBackend"
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    FailingBackend.calls = 0

    for attempt in (1, 2):
        assert notify.deliver_pending() == 0
        pending.refresh_from_db()
        assert (pending.status, pending.attempts) == (NotificationStatus.PENDING, attempt)
        assert "gateway unreachable" in pending.last_error
        assert notify.deliver_pending() == 0  # not due yet: it waits out its back-off
        clock.advance(3600)

    assert notify.deliver_pending() == 0
    pending.refresh_from_db()
    assert (pending.status, pending.attempts) == (NotificationStatus.FAILED, 3)

    settings.NOTIFICATION_BACKEND = "workflows.notify.LocmemBackend"
    assert notify.deliver_pending() == 0
    assert FailingBackend.calls == 3
    assert outbox == []


def test_a_backend_failure_right_after_commit_is_retried_by_the_worker(
    repaired, desk, settings, outbox, django_capture_on_commit_callbacks, clock
):
    settings.NOTIFICATION_BACKEND = "tests.test_rollback.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        s.repair_notify_ready_for_pickup(repair=repaired, actor=desk)
    notification = Notification.objects.get(kind="ready_for_pickup")
    assert notification.status == NotificationStatus.PENDING

    settings.NOTIFICATION_BACKEND = "workflows.notify.LocmemBackend"
    clock.advance(settings.NOTIFICATION_RETRY_BASE)
    assert notify.deliver_pending() == 1
    assert outbox == [notification]


def test_a_stale_claim_is_failed_for_staff_to_check_and_a_fresh_one_is_left_to_its_worker(
    pending, outbox
):
    assert notify.claim(pending.pk)
    assert notify.deliver_pending() == 0  # another worker is sending it right now
    pending.refresh_from_db()
    assert pending.status == NotificationStatus.SENDING

    # That worker died mid-send: the customer may have the message already, so it is not
    # resent by the machine; staff check and send it again.
    Notification.objects.filter(pk=pending.pk).update(
        claimed_at=timezone.now() - dt.timedelta(minutes=11)
    )
    assert notify.deliver_pending() == 0
    pending.refresh_from_db()
    assert pending.status == NotificationStatus.FAILED
    assert pending.last_error.startswith("interrupted: may or may not have been sent")
    assert outbox == []

    assert notify.requeue([pending.pk]) == 1
    assert notify.deliver_pending() == 1
    assert [n.pk for n in outbox] == [pending.pk]


@pytest.mark.django_db(transaction=True)
def test_with_real_commits_a_rollback_sends_nothing_and_a_commit_sends_once(
    make_repair, desk, tech, center, battery, in_warranty, outbox, diagnose
):
    stock(center, battery, 2)
    repair = make_repair(serial_number=in_warranty.serial_number)
    diagnose(repair, "배터리", parts=[{"part_number": "HBS-BATT"}])
    s.repair_start(repair=repair, actor=tech)
    s.repair_complete(repair=repair, actor=tech, work_notes="교체")
    assert outbox == []  # a walk-in warranty repair has had nothing to tell so far

    with pytest.raises(Boom):
        with transaction.atomic():
            s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
            raise Boom
    assert outbox == []
    assert not Notification.objects.exists()

    s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
    assert [n.kind for n in outbox] == ["ready_for_pickup"]
    assert Notification.objects.get().status == NotificationStatus.SENT
