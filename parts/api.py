"""Parts, stock and parts orders over the API. Writes go through parts/services.py."""

from __future__ import annotations

from typing import Any

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
from parts import selectors, services
from parts.models import Part, PartsOrderState
from service_center.models import ServiceCenter
from service_center.services import part_create

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
    quantity = serializers.IntegerField(min_value=1, max_value=999)
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


# --- views ---------------------------------------------------------------------------------------


def _part(number: str, field: str = "part_number") -> Part:
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
        part = part_create(**self.input(PartInSerializer))
        part = selectors.parts_list(center_id=staff_center_id(request.user)).get(pk=part.pk)
        return Response(PartSerializer(part).data, status=201)


class StockListView(BaseAPIView):
    @extend_schema(responses=responses({200: StockSerializer(many=True)}), tags=["parts"])
    def get(self, request):
        return self.paginated(
            selectors.stock_list(center_id=staff_center_id(request.user)), StockSerializer
        )


class StockAdjustView(BaseAPIView):
    @extend_schema(
        request=StockAdjustInSerializer, responses=responses({200: StockSerializer}), tags=["parts"]
    )
    @idempotent
    def post(self, request):
        require_action(request.user, "reference_data")
        data = self.input(StockAdjustInSerializer)
        own = staff_center_id(request.user)
        code = data.get("center")
        center = ServiceCenter.objects.filter(code=code).first() if code else None
        if code and center is None:
            raise ValidationFailed({"center": [f"No service center {code}."]})
        center = center or ServiceCenter.objects.filter(pk=own).first()
        if center is None or (own is not None and center.pk != own):
            raise PermissionDenied("You may adjust the stock of your own center only.")
        stock = services.stock_adjust(
            center=center,
            part=_part(data["part_number"]),
            delta=data["delta"],
            reason=data["reason"],
        )
        return Response(StockSerializer(stock).data)


class PartsOrderListView(BaseAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("state", OpenApiTypes.STR, enum=PartsOrderState.values)],
        responses=responses({200: PartsOrderSerializer(many=True)}),
        tags=["parts"],
    )
    def get(self, request):
        orders = selectors.parts_orders_list(
            center_id=staff_center_id(request.user), state=request.query_params.get("state")
        )
        return self.paginated(orders, PartsOrderSerializer)

    @extend_schema(
        request=PartsOrderInSerializer,
        responses=responses({201: PartsOrderSerializer}),
        tags=["parts"],
    )
    @idempotent
    def post(self, request):
        from workflows.selectors import visible_repairs

        require_action(request.user, "order_parts")
        center_id = staff_center_id(request.user)
        lines = []
        for number, line in enumerate(self.input(PartsOrderInSerializer)["lines"]):
            repair = None
            if line.get("ticket_number"):
                repair = (
                    visible_repairs(request.user)
                    .filter(ticket_number=line["ticket_number"])
                    .first()
                )
                if repair is None:
                    raise ValidationFailed({f"lines.{number}.ticket_number": ["No such repair."]})
            lines.append(
                (
                    _part(line["part_number"], f"lines.{number}.part_number"),
                    line["quantity"],
                    repair,
                )
            )
        order = services.parts_order_request(
            center_id=center_id, lines=lines, actor_user=request.user
        )
        order = selectors.parts_order_get(center_id=center_id, order_id=order.pk)
        return Response(PartsOrderSerializer(order).data, status=201)


ORDER_TRANSITIONS: dict[str, tuple[type[serializers.Serializer], str]] = {
    "ship": (ShipInSerializer, "order_parts"),
    "receive": (ReceiveInSerializer, "receive_parts"),
    "cancel": (CancelInSerializer, "order_parts"),
}


def _run_order_transition(name: str, order_id: int, data: dict[str, Any]):
    if name == "ship":
        return services.parts_order_ship(order_id=order_id, **data)
    if name == "receive":
        lines = data.get("lines")
        delivered = [(x["part_number"], x["quantity"]) for x in lines] if lines else None
        return services.parts_order_receive(order_id=order_id, lines=delivered)
    return services.parts_order_cancel(order_id=order_id, reason=data["reason"])


class PartsOrderTransitionView(BaseAPIView):
    transition_name = ""

    @idempotent
    def post(self, request, order_id: int):
        name = self.transition_name
        serializer_class, action = ORDER_TRANSITIONS[name]
        center_id = staff_center_id(request.user)
        order = selectors.parts_order_get(center_id=center_id, order_id=order_id)
        require_action(request.user, action, order.center_id)
        data = self.input(serializer_class)
        if name == "ship":
            data.setdefault("eta", None)
        _run_order_transition(name, order.pk, data)
        order = selectors.parts_order_get(center_id=center_id, order_id=order.pk)
        return Response(PartsOrderSerializer(order).data)


def order_transition_view(name: str):
    """One view class per transition, so the schema shows each one's own fields."""
    serializer_class = ORDER_TRANSITIONS[name][0]

    @extend_schema(
        request=serializer_class,
        responses=responses({200: PartsOrderSerializer}),
        operation_id=f"parts_orders_{name}",
        tags=["parts"],
    )
    def post(self, request, order_id: int):
        return PartsOrderTransitionView.post(self, request, order_id)

    return type(
        f"PartsOrder{name.title()}View",
        (PartsOrderTransitionView,),
        {"transition_name": name, "post": post},
    )
