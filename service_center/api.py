"""The API's shared plumbing (authentication, permissions, body limits, pagination, documented
errors) and the front-of-house endpoints: tokens, serial lookup, customers, product models,
devices. Views parse input, call a service or a selector, and serialize; nothing more."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from service_center import selectors, services, signin
from service_center.errors import NotFound, PermissionDenied
from service_center.models import Channel
from workflows.api_errors import BoundedJSONParser, PayloadTooLarge
from workflows.roles import actor_may, user_center_id, user_roles

# --- plumbing ------------------------------------------------------------------------------------


class StaffTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, loading the user's center and role groups in two queries."""

    def authenticate_credentials(self, key):
        token = (
            Token.objects.select_related("user__staff_profile")
            .prefetch_related("user__groups")
            .filter(key=key)
            .first()
        )
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return token.user, token


class IsStaff(BasePermission):
    """A signed-in member of staff: has a role and belongs to a center (or is a superuser)."""

    message = "Only staff of a service center may use this endpoint."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        return bool(user_roles(user)) and (user.is_superuser or user_center_id(user) is not None)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class BlockerSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """Every error: a stable `code`, a human `detail`, and what else helps (errors, blockers)."""

    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    blockers = BlockerSerializer(many=True, required=False)
    retry_after = serializers.IntegerField(required=False)


STAFF_ERRORS = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429)
PUBLIC_ERRORS = (400, 404, 405, 409, 413, 415, 422, 429)


def responses(ok: dict[int, Any], errors: tuple[int, ...] = STAFF_ERRORS) -> dict[int, Any]:
    """extend_schema responses: the success answers plus the documented JSON errors."""
    return {**ok, **{code: ErrorSerializer for code in errors}}


class BaseAPIView(GenericAPIView):
    # JSON only, bounded bodies, staff only. Subclasses pick serializers and document schemas.

    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    authentication_classes = [StaffTokenAuthentication, SessionAuthentication]
    permission_classes = [IsStaff]
    pagination_class = Pagination
    metadata_class = None  # OPTIONS answers 405 JSON; the schema at /api/schema/ documents us

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                request._request.body  # noqa: B018 - reading it enforces DATA_UPLOAD_MAX_MEMORY_SIZE
            except RequestDataTooBig:
                raise PayloadTooLarge() from None

    def input(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        """The request body, checked for shape and types (the services check meaning)."""
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def paginated(self, queryset, serializer_class, **context) -> Response:
        page = self.paginate_queryset(queryset)
        items = serializer_class(
            page, many=True, context={**self.get_serializer_context(), **context}
        )
        return self.get_paginated_response(items.data)

    # GenericAPIView wants these for the schema; our views pick serializers explicitly.
    def get_queryset(self):  # pragma: no cover - not used for object lookup
        return []


def staff_center_id(user: Any) -> int | None:
    """The center a staff member works at (None: a superuser without one sees every center)."""
    return user_center_id(user)


def require_action(user: Any, name: str, center_id: int | None = None) -> None:
    """403 unless the user's role may do `name` (an ACTION_ACTORS entry) at their center."""
    center = center_id if center_id is not None else staff_center_id(user)
    scope = SimpleNamespace(center_id=center, technician_id=None, coverage_locked=False)
    if center is None or not actor_may(user, scope, name):
        raise PermissionDenied("Your role may not do this.")


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
        django_request = request._request
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
        from workflows.services import serial_lookup

        lookup = serial_lookup(serial)
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
