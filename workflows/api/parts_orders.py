"""Parts-order and stock writes over the API: ordering (lines may be for a repair), shipping,
receiving and cancelling orders, and adjusting stock. They live here, not in `parts/api.py`,
because receiving and new stock move repairs on (`workflows/services/supply.py`). The URLs are
`/api/v1/parts-orders/...` and `/api/v1/stock/adjust/` (workflows/api_urls.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.api import BaseAPIView, require_action, responses, staff_center_id
from core.errors import PermissionDenied, ValidationFailed
from core.idempotency import idempotent
from parts import selectors
from parts import services as parts_services
from parts.api import (
    CancelInSerializer,
    PartsOrderInSerializer,
    PartsOrderSerializer,
    ReceiveInSerializer,
    ShipInSerializer,
    StockAdjustInSerializer,
    StockSerializer,
    part_by_number,
)
from parts.models import PartsOrderState
from service_center.models import ServiceCenter
from workflows.selectors import visible_repairs
from workflows.services import supply


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
        stock = supply.stock_adjust(
            center=center,
            part=part_by_number(data["part_number"]),
            delta=data["delta"],
            reason=data["reason"],
            actor_user=request.user,
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
                    part_by_number(line["part_number"], f"lines.{number}.part_number"),
                    line["quantity"],
                    repair,
                )
            )
        order = parts_services.parts_order_request(
            center_id=center_id, lines=lines, actor_user=request.user
        )
        order = selectors.parts_order_get(center_id=center_id, order_id=order.pk)
        return Response(PartsOrderSerializer(order).data, status=201)


class ServedPartSerializer(serializers.Serializer):
    part_number = serializers.CharField()
    quantity = serializers.IntegerField()


class ServedSerializer(serializers.Serializer):
    ticket_number = serializers.CharField()
    parts = ServedPartSerializer(many=True)


class PartsOrderReceivedSerializer(PartsOrderSerializer):
    """The order, and which repairs got its parts (first come, first served: not always the
    repairs its lines were requested for)."""

    served = ServedSerializer(many=True)


class PartsOrderCancelledSerializer(PartsOrderSerializer):
    """The order, and the system's new request for what its repairs still wait for."""

    requested_again = serializers.IntegerField(allow_null=True)


# name -> (input, answer, the ACTION_ACTORS entry that may run it)
ORDER_TRANSITIONS: dict[str, tuple[type[serializers.Serializer], type, str]] = {
    "ship": (ShipInSerializer, PartsOrderSerializer, "ship_parts_order"),
    "receive": (ReceiveInSerializer, PartsOrderReceivedSerializer, "receive_parts"),
    "cancel": (CancelInSerializer, PartsOrderCancelledSerializer, "cancel_parts_order"),
}


def _run_order_transition(
    name: str, order_id: int, data: dict[str, Any], *, actor_user: Any
) -> dict[str, Any]:
    """Run it; returns what the answer adds to the order."""
    if name == "ship":
        supply.parts_order_ship(order_id=order_id, **data)
        return {}
    if name == "receive":
        lines = data.get("lines")
        delivered = [(x["part_number"], x["quantity"]) for x in lines] if lines else None
        _order, served = supply.parts_order_receive(
            order_id=order_id, lines=delivered, actor_user=actor_user
        )
        return {"served": [_served(x) for x in served]}
    _order, again = supply.parts_order_cancel(order_id=order_id, reason=data["reason"])
    return {"requested_again": again.pk if again else None}


def _served(served: supply.Served) -> dict[str, Any]:
    parts = [{"part_number": number, "quantity": quantity} for number, quantity in served.parts]
    return {"ticket_number": served.ticket_number, "parts": parts}


class PartsOrderTransitionView(BaseAPIView):
    transition_name = ""

    @idempotent
    def post(self, request, order_id: int):
        name = self.transition_name
        serializer_class, _answer, action = ORDER_TRANSITIONS[name]
        center_id = staff_center_id(request.user)
        order = selectors.parts_order_get(center_id=center_id, order_id=order_id)
        require_action(request.user, action, order.center_id)
        data = self.input(serializer_class)
        if name == "ship":
            data.setdefault("eta", None)
        extra = _run_order_transition(name, order.pk, data, actor_user=request.user)
        order = selectors.parts_order_get(center_id=center_id, order_id=order.pk)
        return Response({**PartsOrderSerializer(order).data, **extra})


def order_transition_view(name: str):
    """One view class per transition, so the schema shows each one's own fields."""
    serializer_class, answer_class, _action = ORDER_TRANSITIONS[name]

    @extend_schema(
        request=serializer_class,
        responses=responses({200: answer_class}),
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
