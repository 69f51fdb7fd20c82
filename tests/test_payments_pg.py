"""Payments racing on PostgreSQL with real threads (SQLite ignores select_for_update, so a pass
there proves nothing): the ledger never takes more than is due."""

from __future__ import annotations

import pytest

from core.errors import Conflict
from tests.concurrency_support import errors, race_each, results
from tests.conftest import requires_postgres
from tests.payments_support import *  # noqa: F403 - the ledger fixtures
from tests.payments_support import assert_ledger_agrees
from tests.test_api_support import client_for, post
from workflows import services as s
from workflows.choices import State
from workflows.models import Payment

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_ten_simultaneous_payments_take_exactly_what_is_due(walk, desk):
    repair = walk(State.READY_TO_REPAIR)  # 15,100 won due
    amounts = [3000] * 5 + [100] + [3000] * 4  # 30,100 offered in all

    outcomes = race_each(
        10,
        lambda n: s.repair_record_payment(
            repair=repair.pk, actor=desk, amount=amounts[n], method="cash"
        ),
    )

    refused = errors(outcomes)
    assert all(isinstance(o, s.Overpayment) for o in refused), [repr(o) for o in refused]
    # Whatever order the lock gave them, five 3,000s and the 100 fit, exactly: the rest are refused.
    assert len(refused) == 4
    assert assert_ledger_agrees(repair).amount_paid == 15100


def test_ten_simultaneous_api_payments_of_the_whole_balance_record_one(walk, desk):
    repair = walk(State.READY_TO_REPAIR)
    clients = [client_for(desk) for _ in range(10)]
    body = {"amount": 15100, "method": "card"}

    statuses = results(
        race_each(
            10,
            lambda n: (
                post(clients[n], f"/repairs/{repair.ticket_number}/payments/", body).status_code
            ),
        )
    )

    assert sorted(statuses) == [201] + [400] * 9
    assert Payment.objects.filter(repair=repair).count() == 1
    assert assert_ledger_agrees(repair).amount_paid == 15100


def test_two_simultaneous_deposits_of_the_whole_quote_record_one(walk, desk):
    repair = walk(State.AWAITING_APPROVAL, labor=29900)  # 30,000 won quote

    outcomes = race_each(
        2, lambda n: s.repair_record_deposit(repair=repair.pk, actor=desk, amount=30000)
    )

    refused = errors(outcomes)
    assert len(refused) == 1 and isinstance(refused[0], (s.Overpayment, Conflict)), refused
    assert assert_ledger_agrees(repair).amount_paid == 30000
