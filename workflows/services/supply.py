"""The repair side of stock. `parts/services/` moves stock, reservations and parts orders and
says which repairs it served; the services here run those calls inside their own transaction and
then apply what it means for the repairs: timeline events, part-ETA promises, awaiting_parts ->
ready_to_repair, and the after-commit allocation pass; the customer told when a cancelled order
takes their part's date away. The API, the pages and the admin receive, ship, cancel and adjust
stock through here.

Lock order as in parts/services/stock.py: PartsOrder row -> Repair rows (pk order) -> Stock rows (pk
order). The parts call takes all three; the repair side only touches repairs it already holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone, translation

from core.roles import SYSTEM_ACTOR, as_actor
from parts import services as parts_services
from parts.models import Part, PartsOrder, Reservation, Stock, StockMovement
from service_center.models import ServiceCenter
from workflows import detail_cache, gate, public_cache
from workflows.choices import OPEN_STATES, EventKind, NotificationKind, PromiseKind, State
from workflows.models import Promise, Repair
from workflows.services.core import (
    atomic_service,
    fulfil_open_promises,
    lock_for,
    lock_repair,
    move,
    plain_transition,
    queue_message,
    record_event,
    record_transition,
    refresh_reservations,
    settle_appointment,
)
from workflows.texts import PART_ETA_WITHDRAWN

# --- allocation --------------------------------------------------------------------------------


def allocate_waiting(
    *, center_id: int, part_ids: list[int], arrivals: list[StockMovement] | None = None
) -> list[int]:
    """Hand stock (plus `arrivals`, unsaved movements: see `parts.services.allocate_waiting`) to
    waiting reservations, oldest first, and move the repairs served on. One transaction.
    Returns the repair ids that got parts."""
    with transaction.atomic():
        allocation = parts_services.allocate_waiting(
            center_id=center_id, part_ids=part_ids, arrivals=arrivals
        )
        apply_allocation(center_id=center_id, allocation=allocation)
    return allocation.repair_ids


def allocate_after_commit(*, center_id: int, part_ids: list[int]) -> None:
    """Another allocation pass in a transaction of its own, once this one has committed."""

    def run() -> None:
        allocate_waiting(center_id=center_id, part_ids=part_ids)

    transaction.on_commit(run)


@dataclass(frozen=True)
class Served:
    """A repair that got parts from a delivery: its ticket and [(part_number, quantity)]."""

    ticket_number: str
    parts: list[tuple[str, int]]


def apply_allocation(
    *, center_id: int, allocation: parts_services.Allocation, order_id: int | None = None
) -> list[Served]:
    """Inside the allocating transaction (the repairs are locked): schedule the second passes,
    then tell each repair served (`order_id`: the parts order whose delivery this is). Returns
    who was served, first come first."""
    for part_id in allocation.again:
        allocate_after_commit(center_id=center_id, part_ids=[part_id])
    tickets = {}
    for repair_id in allocation.repair_ids:
        tickets[repair_id] = repair_parts_reserved(
            repair_id=repair_id, reservations=allocation.reserved[repair_id], order_id=order_id
        ).ticket_number
    return [
        Served(tickets[repair_id], [(x.part.part_number, x.quantity) for x in reservations])
        for repair_id, reservations in allocation.reserved.items()
    ]


# --- parts orders and stock --------------------------------------------------------------------


def parts_order_receive(
    *, order_id: int, lines: list[tuple[str, int]] | None = None, actor_user: Any = None
) -> tuple[PartsOrder, list[Served]]:
    """Put delivered parts on the shelf (`parts.services.parts_order_receive`; the stock
    movements carry `actor_user`) and move the repairs that got them on. One transaction.
    Returns the order and who was served, first come first: not always the repairs its lines
    were requested for."""
    with transaction.atomic():
        order, allocation = parts_services.parts_order_receive(
            order_id=order_id, lines=lines, actor_user=actor_user
        )
        served = apply_allocation(
            center_id=order.center_id, allocation=allocation, order_id=order.pk
        )
        # A repair this order was requested for but did not serve loses the order's ETA on its
        # status page (parts_eta reads standing orders) without an event of its own.
        waited = order.lines.exclude(repair_id=None).values_list(
            "repair_id", "repair__ticket_number"
        )
        for repair_id, ticket_number in waited:
            public_cache.forget(ticket_number)
            transaction.on_commit(partial(public_cache.forget, ticket_number))
            detail_cache.forget(repair_id)
            transaction.on_commit(partial(detail_cache.forget, repair_id))
    return order, served


def parts_order_ship(
    *, order_id: int, carrier: str, tracking_number: str, eta: dt.date | None
) -> PartsOrder:
    """The warehouse shipped it. Repairs waiting on its lines get a customer-visible ETA."""
    with transaction.atomic():
        order, repair_ids = parts_services.parts_order_ship(
            order_id=order_id, carrier=carrier, tracking_number=tracking_number, eta=eta
        )
        if eta is not None:
            for repair_id in repair_ids:
                repair_part_eta_known(repair_id=repair_id, eta=eta)
    return order


def parts_order_cancel(*, order_id: int, reason: str) -> tuple[PartsOrder, PartsOrder | None]:
    """The order will not come (`parts.services.parts_order_cancel`, which requests what its
    repairs still wait for again). Each of those repairs loses its part's date: promises
    withdrawn, one customer-visible event, one message. One transaction: rolled back, nothing
    was said. Returns the order and the new request (None when nobody waited)."""
    with transaction.atomic():
        order, repair_ids, again = parts_services.parts_order_cancel(
            order_id=order_id, reason=reason
        )
        for repair_id in repair_ids:
            repair_part_eta_withdrawn(
                repair_id=repair_id, order_id=order.pk, again_id=again.pk if again else None
            )
    return order, again


def stock_adjust(
    *, center: ServiceCenter, part: Part, delta: int, reason: str, actor_user: Any = None
) -> Stock:
    """A count correction or a delivery outside an order (`parts.services.stock_adjust`: an
    `adjust` movement with the reason and `actor_user`); new units go to waiting repairs, which
    move on. One transaction."""
    with transaction.atomic():
        stock, allocation = parts_services.stock_adjust(
            center=center, part=part, delta=delta, reason=reason, actor_user=actor_user
        )
        apply_allocation(center_id=center.pk, allocation=allocation)
    return stock


@dataclass(frozen=True)
class Transferred:
    """A transfer between centers: both stock rows after it, who the arrivals served at the
    receiving center (first come first), the reference both movements carry, and whether it
    repeated a form already sent (then nothing moved)."""

    sent: Stock
    received: Stock
    served: list[Served]
    reference: str
    repeated: bool


def stock_transfer(
    *,
    from_center: ServiceCenter,
    to_center: ServiceCenter,
    part: Part,
    quantity: int,
    reason: str,
    actor_user: Any = None,
    request_key: str = "",
) -> Transferred:
    """Free units of a part go to another center (`parts.services.stock_transfer`: a
    `transfer_out` and a `transfer_in` movement with the reason and `actor_user`); the arrivals
    fill the receiver's waiting reservations first come, first served and those repairs move on,
    with their timeline events. One transaction."""
    with transaction.atomic():
        done = parts_services.stock_transfer(
            from_center=from_center,
            to_center=to_center,
            part=part,
            quantity=quantity,
            reason=reason,
            actor_user=actor_user,
            request_key=request_key,
        )
        served = apply_allocation(center_id=to_center.pk, allocation=done.allocation)
    return Transferred(
        Stock.objects.select_related("center", "part").get(pk=done.sent.pk),
        Stock.objects.select_related("center", "part").get(pk=done.received.pk),
        served,
        done.reference,
        done.repeated,
    )


# --- giving parts back -------------------------------------------------------------------------


def give_up(repair: Repair | int, name: str, actor: Any, *, reason: str) -> Repair:
    """decline, report_unrepairable, cancel: lock, record the reason, move, release the parts.
    Call inside `atomic_service`."""
    r = lock_for(repair, name, actor)
    r.outcome_reason = reason
    moved = move(r, name, actor)
    with translation.override(r.language):
        record_transition(moved, text=reason, data={"reason": reason})
    freed = parts_services.reservations_release(repair=r, actor_user=as_actor(actor).user)
    if freed:
        allocate_after_commit(center_id=r.center_id, part_ids=freed)
    return r


# --- the repair side of allocation ----------------------------------------------------------


def repair_parts_reserved(
    *, repair_id: int, reservations: list[Reservation], order_id: int | None = None
) -> Repair:
    """Called by receiving, inside its transaction (repair already locked): parts were put
    aside for this repair (from parts order `order_id`, if any; the order page reads it back).
    Tells the timeline; once nothing is waiting, keeps the part-ETA promises and moves
    awaiting_parts on to ready_to_repair. Returns the repair."""
    repair = lock_repair(repair_id)
    parts = ", ".join(f"{x.part.part_number} x{x.quantity}" for x in reservations)
    data: dict[str, Any] = {
        "reserved": [x.pk for x in reservations],
        "parts": [
            {"part_number": x.part.part_number, "quantity": x.quantity} for x in reservations
        ],
    }
    if order_id is not None:
        data["order"] = order_id
    record_event(
        repair,
        SYSTEM_ACTOR,
        EventKind.PARTS,
        code="parts_put_aside",
        params={"parts": parts},
        data=data,
        customer_visible=True,
    )
    refresh_reservations(repair)
    if gate.check(repair, ["parts_not_on_hand"]):
        return repair
    fulfil_open_promises(repair, PromiseKind.PART_ETA, SYSTEM_ACTOR)
    if repair.state == State.AWAITING_PARTS:
        repair_parts_arrived(repair=repair)
    return repair


@atomic_service
def repair_parts_arrived(*, repair: Repair | int, actor: Any = SYSTEM_ACTOR) -> Repair:
    """awaiting_parts -> ready_to_repair, run by the system when every reservation is reserved.
    Locks the repair; raises TransitionBlocked while a reservation waits."""
    return plain_transition(repair, "parts_arrived", actor, code="all_parts_here")


def repair_part_eta_known(*, repair_id: int, eta: dt.date) -> None:
    """Called by the warehouse's shipping, inside its transaction: a part this repair waits
    for is on its way. Locks the repair; records a promise with its ETA."""
    repair = lock_repair(repair_id)
    if repair.state not in OPEN_STATES:
        return
    due = timezone.make_aware(dt.datetime.combine(eta, dt.time(18, 0)))
    Promise.objects.create(repair=repair, kind=PromiseKind.PART_ETA, due_at=due, note="")
    record_event(
        repair,
        SYSTEM_ACTOR,
        EventKind.PARTS,
        code="part_shipped",
        params={"eta": f"{eta}"},
        data={"eta": eta.isoformat()},
        customer_visible=True,
    )


def repair_part_eta_withdrawn(*, repair_id: int, order_id: int, again_id: int | None) -> None:
    """Called by cancelling parts order `order_id`, inside its transaction (the parts call
    locked the repair): the date this repair's part was expected is no longer known. Withdraws
    its open part-ETA promises, writes one customer-visible event and queues one message per
    (order, repair); `again_id` is the order that requests the part again."""
    repair = lock_repair(repair_id)
    if repair.state not in OPEN_STATES:
        return
    promises = list(Promise.objects.open().filter(repair=repair, kind=PromiseKind.PART_ETA))
    Promise.objects.filter(pk__in=[p.pk for p in promises]).update(withdrawn_at=timezone.now())
    record_event(
        repair,
        SYSTEM_ACTOR,
        EventKind.PARTS,
        code=PART_ETA_WITHDRAWN,
        data={
            "order": order_id,
            "requested_again": again_id,
            "withdrawn": [p.pk for p in promises],
        },
        customer_visible=True,
    )
    kind = NotificationKind.PARTS_DELAYED
    queue_message(repair, kind, {}, key=f"{repair.pk}:{kind}:order-{order_id}")
    settle_appointment(repair)  # a visit booked on parts that will not come is withdrawn
