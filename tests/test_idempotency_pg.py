"""One Idempotency-Key sent by several requests at once, on PostgreSQL (SQLite serialises every
writer, so a pass there proves nothing): real threads, each with its own connection and client.
Exactly one request acts; the others wait for its answer and replay it, or get 409 with
Retry-After; none gets a 5xx."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from core.models import IdempotencyKey
from tests.concurrency_support import race_each, results
from tests.conftest import requires_postgres
from tests.payments_support import *  # noqa: F403 - the ledger fixtures
from tests.payments_support import assert_ledger_agrees
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import client_for, post
from workflows import services
from workflows.choices import State
from workflows.models import Payment, RepairEvent

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def note(client, ticket, key="same-key"):
    return post(client, f"/repairs/{ticket}/notes/", {"text": "called"}, HTTP_IDEMPOTENCY_KEY=key)


def notes(ticket) -> int:
    return RepairEvent.objects.filter(repair__ticket_number=ticket, kind="note").count()


def _one_acted(answers) -> None:
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {201, 409}, statuses
    winners = [a for a in answers if a.status_code == 201]
    assert len([a for a in winners if "Idempotent-Replayed" not in a]) == 1
    assert len({a.content for a in winners}) == 1  # the replays are the first answer
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.json()["code"] == "conflict" and refused["Retry-After"]


def test_ten_notes_with_one_key_at_once_write_one_note(make_repair, desk):
    ticket = make_repair().ticket_number
    clients = [client_for(desk) for _ in range(10)]
    answers = results(race_each(10, lambda n: note(clients[n], ticket)))
    _one_acted(answers)
    assert notes(ticket) == 1 and IdempotencyKey.objects.count() == 1


def test_ten_payments_with_one_key_at_once_take_one_payment(walk, desk):
    repair = walk(State.READY_TO_REPAIR)
    clients = [client_for(desk) for _ in range(10)]
    body = {"amount": 1000, "method": "cash"}
    answers = results(
        race_each(
            10,
            lambda n: post(
                clients[n],
                f"/repairs/{repair.ticket_number}/payments/",
                body,
                HTTP_IDEMPOTENCY_KEY="pay-once",
            ),
        )
    )
    _one_acted(answers)
    assert Payment.objects.filter(repair=repair).count() == 1
    assert assert_ledger_agrees(repair).amount_paid == 1000


class Held:
    """Patches repair_add_note so the first call stops inside its transaction until released
    (and then writes its note, or fails)."""

    def __init__(self, monkeypatch, fail: bool = False) -> None:
        self.real = services.repair_add_note
        self.entered, self.release = threading.Event(), threading.Event()
        self.fail, self.calls = fail, 0
        self.lock = threading.Lock()
        monkeypatch.setattr(services, "repair_add_note", self)

    def __call__(self, **kwargs):
        with self.lock:
            self.calls += 1
            first = self.calls == 1
        if not first:
            return self.real(**kwargs)
        event = self.real(**kwargs)
        self.entered.set()
        assert self.release.wait(30)
        if self.fail:
            raise RuntimeError("the first request died after writing")
        return event


def _in_thread(call) -> tuple[threading.Thread, list]:
    out: list = []

    def run():
        try:
            out.append(call())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def _wait_until_blocked_on_a_lock(count: int) -> None:
    """Until `count` other backends wait on a lock (bounded; not a timing assertion)."""
    for _ in range(300):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.05)
    raise AssertionError("no request is waiting on the key's row")


def test_a_retry_while_the_first_still_runs_waits_then_gets_409_with_retry_after(
    make_repair, desk, monkeypatch, settings
):
    settings.IDEMPOTENCY_WAIT_SECONDS = 1
    ticket = make_repair().ticket_number
    held = Held(monkeypatch)
    first, first_out = _in_thread(lambda: note(client_for(desk), ticket))
    assert held.entered.wait(30)

    retry = note(client_for(desk), ticket)
    assert retry.status_code == 409 and retry.json()["code"] == "conflict"
    assert retry["Retry-After"] == "1"

    held.release.set()
    first.join(60)
    assert first_out[0].status_code == 201
    again = note(client_for(desk), ticket)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first_out[0].json()
    assert notes(ticket) == 1


def test_a_retry_waiting_on_the_first_replays_its_answer(make_repair, desk, monkeypatch):
    ticket = make_repair().ticket_number
    held = Held(monkeypatch)
    first, first_out = _in_thread(lambda: note(client_for(desk), ticket))
    assert held.entered.wait(30)
    second, second_out = _in_thread(lambda: note(client_for(desk), ticket))
    _wait_until_blocked_on_a_lock(1)  # the retry's INSERT waits on the first's row

    held.release.set()
    first.join(60)
    second.join(60)
    assert first_out[0].status_code == second_out[0].status_code == 201
    assert second_out[0]["Idempotent-Replayed"] == "true"
    assert second_out[0].json() == first_out[0].json()
    assert notes(ticket) == 1


def test_when_the_first_dies_the_waiting_retry_acts_once(make_repair, desk, monkeypatch):
    """A request that dies leaves no row behind (its INSERT rolls back with its action), so
    the key is never blocked: the retry that waited on it acts."""
    ticket = make_repair().ticket_number
    held = Held(monkeypatch, fail=True)
    first, first_out = _in_thread(lambda: note(client_for(desk), ticket))
    assert held.entered.wait(30)
    second, second_out = _in_thread(lambda: note(client_for(desk), ticket))
    _wait_until_blocked_on_a_lock(1)

    held.release.set()
    first.join(60)
    second.join(60)
    assert first_out[0].status_code == 500
    assert second_out[0].status_code == 201 and "Idempotent-Replayed" not in second_out[0]
    assert notes(ticket) == 1 and IdempotencyKey.objects.count() == 1
