"""The stock movements ledger: the one place that changes a Stock row's counts.

`move_stock` runs the conditional F() update of a locked row and inserts the movements that
explain it, in the caller's transaction, so per (center, part) the movements always sum to
`on_hand` and `reserved`. Every write of stock (reserve, release, consume, receive, adjust, and
the seed data, test fixtures and benchmark through `stock_set_count`) comes through here;
`manage.py audit_ledgers` proves the sums.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F

from parts.models import Stock, StockMovement, StockMovementKind

OPENING_BALANCE = "opening balance"


def lock_stock(center_id: int, part_ids: list[int]) -> dict[int, Stock]:
    """Lock (creating where missing, at zero) the stock rows of these parts at a center, in pk
    order. A new row needs no movement: zero is the sum of none."""
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


def movement(
    kind: str,
    *,
    part_id: int | None = None,
    on_hand: int = 0,
    reserved: int = 0,
    reason: str = "",
    repair_id: int | None = None,
    parts_order_id: int | None = None,
    actor_user: Any = None,
) -> StockMovement:
    """An unsaved movement; `move_stock` gives it its row's center and part and saves it."""
    return StockMovement(
        kind=kind,
        part_id=part_id,
        delta_on_hand=on_hand,
        delta_reserved=reserved,
        reason=reason,
        repair_id=repair_id,
        parts_order_id=parts_order_id,
        created_by=actor_user if getattr(actor_user, "pk", None) else None,
    )


def move_stock(stock: Stock, movements: list[StockMovement]) -> bool:
    """Change a locked Stock row by the sum of `movements` and save them, or change nothing.

    One conditional UPDATE: it applies only while the row keeps 0 <= reserved <= on_hand after
    the change (the database constraints would refuse it anyway, with an IntegrityError that
    breaks the transaction; a refused change here lets the caller say why). Returns whether it
    applied. Keeps the in-memory row in step, which is exact because the caller holds its lock.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("move_stock needs the caller's transaction (row lock, movements).")
    on_hand = sum(m.delta_on_hand for m in movements)
    reserved = sum(m.delta_reserved for m in movements)
    updated = Stock.objects.filter(
        pk=stock.pk, reserved__gte=-reserved, on_hand__gte=F("reserved") + (reserved - on_hand)
    ).update(on_hand=F("on_hand") + on_hand, reserved=F("reserved") + reserved)
    if updated != 1:
        return False
    for m in movements:
        m.center_id, m.part_id = stock.center_id, stock.part_id
    StockMovement.objects.bulk_create(movements)
    stock.on_hand += on_hand
    stock.reserved += reserved
    return True


def stock_set_count(
    *, center_id: int, part_id: int, on_hand: int, reason: str = OPENING_BALANCE
) -> Stock:
    """Bring a row's on_hand to `on_hand` with one `adjust` movement of the difference (none when
    it is there already), creating the row where missing. For seed data, test fixtures and the
    benchmark; staff correct counts with `stock_adjust`, which hands new units to waiting
    repairs. Locks the stock row; raises ValueError below what is reserved."""
    with transaction.atomic():
        stock = lock_stock(center_id, [part_id])[part_id]
        delta = on_hand - stock.on_hand
        if delta and not move_stock(
            stock, [movement(StockMovementKind.ADJUST, on_hand=delta, reason=reason)]
        ):
            raise ValueError(f"{on_hand} is below the {stock.reserved} units reserved.")
    return stock
