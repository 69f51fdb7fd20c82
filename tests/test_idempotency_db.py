"""Idempotency-Key answers live in the database (core.models.IdempotencyKey); the cache only
fronts them. A flushed cache replays from the table; the action and its stored answer commit
together or not at all; rows older than the retention are pruned. Runs on SQLite and, with
DATABASE_URL=postgres://..., on PostgreSQL (the races are in test_idempotency_pg.py)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone

from core import idempotency
from core.models import IdempotencyKey
from tests.payments_support import *  # noqa: F403 - the ledger fixtures
from tests.payments_support import assert_ledger_agrees
from tests.test_api_robustness import assert_json_error
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import post
from workflows import services
from workflows.choices import State
from workflows.models import Payment, RepairEvent
from workflows.tasks import prune_idempotency_keys

pytestmark = pytest.mark.django_db


def note(client, ticket, text="called the customer", key="note-1", **extra):
    return post(
        client, f"/repairs/{ticket}/notes/", {"text": text}, HTTP_IDEMPOTENCY_KEY=key, **extra
    )


def notes(ticket) -> int:
    return RepairEvent.objects.filter(repair__ticket_number=ticket, kind="note").count()


def pay(client, ticket, amount=1000, key="pay-1"):
    body = {"amount": amount, "method": "cash"}
    return post(client, f"/repairs/{ticket}/payments/", body, HTTP_IDEMPOTENCY_KEY=key)


# --- the table outlives the cache ----------------------------------------------------------------


def test_a_note_retried_after_the_cache_is_flushed_replays_and_writes_one_note(
    desk_api, make_repair
):
    ticket = make_repair().ticket_number
    first = note(desk_api, ticket)
    cache.clear()  # a Redis restart or eviction
    retry = note(desk_api, ticket)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json() and retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert notes(ticket) == 1
    [row] = IdempotencyKey.objects.all()
    assert (row.key, row.method, row.status) == ("note-1", "POST", 201)
    assert row.path == f"/api/v1/repairs/{ticket}/notes/"
    assert json.loads(row.body) == first.json()


def test_a_payment_retried_after_the_cache_is_flushed_is_taken_once(walk, desk_api):
    repair = walk(State.READY_TO_REPAIR)
    first = pay(desk_api, repair.ticket_number)
    cache.clear()
    retry = pay(desk_api, repair.ticket_number)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json() and retry["Idempotent-Replayed"] == "true"
    assert Payment.objects.filter(repair=repair).count() == 1
    assert assert_ledger_agrees(repair).amount_paid == 1000


def test_the_replay_from_the_table_refills_the_cache(desk_api, make_repair):
    ticket = make_repair().ticket_number
    note(desk_api, ticket)
    cache.clear()
    note(desk_api, ticket)  # from the table
    IdempotencyKey.objects.all().delete()  # now only the cache knows
    again = note(desk_api, ticket)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert notes(ticket) == 1


def test_with_the_cache_unreachable_the_table_answers(desk_api, make_repair, monkeypatch):
    ticket = make_repair().ticket_number

    class Down:
        """The cache as idempotency sees it, not answering (the rest of the app keeps its own:
        core.cache absorbs a dead Redis there)."""

        def __getattr__(self, name):
            def down(*args, **kwargs):
                raise ConnectionError("Redis is not answering")

            return down

    monkeypatch.setattr(idempotency, "cache", Down())
    first = note(desk_api, ticket)
    retry = note(desk_api, ticket)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry["Idempotent-Replayed"] == "true" and retry.json() == first.json()
    assert notes(ticket) == 1


def test_same_key_different_body_after_the_flush_is_422(desk_api, make_repair):
    ticket = make_repair().ticket_number
    note(desk_api, ticket, text="first")
    cache.clear()
    reused = note(desk_api, ticket, text="second")
    assert_json_error(reused, 422, "idempotency_key_reused")
    other_path = post(
        desk_api, f"/repairs/{ticket}/calls/", {"text": "first"}, HTTP_IDEMPOTENCY_KEY="note-1"
    )
    assert_json_error(other_path, 422, "idempotency_key_reused")
    assert notes(ticket) == 1


def test_another_user_with_the_same_key_acts_on_its_own(desk_api, manager_api, make_repair):
    ticket = make_repair().ticket_number
    mine = note(desk_api, ticket, key="shared")
    cache.clear()
    theirs = note(manager_api, ticket, key="shared")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs and theirs.json() != mine.json()
    assert notes(ticket) == 2 and IdempotencyKey.objects.count() == 2


# --- which answers are stored --------------------------------------------------------------------


def test_a_refused_input_is_not_stored_so_the_corrected_retry_acts(desk_api, make_repair):
    # Stripe: a result is saved only once the endpoint started executing; a request whose
    # parameters failed validation may be fixed and retried with the same key.
    ticket = make_repair().ticket_number
    refused = note(desk_api, ticket, text="")
    assert_json_error(refused, 400, "invalid")
    assert not IdempotencyKey.objects.exists()
    fixed = note(desk_api, ticket, text="now with text")
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed
    assert notes(ticket) == 1


def test_a_business_refusal_is_stored_and_replayed_after_the_flush(walk, desk_api):
    repair = walk(State.READY_TO_REPAIR)
    over = pay(desk_api, repair.ticket_number, amount=15101)
    assert_json_error(over, 400, "overpayment")
    cache.clear()
    again = pay(desk_api, repair.ticket_number, amount=15101)
    assert again.status_code == 400 and again.json() == over.json()
    assert again["Idempotent-Replayed"] == "true"
    # The key is spent on that request: a different amount needs a new key.
    assert_json_error(
        pay(desk_api, repair.ticket_number, amount=100), 422, "idempotency_key_reused"
    )
    assert Payment.objects.filter(repair=repair).count() == 0


def test_a_server_error_rolls_the_action_back_and_stores_nothing(
    desk_api, make_repair, monkeypatch
):
    ticket = make_repair().ticket_number
    real = services.repair_add_note

    def writes_then_fails(**kwargs):
        real(**kwargs)  # the note is written...
        raise RuntimeError("the process fell over")  # ...and then the request dies

    monkeypatch.setattr(services, "repair_add_note", writes_then_fails)
    failed = note(desk_api, ticket)
    assert_json_error(failed, 500, "server_error")
    assert notes(ticket) == 0 and not IdempotencyKey.objects.exists()

    monkeypatch.setattr(services, "repair_add_note", real)
    retry = note(desk_api, ticket)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry
    assert notes(ticket) == 1


def test_storing_the_answer_failing_undoes_the_action(desk_api, make_repair, monkeypatch):
    """No "acted but no stored answer": the UPDATE of the answer is in the action's
    transaction, so when it fails the note goes too and the retry acts once."""
    ticket = make_repair().ticket_number
    real = idempotency._answer

    def lost(*args, **kwargs):
        raise OperationalError("connection lost while storing the answer")

    monkeypatch.setattr(idempotency, "_answer", lost)
    failed = note(desk_api, ticket)
    assert failed.status_code >= 500 and failed.json()["code"]
    assert notes(ticket) == 0 and not IdempotencyKey.objects.exists()

    monkeypatch.setattr(idempotency, "_answer", real)
    assert note(desk_api, ticket).status_code == 201
    assert note(desk_api, ticket)["Idempotent-Replayed"] == "true"
    assert notes(ticket) == 1


def test_an_expired_row_not_yet_pruned_frees_the_key(desk_api, make_repair):
    ticket = make_repair().ticket_number
    note(desk_api, ticket, text="yesterday")
    IdempotencyKey.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))
    cache.clear()
    today = note(desk_api, ticket, text="today")
    assert today.status_code == 201 and "Idempotent-Replayed" not in today
    assert notes(ticket) == 2
    [row] = IdempotencyKey.objects.all()
    assert json.loads(row.body)["text"] == "today"


# --- bad keys and bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("x" * 201, "invalid"),
        ("", "invalid"),
        ("has space", "invalid"),
        ("한글", "invalid"),
        ("tab\there", "invalid"),
        # Control characters in a header never reach the view (RejectControlCharactersMiddleware).
        ("nul\x00byte", "bad_request"),
        ("new\nline", "bad_request"),
        ("\x7f", "bad_request"),
    ],
)
def test_a_malformed_key_is_a_400_and_stores_nothing(desk_api, make_repair, key, code):
    ticket = make_repair().ticket_number
    assert_json_error(note(desk_api, ticket, key=key), 400, code)
    assert notes(ticket) == 0 and not IdempotencyKey.objects.exists()


def test_a_200_character_key_is_fine(desk_api, make_repair):
    ticket = make_repair().ticket_number
    key = "k" * 200
    assert note(desk_api, ticket, key=key).status_code == 201
    cache.clear()
    assert note(desk_api, ticket, key=key)["Idempotent-Replayed"] == "true"
    assert notes(ticket) == 1


def test_a_body_with_nul_bytes_is_a_clean_400_and_stores_nothing(desk_api, make_repair):
    ticket = make_repair().ticket_number
    answer = note(desk_api, ticket, text="nul\x00inside")
    assert_json_error(answer, 400)
    assert notes(ticket) == 0 and not IdempotencyKey.objects.exists()


def test_an_answer_with_a_nul_escape_is_stored_as_text(desk_api, make_repair, monkeypatch):
    # jsonb refuses \u0000; the answer is kept as JSON text, so PostgreSQL stores it too.
    ticket = make_repair().ticket_number
    real = idempotency._plain
    monkeypatch.setattr(idempotency, "_plain", lambda data: {**real(data), "echo": "a\x00b"})
    first = note(desk_api, ticket)
    assert first.status_code == 201
    cache.clear()
    assert note(desk_api, ticket).json()["echo"] == "a\x00b"
    assert notes(ticket) == 1


# --- query counts --------------------------------------------------------------------------------


def test_a_replay_costs_the_same_queries_however_many_keys_are_stored(
    desk_api, make_repair, django_assert_num_queries
):
    ticket = make_repair().ticket_number
    note(desk_api, ticket)
    cache.clear()
    # Token and staff (1); the outer transaction (a savepoint inside the test's) SAVEPOINT and
    # RELEASE; the INSERT's savepoint, the INSERT refused, ROLLBACK TO and RELEASE; SELECT the
    # row; on PostgreSQL one SET LOCAL lock_timeout.
    expected = 8 + (connection.vendor == "postgresql")
    with django_assert_num_queries(expected):
        assert note(desk_api, ticket)["Idempotent-Replayed"] == "true"
    for n in range(20):
        note(desk_api, ticket, text=f"n{n}", key=f"other-{n}")
    cache.clear()
    with django_assert_num_queries(expected):
        assert note(desk_api, ticket)["Idempotent-Replayed"] == "true"


def test_a_replay_from_the_cache_asks_the_database_only_who_is_calling(
    desk_api, make_repair, django_assert_num_queries
):
    ticket = make_repair().ticket_number
    note(desk_api, ticket)
    with django_assert_num_queries(1):  # the token, user, center and roles: one query
        assert note(desk_api, ticket)["Idempotent-Replayed"] == "true"


# --- pruning -------------------------------------------------------------------------------------


def _aged(desk, key: str, hours: float) -> IdempotencyKey:
    return IdempotencyKey.objects.create(
        user=desk,
        key=key,
        method="POST",
        path="/api/v1/repairs/x/notes/",
        fingerprint="0" * 64,
        status=201,
        body="{}",
        created_at=timezone.now() - dt.timedelta(hours=hours),
    )


def test_pruning_deletes_rows_older_than_a_day_and_keeps_younger_ones(desk):
    old = [_aged(desk, f"old-{n}", hours) for n, hours in enumerate((24.01, 30, 24 * 7))]
    young = [_aged(desk, f"young-{n}", hours) for n, hours in enumerate((0, 1, 23.9))]
    assert idempotency.prune() == len(old)
    assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {r.key for r in young}
    assert idempotency.prune() == 0


def test_the_retention_is_a_setting(desk, settings):
    settings.IDEMPOTENCY_RETENTION_HOURS = 2
    _aged(desk, "three-hours", 3)
    _aged(desk, "one-hour", 1)
    assert idempotency.prune() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["one-hour"]


def test_the_command_and_the_beat_task_prune(desk):
    _aged(desk, "old-1", 25)
    _aged(desk, "young", 1)
    out = StringIO()
    call_command("prune_idempotency_keys", stdout=out)
    assert out.getvalue().strip() == "deleted 1"
    _aged(desk, "old-2", 48)
    assert prune_idempotency_keys() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["young"]
    entry = settings.CELERY_BEAT_SCHEDULE["prune-idempotency-keys"]
    assert entry["task"] == "workflows.tasks.prune_idempotency_keys"
    assert entry["schedule"] == dt.timedelta(hours=1)


def test_a_deleted_user_takes_their_keys_along(desk_api, desk, make_repair):
    note(desk_api, make_repair().ticket_number)
    assert IdempotencyKey.objects.filter(user=desk).count() == 1
    desk.delete()
    assert not IdempotencyKey.objects.exists()
