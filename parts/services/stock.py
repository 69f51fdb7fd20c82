"""Every write to stock, reservations and parts orders.

Lock order, everywhere: PartsOrder row -> Repair rows (by pk) -> Stock rows (by pk). Taking them
in one order is what keeps two transactions from waiting on each other forever. (Diagnosing only
inserts a new order, so holding a repair while creating one does not break the order.)

What happens to the repairs is not decided here: the writes that hand out stock return an
`Allocation` (the reservations that got their units, per repair, and the parts that need another
pass after commit), and `workflows/services/supply.py` wraps them in its transaction and moves
the repairs on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.errors import ValidationFailed
from core.validation import clean_text
from parts.models import (
    Part,
    Reservation,
    ReservationStatus,
    Stock,
)
from service_center.models import ServiceCenter


@dataclass
class Allocation:
    """What one allocation pass did: reservations that got their units, by repair id, and the
    parts whose queue needs another pass after commit (a repair there started waiting after the
    waiting repairs were locked; locking it now would break the lock order)."""

    reserved: dict[int, list[Reservation]] = field(default_factory=dict)
    again: list[int] = field(default_factory=list)

    @property
    def repair_ids(self) -> list[int]:
        return sorted(self.reserved)


def _lock_stock(center_id: int, part_ids: list[int]) -> dict[int, Stock]:
    """Lock (creating where missing) the stock rows of these parts at a center, in pk order."""
    Stock.objects.bulk_create(
        [Stock(center_id=center_id, part_id=p) for p in sorted(set(part_ids))],
        ignore_conflicts=True,
    )
    rows = (
        Stock.objects.select_for_update()
        .filter(center_id=center_id, part_id__in=part_ids)
        .order_by("pk")
    )
    return {s.part_id: s for s in rows}


def reservation_create(*, repair: Any, part: Part, quantity: int) -> Reservation:
    """Reserve `quantity` of `part` for `repair` from this center's stock, or queue it as waiting.

    Caller holds the repair's row lock (lock order). Locks the stock row. First come, first served:
    while older reservations of the part wait, a new one waits behind them even if a unit is free.
    """
    stock = _lock_stock(repair.center_id, [part.pk])[part.pk]
    queue_ahead = Reservation.objects.filter(
        center_id=repair.center_id, part=part, status=ReservationStatus.WAITING
    ).exists()
    status = ReservationStatus.WAITING
    if not queue_ahead and stock.on_hand - stock.reserved >= quantity:
        updated = Stock.objects.filter(pk=stock.pk, on_hand__gte=F("reserved") + quantity).update(
            reserved=F("reserved") + quantity
        )
        if updated == 1:
            status = ReservationStatus.RESERVED
    return Reservation.objects.create(
        repair=repair,
        center_id=repair.center_id,
        part=part,
        quantity=quantity,
        unit_price=part.unit_price,
        status=status,
    )


def reservations_release(*, repair: Any) -> list[int]:
    """Give back what a repair holds and drop what it waits for. Returns the part ids freed.

    Caller holds the repair's row lock, and hands the freed stock to the next waiting repair
    in a transaction of its own after commit, to keep the lock order.
    """
    held = list(
        Reservation.objects.filter(
            repair=repair, status__in=[ReservationStatus.WAITING, ReservationStatus.RESERVED]
        ).order_by("pk")
    )
    reserved = [r for r in held if r.status == ReservationStatus.RESERVED]
    if reserved:
        stocks = _lock_stock(repair.center_id, [r.part_id for r in reserved])
        for r in reserved:
            Stock.objects.filter(pk=stocks[r.part_id].pk).update(
                reserved=F("reserved") - r.quantity
            )
    Reservation.objects.filter(pk__in=[r.pk for r in held]).update(
        status=ReservationStatus.RELEASED, updated_at=timezone.now()
    )
    return sorted({r.part_id for r in reserved})


def reservations_consume(*, repair: Any) -> None:
    """The repair used its parts: they leave on_hand and reserved together.

    Caller holds the repair lock."""
    reserved = list(
        Reservation.objects.filter(repair=repair, status=ReservationStatus.RESERVED).order_by("pk")
    )
    if not reserved:
        return
    stocks = _lock_stock(repair.center_id, [r.part_id for r in reserved])
    for r in reserved:
        updated = Stock.objects.filter(
            pk=stocks[r.part_id].pk, reserved__gte=r.quantity, on_hand__gte=r.quantity
        ).update(reserved=F("reserved") - r.quantity, on_hand=F("on_hand") - r.quantity)
        if updated != 1:  # the constraints make this unreachable unless data was edited by hand
            raise ValidationFailed({"parts": [f"Stock of {r.part_id} does not cover the use."]})
    Reservation.objects.filter(pk__in=[r.pk for r in reserved]).update(
        status=ReservationStatus.CONSUMED, updated_at=timezone.now()
    )


def allocate_waiting(
    *, center_id: int, part_ids: list[int], arrivals: dict[int, int] | None = None
) -> Allocation:
    """Add `arrivals` to on_hand, then fill waiting reservations oldest first.

    Caller holds the transaction. Locks the repairs that wait for these parts (pk order), then
    the stock rows. Strict FIFO: a reservation the free units can't cover holds the line for the
    ones behind it. Returns what got units; the caller moves those repairs on, in this
    transaction (`workflows.services.supply`).
    """
    allocation = Allocation()
    repair_ids = _lock_waiting_repairs(center_id, part_ids)
    stocks = _lock_stock(center_id, part_ids)
    for part_id, quantity in (arrivals or {}).items():
        Stock.objects.filter(pk=stocks[part_id].pk).update(on_hand=F("on_hand") + quantity)
        stocks[part_id].on_hand += quantity
    for part_id in sorted(set(part_ids)):
        for reservation in _fill_in_order(center_id, stocks[part_id], repair_ids, allocation):
            allocation.reserved.setdefault(reservation.repair_id, []).append(reservation)
    return allocation


def _lock_waiting_repairs(center_id: int, part_ids: list[int]) -> set[int]:
    # The repairs app sits above this one: reach its model through the relation, not an import.
    repair_model = Reservation._meta.get_field("repair").related_model
    waiting = Reservation.objects.filter(
        center_id=center_id, part_id__in=part_ids, status=ReservationStatus.WAITING
    ).values("repair_id")
    return set(
        repair_model.objects.select_for_update()
        .filter(pk__in=waiting)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _fill_in_order(
    center_id: int, stock: Stock, locked_repairs: set[int], allocation: Allocation
) -> list[Reservation]:
    free = stock.on_hand - stock.reserved
    queue = (
        Reservation.objects.filter(
            center_id=center_id, part_id=stock.part_id, status=ReservationStatus.WAITING
        )
        .select_related("part")
        .order_by("created_at", "id")
    )
    filled = []
    for reservation in queue:
        if reservation.quantity > free:
            break  # first come, first served: nobody overtakes the head of the queue
        if reservation.repair_id not in locked_repairs:
            # Its repair started waiting after we locked the waiting repairs; locking it now
            # would break the lock order. Another pass, after this commit, locks it first.
            allocation.again.append(stock.part_id)
            break
        free -= reservation.quantity
        filled.append(reservation)
    if filled:
        taken = sum(r.quantity for r in filled)
        Stock.objects.filter(pk=stock.pk).update(reserved=F("reserved") + taken)
        Reservation.objects.filter(pk__in=[r.pk for r in filled]).update(
            status=ReservationStatus.RESERVED, updated_at=timezone.now()
        )
        for r in filled:
            r.status = ReservationStatus.RESERVED
    return filled


def stock_adjust(
    *, center: ServiceCenter, part: Part, delta: int, reason: str
) -> tuple[Stock, Allocation]:
    """A manager's count correction or a delivery outside an order. Never below what is reserved.
    Returns the stock row and what the new units handed out."""
    reason = clean_text(reason, field="reason", max_length=300, required=True)
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0 or abs(delta) > 100000:
        raise ValidationFailed({"delta": ["A whole number between -100000 and 100000, not 0."]})
    allocation = Allocation()
    with transaction.atomic():
        if delta > 0:
            allocation = allocate_waiting(
                center_id=center.pk, part_ids=[part.pk], arrivals={part.pk: delta}
            )
        else:
            stock = _lock_stock(center.pk, [part.pk])[part.pk]
            updated = Stock.objects.filter(pk=stock.pk, on_hand__gte=F("reserved") - delta).update(
                on_hand=F("on_hand") + delta
            )
            if updated != 1:
                raise ValidationFailed(
                    {"delta": ["Stock can't go below the units reserved for repairs."]}
                )
        return Stock.objects.get(center=center, part=part), allocation
