"""Visits over the API: free slots and booking, for the customer (no login) and for staff."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.api import PUBLIC_ERRORS, BaseAPIView, responses
from core.roles import CUSTOMER_ACTOR
from core.validation import When, validated
from workflows import services
from workflows.api.public import PublicAPIView
from workflows.api.repairs import RepairViewMixin
from workflows.api.serializers import AppointmentSerializer, PublicLookupInSerializer
from workflows.models import Appointment, AppointmentStatus


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class SlotsSerializer(serializers.Serializer):
    slots = SlotSerializer(many=True)


class SlotsQuerySerializer(serializers.Serializer):
    date = serializers.DateField(required=True)


class PublicSlotsInSerializer(PublicLookupInSerializer, SlotsQuerySerializer):
    pass


class PublicBookInSerializer(PublicLookupInSerializer):
    start = When(required=True)


def _slots(repair, day) -> Response:
    return Response(SlotsSerializer({"slots": services.free_slots(repair, day)}).data)


class PublicSlotsView(PublicAPIView):
    input_serializer = PublicSlotsInSerializer

    @extend_schema(
        request=PublicSlotsInSerializer,
        responses=responses({200: SlotsSerializer}, PUBLIC_ERRORS),
        auth=[],
        summary="Free visit slots on a date (409 transition_blocked while not ready)",
        tags=["public"],
    )
    def post(self, request):
        repair, data = self.find()
        return _slots(repair, data["date"])


class PublicBookView(PublicAPIView):
    input_serializer = PublicBookInSerializer

    @extend_schema(
        request=PublicBookInSerializer,
        responses=responses({200: AppointmentSerializer}, PUBLIC_ERRORS),
        auth=[],
        summary="Book a visit (409 slot_taken when someone was quicker)",
        tags=["public"],
    )
    def post(self, request):
        repair, data = self.find()
        services.repair_book_appointment(
            repair=repair.pk, actor=CUSTOMER_ACTOR, start=data["start"]
        )
        booked = Appointment.objects.get(repair=repair, status=AppointmentStatus.BOOKED)
        return Response(AppointmentSerializer(booked).data)


class RepairSlotsView(RepairViewMixin, BaseAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("date", OpenApiTypes.DATE, required=True)],
        responses=responses({200: SlotsSerializer}),
        tags=["repairs"],
    )
    def get(self, request, ticket_number: str):
        repair = self.repair_for(ticket_number, "invite_for_repair")
        query = validated(SlotsQuerySerializer, request.query_params, {})
        return _slots(repair, query["date"])
