"""Reads of parts, stock and parts orders; each with its own select/prefetch (constant queries)."""

from __future__ import annotations

from django.db.models import F, Prefetch, QuerySet

from core.errors import NotFound, ValidationFailed
from parts.models import Part, PartsOrder, PartsOrderLine, PartsOrderState, Stock


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


# --- the parts-orders page -------------------------------------------------------------------


def open_parts_orders(*, center_id: int) -> list[PartsOrder]:
    return list(
        PartsOrder.objects.filter(
            center_id=center_id, state__in=[PartsOrderState.REQUESTED, PartsOrderState.SHIPPED]
        )
        .prefetch_related(
            Prefetch("lines", queryset=PartsOrderLine.objects.select_related("part", "repair"))
        )
        .order_by("created_at", "id")
    )


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
