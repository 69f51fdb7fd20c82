"""Where a committed message goes: with no broker, to the backend in this process right after
commit; with CELERY_BROKER_URL, onto the broker as one task per row; with a broker that is down,
nowhere yet (the request still succeeds and resend_stuck sends the row later). A rolled-back
transaction sends and enqueues nothing. The real worker is in test_celery_worker_pg.py.
"""

import base64
import json
import logging
import uuid

import pytest
from django.db import transaction

from tests.celery_support import BROKER_URL, UNREACHABLE_BROKER, broker_or_skip, drop_queue
from tests.test_api_support import (
    INTAKE,
    desk_api,  # noqa: F401 - fixture
    post,
)
from workflows import notify, tasks
from workflows.choices import NotificationKind, NotificationStatus
from workflows.models import Notification

# A phoned-in repair is told its ticket by message (RECEIVED); a walk-in gets the paper ticket.
PHONED_IN = {"intake_channel": "phone", "device_in_shop": False}


class Boom(Exception):
    pass


@pytest.fixture
def enqueued(monkeypatch):
    """The id lists handed to the broker (the real enqueue still runs)."""
    calls = []
    real = notify._enqueue
    monkeypatch.setattr(notify, "_enqueue", lambda ids: (calls.append(ids), real(ids)))
    return calls


def test_without_a_broker_the_message_is_sent_in_process_right_after_commit(
    make_repair, outbox, settings, enqueued, django_capture_on_commit_callbacks
):
    settings.CELERY_BROKER_URL = ""
    with django_capture_on_commit_callbacks(execute=True):
        repair = make_repair(**PHONED_IN)
        assert outbox == []  # not before the commit
    row = Notification.objects.get(repair=repair)
    assert [n.pk for n in outbox] == [row.pk]
    assert (row.kind, row.status) == (NotificationKind.RECEIVED, NotificationStatus.SENT)
    assert enqueued == []


@pytest.mark.parametrize("broker", ["", UNREACHABLE_BROKER])
def test_a_rolled_back_transaction_sends_and_enqueues_nothing(
    broker, make_repair, outbox, settings, enqueued, django_capture_on_commit_callbacks
):
    settings.CELERY_BROKER_URL = broker
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Boom), transaction.atomic():
            make_repair(**PHONED_IN)
            raise Boom
    assert callbacks == []
    assert (outbox, enqueued, Notification.objects.count()) == ([], [], 0)


def test_with_the_broker_down_the_request_succeeds_and_resend_stuck_sends_the_row_later(
    desk_api,  # noqa: F811
    headset,
    outbox,
    settings,
    enqueued,
    caplog,
    django_capture_on_commit_callbacks,
):
    settings.CELERY_BROKER_URL = UNREACHABLE_BROKER
    with caplog.at_level(logging.ERROR, logger="workflows.notify"):
        with django_capture_on_commit_callbacks(execute=True):
            response = post(desk_api, "/repairs/", {**INTAKE, **PHONED_IN})
    assert response.status_code == 201, response.content
    row = Notification.objects.get(repair__ticket_number=response.json()["ticket_number"])
    assert enqueued == [[row.pk]]
    assert (row.status, row.attempts, outbox) == (NotificationStatus.PENDING, 0, [])
    assert "resend_stuck will send them" in caplog.text

    assert tasks.resend_stuck() == 1  # what beat runs every minute (the worker runs it)
    row.refresh_from_db()
    assert row.status == NotificationStatus.SENT
    assert [n.pk for n in outbox] == [row.pk]
    assert tasks.resend_stuck() == 0


def test_with_a_broker_a_commit_puts_one_delivery_task_per_row_on_the_queue(
    make_repair, outbox, settings, django_capture_on_commit_callbacks
):
    redis = broker_or_skip()
    queue = f"dispatch-{uuid.uuid4().hex[:8]}"
    settings.CELERY_BROKER_URL, settings.CELERY_TASK_DEFAULT_QUEUE = BROKER_URL, queue
    with django_capture_on_commit_callbacks(execute=True):
        repair = make_repair(**PHONED_IN)
        assert redis.llen(queue) == 0  # not before the commit
    row = Notification.objects.get(repair=repair)
    messages = [json.loads(m) for m in redis.lrange(queue, 0, -1)]
    assert [m["headers"]["task"] for m in messages] == ["workflows.tasks.deliver_notification"]
    args, kwargs, _ = json.loads(base64.b64decode(messages[0]["body"]))
    assert (args, kwargs) == ([row.pk], {})
    assert (row.status, outbox) == (NotificationStatus.PENDING, [])  # a worker's job now
    drop_queue(redis, queue)


def test_the_delivery_task_run_twice_sends_the_row_once(make_repair, outbox, settings):
    settings.CELERY_BROKER_URL = UNREACHABLE_BROKER  # the commit enqueues nothing that works
    # Under `db` the on_commit callbacks never run: the row waits, as after a lost enqueue.
    row = Notification.objects.get(repair=make_repair(**PHONED_IN))
    assert tasks.deliver_notification(row.pk) == 1
    assert tasks.deliver_notification(row.pk) == 0
    assert [n.pk for n in outbox] == [row.pk]
