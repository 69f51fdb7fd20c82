"""Reads of parts, stock and parts orders; each with its own select/prefetch (constant queries)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from core.errors import NotFound, ValidationFailed
from parts.models import (
    Part,
    PartsOrder,
    PartsOrderLine,
    PartsOrderState,
    Reservation,
    ReservationStatus,
    Stock,
    StockMovement,
)
from service_center.models import ServiceCenter


def parts_list(*, center_id: int | None, product_model: str | None = None) -> QuerySet[Part]:
    """Parts (optionally those fitting one product model) with this center's stock row."""
    queryset = Part.objects.order_by("part_number").prefetch_related("compatible_models")
    if product_model:
        queryset = queryset.filter(compatible_models__code=product_model)
    stock = Stock.objects.filter(center_id=center_id) if center_id else Stock.objects.none()
    return queryset.prefetch_related(Prefetch("stock", queryset=stock, to_attr="center_stock"))


def stock_list(*, center_id: int | None) -> QuerySet[Stock]:
    queryset = Stock.objects.select_related("part", "center").order_by(
        "center__code", "part__part_number"
    )
    return queryset.filter(center_id=center_id) if center_id else queryset


def stock_movements(
    *, center_id: int | None, part: Part | None = None, since: dt.datetime | None = None
) -> QuerySet[StockMovement]:
    """The stock ledger, newest first: one center's (None: every center), optionally of one part
    and from a moment on. The names shown come in the same query (annotations, no joins of whole
    rows), so a page of any size costs one query (indexes: stock_movement_part_time, _time)."""
    queryset = StockMovement.objects.annotate(
        center_code=F("center__code"),
        part_number=F("part__part_number"),
        ticket_number=F("repair__ticket_number"),
        by=F("created_by__username"),
    ).order_by("-created_at", "-id")
    if center_id:
        queryset = queryset.filter(center_id=center_id)
    if part is not None:
        queryset = queryset.filter(part=part)
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    return queryset


def _orders() -> QuerySet[PartsOrder]:
    lines = PartsOrderLine.objects.select_related("part", "repair").order_by("id")
    return PartsOrder.objects.select_related("center", "created_by").prefetch_related(
        Prefetch("lines", queryset=lines)
    )


def parts_orders_list(*, center_id: int | None, state: str | None = None) -> QuerySet[PartsOrder]:
    queryset = _orders()
    if center_id:
        queryset = queryset.filter(center_id=center_id)
    if state:
        if state not in PartsOrderState.values:
            raise ValidationFailed(
                {"state": [f"Choose one of: {', '.join(PartsOrderState.values)}."]}
            )
        queryset = queryset.filter(state=state)
    return queryset.order_by("-created_at", "-id")


def parts_order_get(*, center_id: int | None, order_id: int) -> PartsOrder:
    queryset = _orders().filter(pk=order_id)
    if center_id:
        queryset = queryset.filter(center_id=center_id)
    order = queryset.first()
    if order is None:
        raise NotFound("No such parts order.")
    return order


def standing_order_lines() -> QuerySet[PartsOrderLine]:
    """Lines still on their way: their order shipped (not cancelled, not received) and units
    outstanding. What a repair's expected parts date may rest on."""
    return PartsOrderLine.objects.filter(
        order__state=PartsOrderState.SHIPPED, quantity_received__lt=F("quantity")
    ).select_related("order")


# --- the stock page ----------------------------------------------------------------------------


def part_choices() -> list[tuple[str, str]]:
    """(part number, name) of every part, for the stock page's forms and its filter."""
    return list(Part.objects.order_by("part_number").values_list("part_number", "name"))


def other_centers(*, center_id: int) -> list[tuple[str, str]]:
    """(code, name) of the centers a transfer from `center_id` may go to."""
    return list(
        ServiceCenter.objects.exclude(pk=center_id).order_by("code").values_list("code", "name")
    )


# --- the parts-orders page -------------------------------------------------------------------


OPEN_ORDERS_LIMIT = 50  # orders the page shows; its heading gives the true number
_OPEN_ORDER_STATES = [PartsOrderState.REQUESTED, PartsOrderState.SHIPPED]


def open_parts_orders(*, center_id: int, limit: int = OPEN_ORDERS_LIMIT) -> list[PartsOrder]:
    """The center's oldest `limit` open orders with their lines (two queries)."""
    return list(
        PartsOrder.objects.filter(center_id=center_id, state__in=_OPEN_ORDER_STATES)
        .prefetch_related(
            Prefetch("lines", queryset=PartsOrderLine.objects.select_related("part", "repair"))
        )
        .order_by("created_at", "id")[:limit]
    )


def open_parts_orders_count(*, center_id: int) -> int:
    return PartsOrder.objects.filter(center_id=center_id, state__in=_OPEN_ORDER_STATES).count()


def is_open_parts_order(*, center_id: int, order_id: int) -> bool:
    return PartsOrder.objects.filter(
        pk=order_id, center_id=center_id, state__in=_OPEN_ORDER_STATES
    ).exists()


def recent_parts_orders(*, center_id: int, limit: int = 20) -> list[PartsOrder]:
    return list(
        PartsOrder.objects.filter(
            center_id=center_id, state__in=[PartsOrderState.RECEIVED, PartsOrderState.CANCELLED]
        )
        .prefetch_related(
            Prefetch("lines", queryset=PartsOrderLine.objects.select_related("part", "repair"))
        )
        .order_by("-created_at", "-id")[:limit]
    )


# --- the stock audit (manage.py audit_ledgers) -------------------------------------------------


def _per_stock_row(queryset: QuerySet, field: str) -> Coalesce:
    """The sum of `field` over `queryset`'s rows of the outer Stock row's center and part."""
    rows = queryset.filter(center_id=OuterRef("center_id"), part_id=OuterRef("part_id"))
    total = rows.order_by().values("center_id").annotate(t=Sum(field)).values("t")
    return Coalesce(Subquery(total), 0)


def stock_rows_disagreeing() -> QuerySet:
    """Stock rows whose counts differ from their movements' sums, or whose `reserved` differs from
    the units their reservations hold. One query, whatever the number of rows."""
    held = Reservation.objects.filter(status=ReservationStatus.RESERVED)
    return (
        Stock.objects.annotate(
            ledger_on_hand=_per_stock_row(StockMovement.objects.all(), "delta_on_hand"),
            ledger_reserved=_per_stock_row(StockMovement.objects.all(), "delta_reserved"),
            held=_per_stock_row(held, "quantity"),
        )
        .filter(
            ~Q(on_hand=F("ledger_on_hand"))
            | ~Q(reserved=F("ledger_reserved"))
            | ~Q(reserved=F("held"))
        )
        .values(
            "center__code",
            "part__part_number",
            "on_hand",
            "reserved",
            "ledger_on_hand",
            "ledger_reserved",
            "held",
        )
        .order_by("center__code", "part__part_number")
    )


def _without_stock_row(queryset: QuerySet, **sums: Sum) -> QuerySet:
    """`queryset`'s rows summed per (center, part) that has no Stock row. One query."""
    row = Stock.objects.filter(center_id=OuterRef("center_id"), part_id=OuterRef("part_id"))
    return (
        queryset.order_by()
        .filter(~Exists(row))
        .values("center__code", "part__part_number")
        .annotate(**sums)
        .order_by("center__code", "part__part_number")
    )


def movements_without_stock_row() -> QuerySet:
    return _without_stock_row(
        StockMovement.objects.all(), on_hand=Sum("delta_on_hand"), reserved=Sum("delta_reserved")
    )


def reservations_without_stock_row() -> QuerySet:
    held = Reservation.objects.filter(status=ReservationStatus.RESERVED)
    return _without_stock_row(held, reserved=Sum("quantity"))
