"""The customer endpoints (no login): status, approve, decline, courier return."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.api import (
    PUBLIC_ERRORS,
    BaseAPIView,
    RenderedJSONResponse,
    responses,
)
from core.roles import CUSTOMER_ACTOR
from workflows import public, services
from workflows.api.serializers import (
    PublicCourierInSerializer,
    PublicDeclineInSerializer,
    PublicLookupInSerializer,
    PublicStatusSerializer,
)

# --- public views (no login) ---------------------------------------------------------------------


class PublicAPIView(BaseAPIView):
    """No login; every answer (errors too) carries Cache-Control: no-store."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    input_serializer: type[serializers.Serializer] = PublicLookupInSerializer

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    def find(self) -> tuple[Any, dict[str, Any]]:
        data = self.input(self.input_serializer)
        repair = public.public_find(
            ip=public.client_ip(self.request),
            ticket_number=data.get("ticket_number"),
            phone_last4=data.get("phone_last4"),
            token=data.get("token"),
        )
        return repair, data

    def answer(self, verified: public.Verified) -> Response:
        return RenderedJSONResponse(public.public_status_data(verified, _render))


def _render(status: dict[str, Any]) -> bytes:
    """The answer's body as DRF renders it; kept rendered, so a cached answer is sent as is."""
    return JSONRenderer().render(PublicStatusSerializer(status).data)


def _public_schema(request: type[serializers.Serializer], summary: str):
    return extend_schema(
        request=request,
        responses=responses({200: PublicStatusSerializer}, PUBLIC_ERRORS),
        auth=[],
        summary=summary,
        tags=["public"],
    )


# Printable ASCII without spaces: what the lookup's text fields leave as they are (no trimming,
# no NFC change, no control characters), so such input needs no serializer.
_PLAIN = re.compile(r"[\x21-\x7e]*")


def plain_lookup(data: Any) -> dict[str, str] | None:
    """A lookup body whose every field is plain and within its length: what
    PublicLookupInSerializer would return for it, without building the serializer (None for
    anything else, which the serializer then checks and explains)."""
    if type(data) is not dict:
        return None
    out = {}
    for name, field in PublicLookupInSerializer._declared_fields.items():
        value = data.get(name, "")
        if type(value) is not str or len(value) > field.max_length or not _PLAIN.fullmatch(value):
            return None
        out[name] = value
    return out


class PublicStatusView(PublicAPIView):
    @_public_schema(PublicLookupInSerializer, "The honest status page, by ticket + phone or token")
    def post(self, request):
        data = plain_lookup(request.data)
        if data is None:
            data = self.input(self.input_serializer)
        verified = public.public_check(
            ip=public.client_ip(self.request),
            ticket_number=data.get("ticket_number"),
            phone_last4=data.get("phone_last4"),
            token=data.get("token"),
        )
        return self.answer(verified)


class PublicApproveView(PublicAPIView):
    @_public_schema(PublicLookupInSerializer, "The customer approves the quote")
    def post(self, request):
        repair, _data = self.find()
        services.repair_approve(repair=repair.pk, actor=CUSTOMER_ACTOR)
        return self.answer(public.Verified(repair.pk, repair.ticket_number, None))


class PublicDeclineView(PublicAPIView):
    input_serializer = PublicDeclineInSerializer

    @_public_schema(PublicDeclineInSerializer, "The customer declines the quote")
    def post(self, request):
        repair, data = self.find()
        services.repair_decline(
            repair=repair.pk, actor=CUSTOMER_ACTOR, reason=data.get("reason", "")
        )
        return self.answer(public.Verified(repair.pk, repair.ticket_number, None))


class PublicCourierReturnView(PublicAPIView):
    input_serializer = PublicCourierInSerializer

    @_public_schema(PublicCourierInSerializer, "The customer asks for courier return")
    def post(self, request):
        repair, data = self.find()
        services.repair_request_courier_return(
            repair=repair.pk,
            actor=CUSTOMER_ACTOR,
            recipient_name=data["recipient_name"],
            address=data["address"],
            phone=data["phone"],
        )
        return self.answer(public.Verified(repair.pk, repair.ticket_number, None))
