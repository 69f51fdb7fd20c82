"""Every write to stock and reservations.

Lock order, everywhere: PartsOrder row -> Repair rows (by pk) -> Stock rows (by pk). Taking them
in one order is what keeps two transactions from waiting on each other forever. (Diagnosing only
inserts a new order, so holding a repair while creating one does not break the order.)

Every change of a count goes through `parts.services.ledger.move_stock`, which writes its
movement (kind, repair, parts order, who, why) in the same transaction.

What happens to the repairs is not decided here: the writes that hand out stock return an
`Allocation` (the reservations that got their units, per repair, and the parts that need another
pass after commit), and `workflows/services/supply.py` wraps them in its transaction and moves
the repairs on.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.errors import Message, ValidationFailed
from core.validation import clean_text
from parts.models import (
    Part,
    Reservation,
    ReservationStatus,
    Stock,
    StockMovement,
)
from parts.models import StockMovementKind as Kind
from parts.services.ledger import lock_stock, move_stock, movement
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


# The tests and the allocation edge cases reach the lock through this module.
_lock_stock = lock_stock


def _by_part(reservations: list[Reservation]) -> dict[int, list[Reservation]]:
    grouped: dict[int, list[Reservation]] = defaultdict(list)
    for r in reservations:
        grouped[r.part_id].append(r)
    return dict(sorted(grouped.items()))


def reservation_create(
    *, repair: Any, part: Part, quantity: int, actor_user: Any = None
) -> Reservation:
    """Reserve `quantity` of `part` for `repair` from this center's stock, or queue it as waiting.

    Caller holds the repair's row lock (lock order). Locks the stock row; a reservation that gets
    its units writes a `reserve` movement. First come, first served: while older reservations of
    the part wait, a new one waits behind them even if a unit is free.
    """
    stock = lock_stock(repair.center_id, [part.pk])[part.pk]
    queue_ahead = Reservation.objects.filter(
        center_id=repair.center_id, part=part, status=ReservationStatus.WAITING
    ).exists()
    status = ReservationStatus.WAITING
    if not queue_ahead and stock.available >= quantity:
        reserve = movement(
            Kind.RESERVE, reserved=quantity, repair_id=repair.pk, actor_user=actor_user
        )
        if move_stock(stock, [reserve]):
            status = ReservationStatus.RESERVED
    return Reservation.objects.create(
        repair=repair,
        center_id=repair.center_id,
        part=part,
        quantity=quantity,
        unit_price=part.unit_price,
        status=status,
    )


def _unreserve(repair: Any, reserved: list[Reservation], kind: str, actor_user: Any) -> None:
    """Take the units of these reservations out of `reserved` (a release) or out of `reserved`
    and `on_hand` together (a consume), one movement per reservation. Locks the stock rows."""
    stocks = lock_stock(repair.center_id, [r.part_id for r in reserved])
    used = kind == Kind.CONSUME
    for part_id, rows in _by_part(reserved).items():
        changes = [
            movement(
                kind,
                on_hand=-r.quantity if used else 0,
                reserved=-r.quantity,
                repair_id=repair.pk,
                actor_user=actor_user,
            )
            for r in rows
        ]
        if not move_stock(stocks[part_id], changes):
            # The constraints make this unreachable unless the counts were edited by hand.
            raise ValidationFailed({"parts": [f"Stock of {part_id} does not cover the change."]})


def reservations_release(
    *, repair: Any, actor_user: Any = None, part_ids: list[int] | None = None
) -> list[int]:
    """Give back what a repair holds and drop what it waits for (only of `part_ids`, when
    given: a new quote that no longer needs them). Returns the part ids freed.

    Caller holds the repair's row lock, and hands the freed stock to the next waiting repair
    in a transaction of its own after commit, to keep the lock order. Writes a `release`
    movement per reservation that held units.
    """
    rows = Reservation.objects.filter(
        repair=repair, status__in=[ReservationStatus.WAITING, ReservationStatus.RESERVED]
    )
    if part_ids is not None:
        rows = rows.filter(part_id__in=part_ids)
    held = list(rows.order_by("pk"))
    reserved = [r for r in held if r.status == ReservationStatus.RESERVED]
    if reserved:
        _unreserve(repair, reserved, Kind.RELEASE, actor_user)
    Reservation.objects.filter(pk__in=[r.pk for r in held]).update(
        status=ReservationStatus.RELEASED, updated_at=timezone.now()
    )
    return sorted({r.part_id for r in reserved})


def reservations_consume(*, repair: Any, actor_user: Any = None) -> None:
    """The repair used its parts: they leave on_hand and reserved together (a `consume`
    movement per reservation). Caller holds the repair lock."""
    reserved = list(
        Reservation.objects.filter(repair=repair, status=ReservationStatus.RESERVED).order_by("pk")
    )
    if not reserved:
        return
    _unreserve(repair, reserved, Kind.CONSUME, actor_user)
    Reservation.objects.filter(pk__in=[r.pk for r in reserved]).update(
        status=ReservationStatus.CONSUMED, updated_at=timezone.now()
    )


def allocate_waiting(
    *, center_id: int, part_ids: list[int], arrivals: list[StockMovement] | None = None
) -> Allocation:
    """Put `arrivals` (unsaved `receive`/`adjust` movements with their part) on the shelf, then
    fill waiting reservations oldest first.

    Caller holds the transaction. Locks the repairs that wait for these parts (pk order), then
    the stock rows. Strict FIFO: a reservation the free units can't cover holds the line for the
    ones behind it. Each reservation filled writes a `reserve` movement with its repair, and with
    the parts order and the person of the arrival that freed the units. Returns what got units;
    the caller moves those repairs on, in this transaction (`workflows.services.supply`).
    """
    allocation = Allocation()
    arrivals = arrivals or []
    part_ids = sorted(set(part_ids) | {m.part_id for m in arrivals})
    repair_ids = _lock_waiting_repairs(center_id, part_ids)
    stocks = lock_stock(center_id, part_ids)
    causes: dict[int, StockMovement] = {}
    for part_id in part_ids:
        arrived = [m for m in arrivals if m.part_id == part_id]
        if arrived:
            move_stock(stocks[part_id], arrived)  # adding units always keeps the invariant
            causes[part_id] = arrived[0]
    for part_id in part_ids:
        filled = _fill_in_order(
            center_id, stocks[part_id], repair_ids, allocation, cause=causes.get(part_id)
        )
        for reservation in filled:
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
    center_id: int,
    stock: Stock,
    locked_repairs: set[int],
    allocation: Allocation,
    cause: StockMovement | None = None,
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
    if filled and _reserve_filled(stock, filled, cause):
        return filled
    return []


def _reserve_filled(stock: Stock, filled: list[Reservation], cause: StockMovement | None) -> bool:
    """The filled reservations take their units (a `reserve` movement each) and are reserved."""
    changes = [
        movement(
            Kind.RESERVE,
            reserved=r.quantity,
            repair_id=r.repair_id,
            parts_order_id=cause.parts_order_id if cause else None,
            actor_user=cause.created_by if cause else None,
        )
        for r in filled
    ]
    if not move_stock(stock, changes):  # unreachable: the row is locked and `free` was counted
        return False
    Reservation.objects.filter(pk__in=[r.pk for r in filled]).update(
        status=ReservationStatus.RESERVED, updated_at=timezone.now()
    )
    for r in filled:
        r.status = ReservationStatus.RESERVED
    return True


def stock_adjust(
    *, center: ServiceCenter, part: Part, delta: int, reason: str, actor_user: Any = None
) -> tuple[Stock, Allocation]:
    """A manager's count correction or a delivery outside an order: an `adjust` movement with its
    reason and who made it. Never below what is reserved. Locks as `allocate_waiting` (adding)
    or the stock row (taking away). Returns the stock row and what the new units handed out."""
    reason = clean_text(reason, field="reason", max_length=300, required=True)
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0 or abs(delta) > 100000:
        raise ValidationFailed({"delta": ["A whole number between -100000 and 100000, not 0."]})
    adjustment = movement(
        Kind.ADJUST, part_id=part.pk, on_hand=delta, reason=reason, actor_user=actor_user
    )
    allocation = Allocation()
    with transaction.atomic():
        if delta > 0:
            allocation = allocate_waiting(
                center_id=center.pk, part_ids=[part.pk], arrivals=[adjustment]
            )
        elif not move_stock(lock_stock(center.pk, [part.pk])[part.pk], [adjustment]):
            raise ValidationFailed(
                {"delta": ["Stock can't go below the units reserved for repairs."]}
            )
        return Stock.objects.get(center=center, part=part), allocation


# --- transfers between centers -----------------------------------------------------------------

MAX_TRANSFER = 100000
TRANSFER_REASON_LENGTH = 240  # what is left of a movement's 300 characters after the link
NOT_FREE = gettext_noop(
    "Only %(n)s free at %(center)s (on hand minus the units reserved for repairs)."
)


@dataclass
class Transfer:
    """A transfer: both stock rows after it, what the arrivals handed out at the receiver, the
    reference both movements carry, and whether it repeated a form already sent (nothing moved)."""

    sent: Stock
    received: Stock
    allocation: Allocation
    reference: str
    repeated: bool = False


def transfer_reference(request_key: str = "") -> str:
    """The reference both movements of a transfer carry: derived from a page form's one-time
    token (a second post of the same form finds it), else new."""
    if request_key:
        return "TR-" + hashlib.sha256(request_key.encode()).hexdigest()[:10].upper()
    return "TR-" + secrets.token_hex(5).upper()


def _check_transfer(from_center: Any, to_center: Any, quantity: Any, reason: Any) -> str:
    """Every refused field at once; returns the cleaned reason."""
    errors: dict[str, list[str]] = {}
    if from_center.pk == to_center.pk:
        errors["to_center"] = [Message(gettext_noop("Choose a center other than the sender."))]
    if type(quantity) is not int or not 0 < quantity <= MAX_TRANSFER:
        errors["quantity"] = [
            Message(gettext_noop("A whole number from 1 to %(n)s."), n=f"{MAX_TRANSFER:,}")
        ]
    try:
        reason = clean_text(
            reason, field="reason", max_length=TRANSFER_REASON_LENGTH, required=True
        )
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return reason


def _lock_transfer_rows(part_id: int, center_ids: list[int]) -> dict[int, Stock]:
    """Both centers' rows of the part (created at zero where missing), in one pk-ordered lock."""
    Stock.objects.bulk_create(
        [Stock(center_id=c, part_id=part_id) for c in sorted(center_ids)], ignore_conflicts=True
    )
    rows = (
        Stock.objects.select_for_update()
        .filter(part_id=part_id, center_id__in=center_ids)
        .order_by("pk")
    )
    return {s.center_id: s for s in rows}


def stock_transfer(
    *,
    from_center: ServiceCenter,
    to_center: ServiceCenter,
    part: Part,
    quantity: int,
    reason: str,
    actor_user: Any = None,
    request_key: str = "",
) -> Transfer:
    """Move `quantity` free units (on hand minus reserved: reserved units belong to repairs) of
    `part` to another center: a `transfer_out` at the sender and a `transfer_in` at the receiver,
    both with the reason, the other center, one reference and `actor_user`; the arrivals fill the
    receiver's waiting reservations first come, first served, as receiving does. The caller
    holds the transaction and moves the repairs served on. Locks the receiver's waiting repairs
    (pk order), then both stock rows in one pk-ordered lock. A `request_key` already seen on a
    transfer out of this center moves nothing."""
    reason = _check_transfer(from_center, to_center, quantity, reason)
    reference = transfer_reference(request_key)
    repair_ids = _lock_waiting_repairs(to_center.pk, [part.pk])
    rows = _lock_transfer_rows(part.pk, [from_center.pk, to_center.pk])
    sent, received = rows[from_center.pk], rows[to_center.pk]
    allocation = Allocation()
    if request_key and _already_sent(from_center.pk, reference):
        return Transfer(sent, received, allocation, reference, repeated=True)
    out, arrival = _legs(
        quantity, reason, reference, (from_center.code, to_center.code), actor_user
    )
    if not move_stock(sent, [out]):
        free = max(sent.on_hand - sent.reserved, 0)
        raise ValidationFailed({"quantity": [Message(NOT_FREE, n=free, center=from_center.code)]})
    move_stock(received, [arrival])  # adding units always keeps the invariant
    filled = _fill_in_order(to_center.pk, received, repair_ids, allocation, cause=arrival)
    for reservation in filled:
        allocation.reserved.setdefault(reservation.repair_id, []).append(reservation)
    return Transfer(sent, received, allocation, reference)


def _already_sent(center_id: int, reference: str) -> bool:
    return StockMovement.objects.filter(
        center_id=center_id, kind=Kind.TRANSFER_OUT, reason__endswith=f"{reference})"
    ).exists()


def _legs(
    quantity: int, reason: str, reference: str, codes: tuple[str, str], actor_user: Any
) -> tuple[StockMovement, StockMovement]:
    """The two movements of a transfer, linked: the reason, the other center, the reference."""
    sender, receiver = codes
    out = f"{reason} (→ {receiver}, {reference})"
    arrival = f"{reason} (← {sender}, {reference})"
    return (
        movement(Kind.TRANSFER_OUT, on_hand=-quantity, reason=out, actor_user=actor_user),
        movement(Kind.TRANSFER_IN, on_hand=quantity, reason=arrival, actor_user=actor_user),
    )
