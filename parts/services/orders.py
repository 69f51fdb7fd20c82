"""Parts orders to the central warehouse: request, ship, receive (handing the units out first
come, first served through `parts.services.stock`) and cancel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.errors import Message, NotFound, TransitionBlocked, ValidationFailed
from core.validation import clean_text
from parts.models import (
    Part,
    PartsOrder,
    PartsOrderLine,
    PartsOrderState,
    Reservation,
    ReservationStatus,
    StockMovementKind,
)
from parts.services.ledger import movement
from parts.services.stock import Allocation, allocate_waiting

# Units of one part on one order line: more is a typo, not an order (the API refuses it).
MAX_LINE_QUANTITY = 1000


def parts_order_request(
    *, center_id: int, lines: list[tuple[Part, int, Any]], actor_user: Any = None
) -> PartsOrder:
    """A request to the central warehouse; lines are (part, quantity, repair or None)."""
    if not lines:
        raise ValidationFailed({"lines": ["Order at least one part."]})
    order = PartsOrder.objects.create(center_id=center_id, created_by=actor_user)
    PartsOrderLine.objects.bulk_create(
        [
            PartsOrderLine(order=order, part=part, quantity=quantity, repair=repair)
            for part, quantity, repair in lines
        ]
    )
    return order


def _lock_order(order_id: int) -> PartsOrder:
    try:
        return PartsOrder.objects.select_for_update().get(pk=order_id)
    except PartsOrder.DoesNotExist:
        raise NotFound("No such parts order.") from None


def _order_blocked(order: PartsOrder, name: str) -> TransitionBlocked:
    label = PartsOrderState(order.state).label
    return TransitionBlocked(
        [{"code": "wrong_state", "message": f"Not possible while the order is “{label}”."}], name
    )


def parts_order_ship(
    *, order_id: int, carrier: str, tracking_number: str, eta: dt.date | None
) -> tuple[PartsOrder, list[int]]:
    """The warehouse shipped it. Locks the order, then the repairs on its lines. Raises
    ValidationFailed (`eta` before today), TransitionBlocked. Returns the order and the repairs
    that still wait on one of its lines (the caller tells them the ETA)."""
    carrier = clean_text(carrier, field="carrier", max_length=60, required=True)
    tracking_number = clean_text(
        tracking_number, field="tracking_number", max_length=60, required=True
    )
    if eta is not None and eta < timezone.localdate():
        raise ValidationFailed(
            {"eta": [gettext_noop("The expected arrival can't be in the past.")]}
        )
    with transaction.atomic():
        order = _lock_order(order_id)
        if order.state != PartsOrderState.REQUESTED:
            raise _order_blocked(order, "ship")
        order.ship(carrier=carrier, tracking_number=tracking_number, eta=eta)
        order.save()
        repair_ids = sorted({r.repair_id for r in _waiting_on_lines(order)})
    return order, repair_ids


def _waiting_on_lines(order: PartsOrder) -> list[Reservation]:
    """The waiting reservations this order's lines stand for: a line's repair still waiting for
    the line's part. A repair that was declined, or that first come, first served already served
    from another delivery, is not among them: it must not be told (or promised) that a part is
    on its way, nor lose a date it no longer needs. Locks those repairs first (pk order), so
    nothing fills the reservations while the caller acts on them."""
    lines = list(order.lines.exclude(repair_id=None).values_list("repair_id", "part_id"))
    wanted = set(lines)
    # The repairs app sits above this one: reach its model through the relation, not an import.
    repair_model = Reservation._meta.get_field("repair").related_model
    list(
        repair_model.objects.select_for_update()
        .filter(pk__in={repair_id for repair_id, _ in lines})
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    waiting = Reservation.objects.filter(
        center_id=order.center_id,
        repair_id__in={repair_id for repair_id, _ in lines},
        part_id__in={part_id for _, part_id in lines},
        status=ReservationStatus.WAITING,
    )
    return [r for r in waiting.order_by("pk") if (r.repair_id, r.part_id) in wanted]


def parts_order_receive(
    *, order_id: int, lines: list[tuple[str, int]] | None = None, actor_user: Any = None
) -> tuple[PartsOrder, Allocation]:
    """Put delivered parts on the shelf and hand them out first come, first served.

    `lines` is [(part_number, quantity)] for a partial delivery; None receives all outstanding.
    One transaction: the order row, then waiting repairs, then stock rows are locked. Each order
    line that got units writes a `receive` movement with the order and who received it. Returns
    the order and what was handed out.
    """
    with transaction.atomic():
        order = _lock_order(order_id)
        if order.state not in (PartsOrderState.REQUESTED, PartsOrderState.SHIPPED):
            raise _order_blocked(order, "receive")
        # Lock the lines only (of="self"): FOR UPDATE through the join would lock the Part rows
        # too, and every transaction that inserts a row pointing at the part (a reservation, a
        # movement) waits for them at COMMIT (deferred foreign-key checks) while holding its
        # repair, which this one waits for next: a deadlock.
        lines_locked = order.lines.select_related("part").select_for_update(of=("self",))
        order_lines = list(lines_locked.order_by("pk"))
        arrivals = [
            movement(
                StockMovementKind.RECEIVE,
                part_id=line.part_id,
                on_hand=units,
                parts_order_id=order.pk,
                actor_user=actor_user,
            )
            for line, units in _apply_delivery(order_lines, lines)
        ]
        allocation = allocate_waiting(
            center_id=order.center_id, part_ids=[m.part_id for m in arrivals], arrivals=arrivals
        )
        if all(line.outstanding == 0 for line in order_lines):
            order.receive()
            order.save()
    return order, allocation


def _wanted(order_lines: list[PartsOrderLine], delivered: list[tuple[str, int]]) -> dict[str, int]:
    """{part_number: units delivered} of a partial delivery, checked against the order."""
    wanted: dict[str, int] = {}
    known = {line.part.part_number for line in order_lines}
    for part_number, quantity in delivered:
        if part_number not in known:
            raise ValidationFailed(
                {
                    "lines": [
                        Message(gettext_noop("%(part)s is not on this order."), part=part_number)
                    ]
                }
            )
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValidationFailed({"lines": ["Quantities are whole numbers from 1."]})
        wanted[part_number] = wanted.get(part_number, 0) + quantity
    return wanted


def _apply_delivery(
    order_lines: list[PartsOrderLine], delivered: list[tuple[str, int]] | None
) -> list[tuple[PartsOrderLine, int]]:
    """Mark order lines received; returns [(line, units it received)] for the lines that did."""
    wanted = None if delivered is None else _wanted(order_lines, delivered)
    arrived: list[tuple[PartsOrderLine, int]] = []
    for line in order_lines:
        number = line.part.part_number
        take = line.outstanding if wanted is None else min(line.outstanding, wanted.get(number, 0))
        if wanted is not None:
            wanted[number] = wanted.get(number, 0) - take
        if take:
            line.quantity_received += take
            line.save(update_fields=["quantity_received"])
            arrived.append((line, take))
    if wanted is not None and any(v > 0 for v in wanted.values()):
        raise ValidationFailed({"lines": ["More units than the order still expects."]})
    if not arrived:
        raise ValidationFailed({"lines": ["Nothing is outstanding on this order."]})
    return arrived


def parts_order_cancel(
    *, order_id: int, reason: str
) -> tuple[PartsOrder, list[int], PartsOrder | None]:
    """The order will not come. Locks the order, its parts, then the repairs on its lines.
    What those repairs still wait for is requested again, in a new order from the system.
    Raises TransitionBlocked unless the order is requested or shipped. Returns the order, the
    repairs that waited on it (the caller tells them their date is no longer known) and the new
    order (None when nobody waited)."""
    reason = clean_text(reason, field="reason", max_length=300, required=True)
    with transaction.atomic():
        order = _lock_order(order_id)
        if order.state not in (PartsOrderState.REQUESTED, PartsOrderState.SHIPPED):
            raise _order_blocked(order, "cancel")
        order.cancel(reason=reason)
        order.save()
        # No lock on the Part rows: receiving locks only its lines (`of=("self",)`), and the
        # movements it writes check their part's key (FOR KEY SHARE), which a FOR UPDATE here
        # would block while this waits for a repair receiving holds: a deadlock.
        waiting = _waiting_on_lines(order)
        again = _request_again(order.center_id, waiting) if waiting else None
    return order, sorted({r.repair_id for r in waiting}), again


def _request_again(center_id: int, waiting: list[Reservation]) -> PartsOrder:
    """A new request to the warehouse, by the system, for these waiting reservations."""
    order = PartsOrder.objects.create(center_id=center_id, created_by=None)
    PartsOrderLine.objects.bulk_create(
        [
            PartsOrderLine(
                order=order, part_id=r.part_id, quantity=r.quantity, repair_id=r.repair_id
            )
            for r in waiting
        ]
    )
    return order
