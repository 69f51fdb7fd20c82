"""`POST /api/v1/stock/transfer/`: a manager gives free units of their center's stock to another
center. Here, not in `parts/api.py`, because the arrivals fill waiting reservations and move
those repairs on (`workflows/services/supply.py`). The stock page's transfer form checks its
input with the same serializer and `transfer_targets`."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.api import BaseAPIView, responses
from core.errors import Message, PermissionDenied, ValidationFailed
from core.idempotency import idempotent
from core.roles import MANAGER, may_act, user_roles
from parts.api import StockSerializer
from parts.models import Part
from parts.services.stock import MAX_TRANSFER, TRANSFER_REASON_LENGTH
from service_center.models import ServiceCenter
from workflows.api.parts_orders import ServedSerializer, _served
from workflows.services import supply


class StockTransferInSerializer(serializers.Serializer):
    from_center = serializers.CharField(max_length=8, help_text="The sending center's code.")
    to_center = serializers.CharField(max_length=8, help_text="The receiving center's code.")
    part_number = serializers.CharField(max_length=40)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_TRANSFER)
    reason = serializers.CharField(max_length=TRANSFER_REASON_LENGTH)


class StockTransferSerializer(serializers.Serializer):
    """Both stock rows after the transfer, the reference both movements carry, and which
    repairs at the receiving center the arrivals went to (first come, first served)."""

    from_stock = StockSerializer()
    to_stock = StockSerializer()
    reference = serializers.CharField()
    served = ServedSerializer(many=True)


def require_transfer_role(user: Any) -> None:
    if MANAGER not in user_roles(user):
        raise PermissionDenied("Only a manager may transfer stock.")


def transfer_targets(data: dict[str, Any], user: Any) -> tuple[ServiceCenter, ServiceCenter, Part]:
    """The two centers and the part a transfer names, every unknown one refused at once (400);
    403 unless the user may give the sender's stock away (its manager, or a superuser)."""
    codes = {f: data[f] for f in ("from_center", "to_center")}
    centers = {c.code: c for c in ServiceCenter.objects.filter(code__in=codes.values())}
    sender = centers.get(codes["from_center"])
    if sender is not None and not may_act(user, "transfer_stock", sender.pk):
        raise PermissionDenied("You may transfer the stock of your own center only.")
    part = Part.objects.filter(part_number=data["part_number"]).first()
    errors: dict[str, list[str]] = {}
    for field, code in codes.items():
        if code not in centers:
            errors[field] = [Message(gettext_noop("No service center %(code)s."), code=code)]
    if part is None:
        number = data["part_number"]
        errors["part_number"] = [Message(gettext_noop("No part %(number)s."), number=number)]
    if errors:
        raise ValidationFailed(errors)
    return sender, centers[codes["to_center"]], part


def transfer_answer(done: supply.Transferred) -> dict[str, Any]:
    return {
        "from_stock": StockSerializer(done.sent).data,
        "to_stock": StockSerializer(done.received).data,
        "reference": done.reference,
        "served": [_served(x) for x in done.served],
    }


class StockTransferView(BaseAPIView):
    @extend_schema(
        request=StockTransferInSerializer,
        responses=responses({200: StockTransferSerializer}),
        tags=["parts"],
        description=(
            "A manager of `from_center` (or a superuser) moves free units (on hand minus "
            "reserved) of a part to another center: a `transfer_out` and a `transfer_in` "
            "movement, linked by their reason and reference. The arrivals fill the receiving "
            "center's waiting reservations first come, first served, as receiving does."
        ),
    )
    @idempotent
    def post(self, request):
        require_transfer_role(request.user)
        data = self.input(StockTransferInSerializer)
        sender, receiver, part = transfer_targets(data, request.user)
        done = supply.stock_transfer(
            from_center=sender,
            to_center=receiver,
            part=part,
            quantity=data["quantity"],
            reason=data["reason"],
            actor_user=request.user,
        )
        return Response(transfer_answer(done))
