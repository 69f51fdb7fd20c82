"""Parts and stock over the API, and the serializers of parts orders. The endpoints that move
repairs too (ordering for a repair, receiving, shipping, adjusting stock) are in
`workflows/api/parts_orders.py`; their writes go through `workflows/services/supply.py`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from core.api import (
    BaseAPIView,
    require_action,
    responses,
    staff_center_id,
)
from core.errors import PermissionDenied, ValidationFailed
from core.idempotency import idempotent
from core.validation import When, clean_date, validated
from parts import selectors, services
from parts.models import Part, StockMovementKind
from parts.services.orders import MAX_LINE_QUANTITY
from service_center.models import ServiceCenter

# --- serializers ---------------------------------------------------------------------------------


class StockLevelSerializer(serializers.Serializer):
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()


class PartSerializer(serializers.Serializer):
    part_number = serializers.CharField()
    name = serializers.CharField()
    unit_price = serializers.IntegerField()
    compatible_models = serializers.SerializerMethodField()
    stock = serializers.SerializerMethodField()

    def get_compatible_models(self, part) -> list[str]:
        return sorted(m.code for m in part.compatible_models.all())

    @extend_schema_field(StockLevelSerializer)
    def get_stock(self, part) -> dict[str, int]:
        rows = getattr(part, "center_stock", [])
        on_hand = sum(r.on_hand for r in rows)
        reserved = sum(r.reserved for r in rows)
        return {"on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved}


class StockSerializer(serializers.Serializer):
    center = serializers.CharField(source="center.code")
    part_number = serializers.CharField(source="part.part_number")
    name = serializers.CharField(source="part.name")
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()


class StockMovementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField(source="created_at")
    center = serializers.CharField(source="center_code")
    part_number = serializers.CharField()
    kind = serializers.ChoiceField(choices=StockMovementKind.choices)
    delta_on_hand = serializers.IntegerField()
    delta_reserved = serializers.IntegerField()
    reason = serializers.CharField()
    ticket_number = serializers.CharField(allow_null=True)
    parts_order = serializers.IntegerField(source="parts_order_id", allow_null=True)
    by = serializers.CharField(allow_null=True)


class OrderLineSerializer(serializers.Serializer):
    part_number = serializers.CharField(source="part.part_number")
    name = serializers.CharField(source="part.name")
    quantity = serializers.IntegerField()
    quantity_received = serializers.IntegerField()
    ticket_number = serializers.CharField(
        source="repair.ticket_number", allow_null=True, default=None
    )


class PartsOrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    center = serializers.CharField(source="center.code")
    state = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    eta = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    received_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField()
    lines = OrderLineSerializer(many=True)


class PartInSerializer(serializers.Serializer):
    part_number = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=120)
    unit_price = serializers.IntegerField(min_value=0, max_value=100_000_000)
    compatible_models = serializers.ListField(
        child=serializers.CharField(max_length=40), max_length=100, required=False, default=list
    )


class StockAdjustInSerializer(serializers.Serializer):
    center = serializers.CharField(max_length=8, required=False)
    part_number = serializers.CharField(max_length=40)
    delta = serializers.IntegerField(min_value=-100000, max_value=100000)
    reason = serializers.CharField(max_length=300)


class OrderLineInSerializer(serializers.Serializer):
    part_number = serializers.CharField(max_length=40)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)
    ticket_number = serializers.CharField(max_length=40, required=False, allow_blank=True)


class PartsOrderInSerializer(serializers.Serializer):
    lines = OrderLineInSerializer(many=True, allow_empty=False, max_length=50)


class ShipInSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=60)
    tracking_number = serializers.CharField(max_length=60)
    eta = serializers.DateField(required=False, allow_null=True)


class ReceiveLineInSerializer(serializers.Serializer):
    part_number = serializers.CharField(max_length=40)
    quantity = serializers.IntegerField(min_value=1, max_value=100000)


class ReceiveInSerializer(serializers.Serializer):
    lines = ReceiveLineInSerializer(many=True, required=False, allow_empty=False, max_length=50)


class CancelInSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class StockMovementsQuerySerializer(serializers.Serializer):
    part = serializers.CharField(max_length=40, required=False)
    since = serializers.CharField(max_length=40, required=False)
    center = serializers.CharField(max_length=8, required=False)


# --- views ---------------------------------------------------------------------------------------


def part_by_number(number: str, field: str = "part_number") -> Part:
    part = Part.objects.filter(part_number=number).first()
    if part is None:
        raise ValidationFailed({field: [f"No part {number}."]})
    return part


class PartListView(BaseAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("product_model", OpenApiTypes.STR)],
        responses=responses({200: PartSerializer(many=True)}),
        tags=["parts"],
    )
    def get(self, request):
        parts = selectors.parts_list(
            center_id=staff_center_id(request.user),
            product_model=request.query_params.get("product_model"),
        )
        return self.paginated(parts, PartSerializer)

    @extend_schema(
        request=PartInSerializer, responses=responses({201: PartSerializer}), tags=["parts"]
    )
    @idempotent
    def post(self, request):
        require_action(request.user, "reference_data")
        part = services.part_create(**self.input(PartInSerializer))
        part = selectors.parts_list(center_id=staff_center_id(request.user)).get(pk=part.pk)
        return Response(PartSerializer(part).data, status=201)


class StockListView(BaseAPIView):
    @extend_schema(responses=responses({200: StockSerializer(many=True)}), tags=["parts"])
    def get(self, request):
        return self.paginated(
            selectors.stock_list(center_id=staff_center_id(request.user)), StockSerializer
        )


class SinceInSerializer(serializers.Serializer):
    since = When()


def since_moment(value: str) -> dt.datetime:
    """`?since=`: a date (from the start of that day, local time) or an ISO date and time."""
    if len(value) <= 10:
        day = clean_date(value, field="since", required=True)
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return validated(SinceInSerializer, {"since": value})["since"]


def movements_center_id(user: Any, code: str) -> int | None:
    """Whose movements: the staff member's own center (a superuser: every center, or the one
    `?center=` names; anyone else may name only their own)."""
    own = staff_center_id(user)
    if not code:
        return own
    center = ServiceCenter.objects.filter(code=code).first()
    if center is None:
        raise ValidationFailed({"center": [f"No service center {code}."]})
    if not user.is_superuser and center.pk != own:
        raise PermissionDenied("You may see the stock movements of your own center only.")
    return center.pk


class StockMovementListView(BaseAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("part", OpenApiTypes.STR, description="A part number."),
            OpenApiParameter(
                "since",
                OpenApiTypes.STR,
                description="A date (YYYY-MM-DD, from its start) or an ISO 8601 date and time.",
            ),
            OpenApiParameter("center", OpenApiTypes.STR, description="A center code (superusers)."),
        ],
        responses=responses({200: StockMovementSerializer(many=True)}),
        tags=["parts"],
    )
    def get(self, request):
        query = validated(StockMovementsQuerySerializer, request.query_params)
        movements = selectors.stock_movements(
            center_id=movements_center_id(request.user, query.get("center", "")),
            part=part_by_number(query["part"], "part") if query.get("part") else None,
            since=since_moment(query["since"]) if query.get("since") else None,
        )
        return self.paginated(movements, StockMovementSerializer)
