"""Races through the API on PostgreSQL (SQLite ignores select_for_update: a pass there proves
nothing). Real threads, each with its own connection and its own HTTP client."""

from __future__ import annotations

import pytest

from tests.concurrency_support import race_each, results
from tests.conftest import requires_postgres
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import client_for, transition
from workflows import services as s
from workflows.models import Notification

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_ten_simultaneous_ready_for_pickup_calls_give_one_200_and_one_notification(
    make_repair, desk, tech, in_warranty, diagnose
):
    repair = make_repair(serial_number=in_warranty.serial_number)
    diagnose(repair, "ok")
    s.repair_start(repair=repair, actor=tech)
    s.repair_complete(repair=repair, actor=tech)
    clients = [client_for(desk if n % 2 else tech) for n in range(10)]

    statuses = results(
        race_each(
            10,
            lambda n: (
                transition(clients[n], repair.ticket_number, "notify_ready_for_pickup").status_code
            ),
        )
    )
    assert sorted(statuses) == [200] + [409] * 9
    assert Notification.objects.filter(repair=repair, kind="ready_for_pickup").count() == 1
    repair.refresh_from_db()
    assert repair.state == "ready_for_pickup"


def test_the_same_idempotency_key_sent_ten_times_at_once_acts_once(
    make_repair, desk, tech, in_warranty
):
    repair = make_repair(serial_number=in_warranty.serial_number)
    client = client_for(desk)
    statuses = results(
        race_each(
            10,
            lambda n: (
                client.post(
                    f"/api/v1/repairs/{repair.ticket_number}/calls/",
                    {"text": "called"},
                    format="json",
                    HTTP_IDEMPOTENCY_KEY="call-once",
                ).status_code
            ),
        )
    )
    assert set(statuses) <= {201, 409} and 201 in statuses
    assert repair.events.filter(kind="call").count() == 1
