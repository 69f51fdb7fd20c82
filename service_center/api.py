"""The front-of-house endpoints: tokens, serial lookup, customers, product models, devices.
Views parse input, call a service or a selector, and serialize; nothing more (the plumbing they
share is `core/api.py`)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api import BaseAPIView, require_action, responses, staff_center_id
from core.errors import NotFound
from service_center import selectors, services, signin
from service_center.models import Channel

# --- serializers ---------------------------------------------------------------------------------


class ProductModelSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    warranty_months = serializers.IntegerField()


class ProductModelBriefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class WarrantySerializer(serializers.Serializer):
    status = serializers.CharField()
    until = serializers.DateField(allow_null=True)


class DeviceSerializer(serializers.Serializer):
    serial_number = serializers.CharField()
    product_model = ProductModelBriefSerializer()
    purchase_date = serializers.DateField()
    channel = serializers.CharField()
    warranty = serializers.SerializerMethodField()

    @extend_schema_field(WarrantySerializer)
    def get_warranty(self, device) -> dict[str, Any]:
        return {"status": str(device.warranty_status()), "until": device.warranty_until.isoformat()}


class SerialLookupSerializer(serializers.Serializer):
    serial_number = serializers.CharField()
    product_model = ProductModelBriefSerializer()
    purchase_date = serializers.DateField(source="device.purchase_date")
    channel = serializers.CharField(source="device.channel")
    warranty = serializers.SerializerMethodField()

    @extend_schema_field(WarrantySerializer)
    def get_warranty(self, lookup) -> dict[str, Any]:
        return {"status": str(lookup.status), "until": lookup.until.isoformat()}


class PastRepairSerializer(serializers.Serializer):
    ticket_number = serializers.CharField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    symptom = serializers.CharField()
    product_model = ProductModelBriefSerializer(allow_null=True)


class CustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    address = serializers.CharField()
    devices = DeviceSerializer(many=True)
    repairs = PastRepairSerializer(many=True)


class TokenOutSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenInSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class ProductModelInSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=120)
    category = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    warranty_months = serializers.IntegerField(
        min_value=0, max_value=120, required=False, default=12
    )


class DeviceInSerializer(serializers.Serializer):
    serial_number = serializers.CharField(max_length=200)
    product_model = serializers.CharField(max_length=40)
    purchase_date = serializers.DateField()
    channel = serializers.ChoiceField(
        choices=Channel.choices, required=False, default=Channel.OFFICIAL
    )


# --- views ---------------------------------------------------------------------------------------


class TokenView(BaseAPIView):
    """Exchange a username and password for an API token."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(
        request=TokenInSerializer,
        responses=responses({200: TokenOutSerializer}, (400, 405, 413, 415, 429)),
        auth=[],
        tags=["auth"],
    )
    def post(self, request):
        data = self.input(TokenInSerializer)
        # authenticate() gets Django's request: the sign-in lock-out (service_center.signin)
        # counts failures per (username, address) and per address, and refuses a locked client.
        django_request = self.http_request
        check = AuthTokenSerializer(data=data, context={"request": django_request})
        if not check.is_valid():
            wait = signin.locked_for(django_request, {"username": data["username"]})
            if wait is not None:
                raise signin.SignInLocked(wait)
            raise ValidationError(check.errors)
        token, _created = Token.objects.get_or_create(user=check.validated_data["user"])
        return Response({"token": token.key})


class SerialView(BaseAPIView):
    @extend_schema(responses=responses({200: SerialLookupSerializer}), tags=["reference"])
    def get(self, request, serial):
        lookup = selectors.serial_lookup(serial)
        if lookup.device is None:
            raise SerialNotFound(f"Serial {lookup.serial_number} is not in the registry.")
        lookup_data = SimpleNamespace(
            serial_number=lookup.serial_number,
            product_model=lookup.device.product_model,
            device=lookup.device,
            status=lookup.status,
            until=lookup.until,
        )
        return Response(SerialLookupSerializer(lookup_data).data)


class SerialNotFound(NotFound):
    code = "serial_not_found"


class CustomerListView(BaseAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("phone", OpenApiTypes.STR, required=True)],
        responses=responses({200: CustomerSerializer(many=True)}),
        tags=["customers"],
    )
    def get(self, request):
        customers = selectors.customers_by_phone(
            center_id=staff_center_id(request.user), phone=request.query_params.get("phone")
        )
        return self.paginated(customers, CustomerSerializer)


class ProductModelListView(BaseAPIView):
    @extend_schema(
        responses=responses({200: ProductModelSerializer(many=True)}), tags=["reference"]
    )
    def get(self, request):
        return self.paginated(selectors.product_models_list(), ProductModelSerializer)

    @extend_schema(
        request=ProductModelInSerializer,
        responses=responses({201: ProductModelSerializer}),
        tags=["reference"],
    )
    def post(self, request):
        require_action(request.user, "reference_data")
        model = services.product_model_create(**self.input(ProductModelInSerializer))
        return Response(ProductModelSerializer(model).data, status=201)


class DeviceCreateView(BaseAPIView):
    @extend_schema(
        request=DeviceInSerializer, responses=responses({201: DeviceSerializer}), tags=["reference"]
    )
    def post(self, request):
        require_action(request.user, "reference_data")
        device = services.device_register(**self.input(DeviceInSerializer))
        return Response(DeviceSerializer(device).data, status=201)
