"""POST /api/v1/stock/transfer/: a manager gives their center's free units to another center;
the arrivals fill the receiver's waiting reservations first come, first served."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from parts.models import Reservation, ReservationStatus, Stock, StockMovement
from tests.conftest import PASSWORD, stock
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import client_for, post
from tests.test_stock_ledger import assert_stock_agrees
from workflows import services as s
from workflows.choices import State
from workflows.models import Repair

pytestmark = pytest.mark.django_db
PATH = "/stock/transfer/"


def body(**fields):
    return {
        "from_center": "GN",
        "to_center": "SC",
        "part_number": "CLIP-SPRING-01",
        "quantity": 2,
        "reason": "서초 재고 부족",
        **fields,
    }


@pytest.fixture
def shelves(center, other_center, spring):
    """GN holds 5 springs, SC none."""
    stock(center, spring, 5)
    stock(other_center, spring, 0)


def counts(center, part) -> tuple[int, int]:
    row = Stock.objects.get(center=center, part=part)
    return row.on_hand, row.reserved


@pytest.fixture
def waiting_at_gn(make_repair, desk, tech, center, spring, expired):
    """waiting_at_gn(quantity) -> a GN repair diagnosed with `quantity` springs it waits for."""

    def make(quantity: int) -> Repair:
        repair = make_repair(serial_number=expired.serial_number)
        s.repair_assign(repair=repair, actor=desk, technician=tech)
        parts = [{"part_number": spring.part_number, "quantity": quantity}]
        return s.repair_diagnose(repair=repair, actor=tech, findings="교체", parts=parts)

    return make


# --- who -------------------------------------------------------------------------------------


def test_the_senders_manager_moves_units_with_two_linked_movements(
    shelves, manager, center, other_center, spring
):
    response = post(client_for(manager), PATH, body())

    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["from_stock"] == {
        "center": "GN",
        "part_number": "CLIP-SPRING-01",
        "name": spring.name,
        "on_hand": 3,
        "reserved": 0,
        "available": 3,
    }
    assert (answer["to_stock"]["center"], answer["to_stock"]["on_hand"]) == ("SC", 2)
    assert answer["served"] == []
    out = StockMovement.objects.get(kind="transfer_out")
    arrival = StockMovement.objects.get(kind="transfer_in")
    assert (out.center, out.delta_on_hand, out.delta_reserved) == (center, -2, 0)
    assert (arrival.center, arrival.delta_on_hand) == (other_center, 2)
    ref = answer["reference"]
    assert out.reason == f"서초 재고 부족 (→ SC, {ref})"
    assert arrival.reason == f"서초 재고 부족 (← GN, {ref})"
    assert out.created_by == arrival.created_by == manager
    assert_stock_agrees()


@pytest.mark.parametrize("who", ["desk", "tech", "foreign_manager", "foreign_desk"])
def test_others_are_refused_with_403_and_nothing_moves(shelves, who, request, center, spring):
    user = request.getfixturevalue(who)

    response = post(client_for(user), PATH, body())

    assert response.status_code == 403
    assert set(response.json()) >= {"code", "detail"}
    assert response.json()["code"] == "permission_denied"
    assert counts(center, spring) == (5, 0)
    assert not StockMovement.objects.filter(kind__startswith="transfer").exists()


def test_a_manager_may_not_give_away_another_centers_stock(shelves, manager, other_center, spring):
    response = post(client_for(manager), PATH, body(from_center="SC", to_center="GN"))

    assert response.status_code == 403
    assert not StockMovement.objects.filter(kind__startswith="transfer").exists()


def test_a_superuser_may_transfer_between_any_centers(shelves, center, other_center, spring):
    root = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)

    response = post(client_for(root), PATH, body(quantity=5))

    assert response.status_code == 200, response.json()
    assert counts(center, spring) == (0, 0)
    assert counts(other_center, spring) == (5, 0)


def test_the_other_centers_manager_may_send_their_stock_back(
    shelves, manager, foreign_manager, center, other_center, spring
):
    assert post(client_for(manager), PATH, body(quantity=4)).status_code == 200
    back = post(client_for(foreign_manager), PATH, body(from_center="SC", to_center="GN"))

    assert back.status_code == 200, back.json()
    assert counts(center, spring) == (3, 0)
    assert counts(other_center, spring) == (2, 0)
    assert_stock_agrees()


# --- what is refused -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"from_center": "XX"}, "from_center"),
        ({"to_center": "XX"}, "to_center"),
        ({"to_center": "GN"}, "to_center"),
        ({"part_number": "NO-SUCH"}, "part_number"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": 100001}, "quantity"),
        ({"quantity": "two"}, "quantity"),
        ({"quantity": 6}, "quantity"),  # GN has 5
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "재고\x00이동"}, "reason"),
        ({"part_number": "CLIP\x00"}, "part_number"),
        ({"to_center": "S\x00C"}, "to_center"),
        ({"reason": "x" * 241}, "reason"),
    ],
)
def test_bad_input_is_refused_with_400_naming_the_field(
    shelves, manager, center, spring, fields, field
):
    response = post(client_for(manager), PATH, body(**fields))

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"], response.json()
    assert counts(center, spring) == (5, 0)
    assert not StockMovement.objects.filter(kind__startswith="transfer").exists()


def test_unknown_centers_and_part_are_named_at_once(shelves, manager):
    response = post(
        client_for(manager), PATH, body(to_center="XX", part_number="NO-SUCH", from_center="GN")
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"to_center", "part_number"}


def test_reserved_units_are_not_available_to_send(
    shelves, manager, waiting_at_gn, center, other_center, spring
):
    waiting_at_gn(4)  # 4 of GN's 5 springs now belong to a repair

    refused = post(client_for(manager), PATH, body(quantity=2))
    sent = post(client_for(manager), PATH, body(quantity=1))

    assert refused.status_code == 400
    assert refused.json()["errors"]["quantity"] == [
        "Only 1 free at GN (on hand minus the units reserved for repairs)."
    ]
    assert sent.status_code == 200
    assert counts(center, spring) == (4, 4)
    assert counts(other_center, spring) == (1, 0)
    assert_stock_agrees()


def test_an_idempotency_key_replays_the_first_answer_and_moves_once(
    shelves, manager, center, spring
):
    client = client_for(manager)

    first = post(client, PATH, body(), HTTP_IDEMPOTENCY_KEY="transfer-1")
    again = post(client, PATH, body(), HTTP_IDEMPOTENCY_KEY="transfer-1")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert counts(center, spring) == (3, 0)
    assert StockMovement.objects.filter(kind="transfer_out").count() == 1


# --- first come, first served at the receiver ------------------------------------------------


def test_arrivals_serve_the_oldest_waiting_repair_first_and_a_big_one_holds_the_line(
    center, other_center, spring, foreign_manager, waiting_at_gn
):
    stock(center, spring, 0)
    stock(other_center, spring, 10)
    older = waiting_at_gn(2)
    bigger = waiting_at_gn(5)
    newest = waiting_at_gn(1)
    client = client_for(foreign_manager)

    first = post(client, PATH, body(from_center="SC", to_center="GN", quantity=3))

    assert first.status_code == 200, first.json()
    # The older repair got its 2; the 5 waiting next hold the line although 1 unit is free.
    assert first.json()["served"] == [
        {
            "ticket_number": older.ticket_number,
            "parts": [{"part_number": spring.part_number, "quantity": 2}],
        }
    ]
    assert counts(center, spring) == (3, 2)
    states = dict(Reservation.objects.values_list("repair_id", "status"))
    assert states == {
        older.pk: ReservationStatus.RESERVED,
        bigger.pk: ReservationStatus.WAITING,
        newest.pk: ReservationStatus.WAITING,
    }

    second = post(client, PATH, body(from_center="SC", to_center="GN", quantity=4))

    # 5 free now: the 5 go to the repair next in line, the newest still waits for its 1.
    assert [x["ticket_number"] for x in second.json()["served"]] == [bigger.ticket_number]
    assert counts(center, spring) == (7, 7)
    assert Reservation.objects.get(repair=newest).status == ReservationStatus.WAITING
    assert_stock_agrees()


def test_a_served_repair_moves_on_with_its_timeline_event(
    center, other_center, spring, foreign_manager, waiting_at_gn, manager
):
    stock(center, spring, 0)
    stock(other_center, spring, 1)
    repair = waiting_at_gn(1)
    s.repair_approve(repair=repair.pk, actor=manager)
    repair.refresh_from_db()
    assert repair.state == State.AWAITING_PARTS

    response = post(
        client_for(foreign_manager), PATH, body(from_center="SC", to_center="GN", quantity=1)
    )

    assert response.status_code == 200
    repair.refresh_from_db()
    assert repair.state == State.READY_TO_REPAIR
    event = repair.events.filter(data__parts__isnull=False).latest("id")
    assert event.data["parts"] == [{"part_number": spring.part_number, "quantity": 1}]
    reserve = StockMovement.objects.get(kind="reserve", repair=repair)
    assert (reserve.center, reserve.created_by) == (center, foreign_manager)


def test_movements_and_the_audit_agree_after_transfers(
    shelves, manager, foreign_manager, waiting_at_gn, capsys
):
    waiting_at_gn(3)
    post(client_for(manager), PATH, body(quantity=2))
    post(client_for(foreign_manager), PATH, body(from_center="SC", to_center="GN", quantity=1))

    call_command("audit_ledgers")  # raises CommandError (exit 1) on any difference

    assert_stock_agrees()
