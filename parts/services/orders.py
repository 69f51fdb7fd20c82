"""Parts orders to the central warehouse: request, ship, receive (handing the units out first
come, first served through `parts.services.stock`) and cancel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
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
    """The warehouse shipped it. Returns the order and the repairs that still wait on one of its
    parts (the caller tells them the ETA)."""
    carrier = clean_text(carrier, field="carrier", max_length=60, required=True)
    tracking_number = clean_text(
        tracking_number, field="tracking_number", max_length=60, required=True
    )
    with transaction.atomic():
        order = _lock_order(order_id)
        if order.state != PartsOrderState.REQUESTED:
            raise _order_blocked(order, "ship")
        order.ship(carrier=carrier, tracking_number=tracking_number, eta=eta)
        order.save()
        # Only repairs that still wait for one of these parts: a repair that was declined, or
        # that first come, first served already served from another delivery, must not be told
        # (or promised) that a part is on its way.
        still_waiting = Reservation.objects.filter(
            center_id=order.center_id,
            part_id__in=order.lines.values("part_id"),
            status=ReservationStatus.WAITING,
        ).values("repair_id")
        repair_ids = sorted(
            set(order.lines.filter(repair_id__in=still_waiting).values_list("repair_id", flat=True))
        )
    return order, repair_ids


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


def parts_order_cancel(*, order_id: int, reason: str) -> PartsOrder:
    reason = clean_text(reason, field="reason", max_length=300, required=True)
    with transaction.atomic():
        order = _lock_order(order_id)
        if order.state not in (PartsOrderState.REQUESTED, PartsOrderState.SHIPPED):
            raise _order_blocked(order, "cancel")
        order.cancel(reason=reason)
        order.save()
    return order
