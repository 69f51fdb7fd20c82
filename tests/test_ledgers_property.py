"""The ledgers under random use, through the API as the desk, the technicians and the managers
would drive it: intake, diagnosis with parts, approval, payments and refunds, parts orders
(request, ship, receive, cancel), stock adjustments and transfers between two centers, declines,
cancellations, the repair itself, invitations, pickup, courier return and hand-over, in any
order, on a handful of repairs at once.

After every step: each stock row is what its ledger says (`audit_ledgers` exits 0),
`0 <= reserved <= on_hand`, `reserved` is what the reservations hold, `amount_paid` is
the sum of the payments, nobody paid beyond what is due, and no customer message went out for a
transition that had a blocker when it was asked for.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from parts.models import Reservation, ReservationStatus, Stock
from tests.conftest import stock
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import INTAKE, client_for, get, post, transition
from workflows.models import Notification, Repair

pytestmark = pytest.mark.django_db

# Messages a transition's gate guards: sent only when the transition had no blocker.
GUARDED_MESSAGES = {
    "invite_for_repair": "invite_for_repair",
    "notify_ready_for_pickup": "ready_for_pickup",
    "ship": "shipped",
}
MONEY_IN = ("pay", "deposit", "hand_over")
# The next step on the happy path, by state, with the input it takes ("advance" runs it).
NEXT = {
    "received": "assign",
    "diagnosing": "diagnose",
    "awaiting_approval": "approve",
    "ready_to_repair": "start",
    "in_repair": "complete",
    "repaired": "ready",
    "ready_for_pickup": "hand_over",
    "declined": "ready",
    "awaiting_parts": "restock",
}
OPS = [
    *["advance"] * 12,
    "intake",
    "assign",
    "diagnose",
    "set_coverage",
    "approve",
    "pay",
    "deposit",
    "refund",
    "invite",
    "check_in",
    "start",
    "complete",
    "ready",
    "ship",
    "hand_over",
    "decline",
    "cancel",
    "order",
    "ship_order",
    "receive",
    "cancel_order",
    "adjust",
    "transfer",
]
STEP = st.tuples(
    st.sampled_from(OPS),
    st.integers(min_value=0, max_value=3),  # which repair / order
    st.integers(min_value=-3, max_value=20000),  # an amount, a quantity, a delta
)


class World:
    """The clients and what the run has made so far."""

    def __init__(self, desk_api, tech_api, manager_api, parts, serials, other_manager=None):
        self.desk, self.tech, self.manager = desk_api, tech_api, manager_api
        self.other_manager = other_manager  # SC's manager: transfers come back from there
        self.parts, self.serials = parts, serials
        self.tickets: list[str] = []
        self.orders: list[int] = []

    def ticket(self, n: int) -> str | None:
        return self.tickets[n % len(self.tickets)] if self.tickets else None

    def order(self, n: int) -> int | None:
        return self.orders[n % len(self.orders)] if self.orders else None

    def part(self, n: int) -> str:
        return self.parts[n % len(self.parts)]


def _intake(w: World, n: int, x: int) -> Any:
    body = {
        **INTAKE,
        "serial_number": w.serials[n % len(w.serials)],
        "device_in_shop": x % 3 != 0,
        "intake_channel": "walk_in" if x % 3 else "phone",
    }
    if x % 4 == 1:
        body["return_method"] = "courier"
        body["courier_address"] = "부산광역시 해운대구 센텀로 45"
    response = post(w.desk, "/repairs/", body)
    if response.status_code == 201:
        w.tickets.append(response.json()["ticket_number"])
    return response


def _ship_repair(w: World, t: str, x: int) -> Any:
    return transition(w.desk, t, "ship", {"carrier": "CJ", "tracking_number": f"T{x}"})


def _repair_step(w: World, op: str, t: str, x: int) -> Any:
    qty = 1 + abs(x) % 3
    steps = {
        "assign": lambda: transition(w.desk, t, "assign", {"technician": "tech"}),
        "diagnose": lambda: transition(
            w.tech,
            t,
            "diagnose",
            {
                "findings": "점검",
                "parts": [{"part_number": w.part(x), "quantity": qty}] if x % 5 else [],
                "labor_fee": abs(x) % 30000,
            },
        ),
        "set_coverage": lambda: transition(
            w.desk, t, "set_coverage", {"coverage": "paid" if x % 2 else "warranty", "reason": "r"}
        ),
        "approve": lambda: transition(w.desk, t, "approve"),
        "pay": lambda: post(w.desk, f"/repairs/{t}/payments/", {"amount": x, "method": "card"}),
        "deposit": lambda: transition(w.desk, t, "record_deposit", {"amount": x}),
        "refund": lambda: post(
            w.desk, f"/repairs/{t}/refunds/", {"amount": x, "method": "cash", "reason": "환불"}
        ),
        "invite": lambda: transition(w.desk, t, "invite_for_repair"),
        "check_in": lambda: transition(w.desk, t, "check_in_device"),
        "start": lambda: transition(w.tech, t, "start_repair"),
        "complete": lambda: transition(w.tech, t, "complete", {"work_notes": "교체"}),
        "ready": lambda: transition(w.desk, t, "notify_ready_for_pickup"),
        "ship": lambda: _ship_repair(w, t, x),
        "hand_over": lambda: transition(w.desk, t, "hand_over", {"amount_paid": max(x, 0)}),
        "confirm_delivery": lambda: transition(w.desk, t, "confirm_delivery"),
        "decline": lambda: transition(w.desk, t, "decline", {"reason": "고객 거절"}),
        "cancel": lambda: transition(w.desk, t, "cancel", {"reason": "취소"}),
    }
    return steps[op]()


def _order_step(w: World, op: str, n: int, x: int) -> Any:
    if op == "order":
        line: dict[str, Any] = {"part_number": w.part(x), "quantity": 1 + abs(x) % 4}
        if w.tickets and x % 2:
            line["ticket_number"] = w.ticket(n)
        response = post(w.desk, "/parts-orders/", {"lines": [line]})
        if response.status_code == 201:
            w.orders.append(response.json()["id"])
        return response
    if op == "restock":
        body = {"part_number": w.part(n), "delta": 3, "reason": "입고"}
        return post(w.manager, "/stock/adjust/", body)
    if op == "transfer":
        return _transfer(w, n, x)
    if op == "adjust":
        delta = (x % 7) - 3 or 1
        body = {"part_number": w.part(n), "delta": delta, "reason": "재고 조사"}
        return post(w.manager, "/stock/adjust/", body)
    order = w.order(n)
    if order is None:
        return None
    name = {"ship_order": "ship", "receive": "receive", "cancel_order": "cancel"}[op]
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    data = {
        "ship": {"carrier": "CJ", "tracking_number": f"W{x}", "eta": tomorrow},
        "receive": {},
        "cancel": {"reason": "창고 품절"},
    }[name]
    return post(w.manager, f"/parts-orders/{order}/transitions/{name}/", data)


def _transfer(w: World, n: int, x: int) -> Any:
    """GN's manager sends to SC, or SC's sends back to GN (where repairs wait): 1-4 units."""
    to_sc = n % 2 == 0
    sender, receiver = ("GN", "SC") if to_sc else ("SC", "GN")
    body = {"from_center": sender, "to_center": receiver, "reason": "센터 간 이동"}
    body.update(part_number=w.part(x), quantity=1 + abs(x) % 4)
    response = post(w.manager if to_sc else w.other_manager, "/stock/transfer/", body)
    assert response.status_code in (200, 400), response.content[:300]
    event(f"a transfer answered {response.status_code}")
    return response


def _next_on_the_happy_path(w: World, n: int, x: int) -> tuple[str, int]:
    t = w.ticket(n)
    if t is None:
        return "intake", x
    repair = Repair.objects.select_related("center").get(ticket_number=t)
    op = NEXT.get(repair.state, "invite")
    if op == "ready" and repair.return_method == "courier":
        op = "ship"
    if op in ("ship", "hand_over") and repair.refund_due:
        return "refund", repair.refund_due
    if op == "ship" and repair.balance_due:
        return "pay", repair.balance_due
    if repair.state == "shipped":
        op = "confirm_delivery"
    return op, repair.balance_due if op == "hand_over" else x


def run_step(w: World, op: str, n: int, x: int) -> Any:
    if op == "advance":
        op, x = _next_on_the_happy_path(w, n, x)
    if op == "intake":
        return _intake(w, n, x)
    if op in ("order", "adjust", "restock", "ship_order", "receive", "cancel_order", "transfer"):
        return _order_step(w, op, n, x)
    t = w.ticket(n)
    return None if t is None else _repair_step(w, op, t, x)


# --- the invariants ------------------------------------------------------------------------------


def assert_stock_agrees() -> None:
    held = {
        (r["center_id"], r["part_id"]): r["q"]
        for r in Reservation.objects.filter(status=ReservationStatus.RESERVED)
        .values("center_id", "part_id")
        .annotate(q=Sum("quantity"))
    }
    for row in Stock.objects.all():
        assert 0 <= row.reserved <= row.on_hand, row
        assert row.reserved == held.get((row.center_id, row.part_id), 0), row
    for key in held:
        assert Stock.objects.filter(center_id=key[0], part_id=key[1]).exists(), key


def assert_money_agrees() -> None:
    repairs = Repair.objects.annotate(
        ledger=Coalesce(Sum("payments__amount"), 0),
        refunded=Coalesce(Sum("payments__amount", filter=Q(payments__kind="refund")), 0),
    )
    assert not repairs.exclude(amount_paid=F("ledger")).exists()
    assert not repairs.filter(amount_paid__lt=0).exists()
    # Refunds never exceed what was taken (refunded is negative).
    assert not repairs.filter(ledger__lt=0).exists()
    for repair in Repair.objects.select_related("center").filter(state="closed"):
        # Closed means settled: nothing left to pay, nothing left to give back.
        assert repair.refund_due == 0 and repair.balance_due == 0, repair.ticket_number


def blockers_before(w: World, op: str, n: int) -> tuple[str, list[str]] | None:
    """(transition, its blocker codes) for a step that would send a guarded message."""
    name = {"invite": "invite_for_repair", "ready": "notify_ready_for_pickup", "ship": "ship"}.get(
        op
    )
    t = w.ticket(n)
    if name is None or t is None:
        return None
    detail = get(w.desk, f"/repairs/{t}/").json()
    # Inputs the step itself supplies (a tracking number) clear their own blockers.
    own = {"tracking_missing"} if name == "ship" else set()
    return name, [b["code"] for b in detail["blockers"][name] if b["code"] not in own]


def assert_no_message_despite_blockers(
    w: World, guarded: tuple[str, list[str]] | None, n: int, sent_before: int
) -> None:
    if guarded is None:
        return
    name, codes = guarded
    new = Notification.objects.filter(
        repair__ticket_number=w.ticket(n), kind=GUARDED_MESSAGES[name], pk__gt=sent_before
    )
    if codes:
        assert not new.exists(), (name, codes)


@settings(
    max_examples=30,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=10, max_size=40))
def test_random_use_keeps_stock_money_and_messages_honest(
    desk_api, tech_api, manager_api, foreign_manager, center, other_center, spring, battery,
    in_warranty, expired, steps,
):  # fmt: skip
    for where, part, on_hand in (
        (center, spring, 2),
        (center, battery, 0),
        (other_center, spring, 3),
    ):
        stock(where, part, on_hand)
    w = World(
        desk_api,
        tech_api,
        manager_api,
        parts=[spring.part_number, battery.part_number],
        serials=[expired.serial_number, in_warranty.serial_number, "UNKNOWN-1"],
        other_manager=client_for(foreign_manager),
    )
    for op, n, x in steps:
        guarded = blockers_before(w, op, n)
        sent_before = Notification.objects.order_by("-pk").values_list("pk", flat=True).first()
        response = run_step(w, op, n, x)
        if response is not None:
            assert response.status_code < 500, (op, response.content[:300])
        assert_no_message_despite_blockers(w, guarded, n, sent_before or 0)
        if (
            op in ("pay", "deposit", "hand_over")
            and response is not None
            and response.status_code < 300
        ):
            taken = Repair.objects.select_related("center").get(ticket_number=w.ticket(n))
            assert taken.amount_paid <= taken.payable, (op, x)  # never paid beyond what is due
        assert_stock_agrees()
        assert_money_agrees()
        call_command("audit_ledgers", stdout=io.StringIO())  # CommandError (exit 1) on a difference
    for t in w.tickets:
        event(Repair.objects.get(ticket_number=t).state)


# --- what the random run found ---------------------------------------------------------------


def _closed_courier_repair(intake, desk_api, tech_api, center, spring) -> str:
    stock(center, spring, 5)
    t = intake(return_method="courier", courier_address="부산광역시 해운대구 센텀로 45")
    transition(desk_api, t, "assign", {"technician": "tech"})
    transition(desk_api, t, "set_coverage", {"coverage": "paid", "reason": "보증 만료"})
    transition(
        tech_api,
        t,
        "diagnose",
        {"findings": "스프링", "parts": [{"part_number": spring.part_number}], "labor_fee": 900},
    )
    transition(desk_api, t, "approve")
    transition(tech_api, t, "start_repair")
    transition(tech_api, t, "complete", {"work_notes": "교체"})
    assert (
        post(desk_api, f"/repairs/{t}/payments/", {"amount": 1000, "method": "card"}).status_code
        == 201
    )
    shipped = transition(desk_api, t, "ship", {"carrier": "CJ", "tracking_number": "1234"})
    assert shipped.status_code == 200, shipped.json()
    assert transition(desk_api, t, "confirm_delivery").json()["state"] == "closed"
    return t


def test_a_settled_closed_repair_refuses_a_refund_that_would_reopen_a_balance(
    intake, desk_api, tech_api, center, spring
):
    """Found by the random run: a refund after delivery left a closed repair 38 won "due",
    which nobody could ever collect (payments are refused once closed)."""
    t = _closed_courier_repair(intake, desk_api, tech_api, center, spring)
    body = {"amount": 38, "method": "cash", "reason": "서비스"}
    refused = post(desk_api, f"/repairs/{t}/refunds/", body)
    assert refused.status_code == 400
    assert refused.json()["code"] == "refund_exceeds_paid"
    assert "amount" in refused.json()["errors"]
    repair = Repair.objects.select_related("center").get(ticket_number=t)
    assert (repair.amount_paid, repair.balance_due) == (1000, 0)
    assert "settled" in refused.json()["detail"]


def test_a_cancelled_repair_still_gives_its_deposit_back(intake, desk_api, tech_api):
    t = intake(intake_channel="phone", device_in_shop=False)
    transition(desk_api, t, "assign", {"technician": "tech"})
    transition(desk_api, t, "set_coverage", {"coverage": "paid", "reason": "보증 만료"})
    transition(tech_api, t, "diagnose", {"findings": "배터리", "labor_fee": 20000})
    assert transition(desk_api, t, "record_deposit", {"amount": 5000}).status_code == 200
    cancelled = transition(desk_api, t, "cancel", {"reason": "고객 요청"})
    assert cancelled.status_code == 200, cancelled.json()
    body = {"amount": 5001, "method": "cash", "reason": "취소 환불"}
    assert post(desk_api, f"/repairs/{t}/refunds/", body).status_code == 400
    body["amount"] = 5000
    assert post(desk_api, f"/repairs/{t}/refunds/", body).status_code == 201
    repair = Repair.objects.select_related("center").get(ticket_number=t)
    assert (repair.amount_paid, repair.refund_due, repair.balance_due) == (0, 0, 0)
