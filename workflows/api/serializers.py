"""Serializers of the repair API: what goes out and what comes in."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import BlockerSerializer
from core.roles import staff_name
from service_center.api import (
    PastRepairSerializer,
    ProductModelBriefSerializer,
)
from workflows import gate, selectors, services, timeline
from workflows.inputs import CourierReturnInSerializer, text
from workflows.registry import STAFF_TRANSITIONS, TRANSITIONS
from workflows.roles import actor_may

# --- output serializers --------------------------------------------------------------------------

_DATETIME = serializers.DateTimeField()  # its to_representation: the request's zone, ISO 8601


def _text(value: object) -> str | None:
    """What a CharField gives for `value` (None stays None)."""
    return None if value is None else str(value)


class TechnicianSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return staff_name(user)


class CenterBriefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class RepairCustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.CharField()
    masked_phone = serializers.CharField()
    email = serializers.CharField()
    address = serializers.CharField()


class RepairDeviceSerializer(serializers.Serializer):
    serial_number = serializers.CharField()
    product_model = ProductModelBriefSerializer()
    purchase_date = serializers.DateField()
    channel = serializers.CharField()


class ReservationSerializer(serializers.Serializer):
    part_number = serializers.CharField(source="part.part_number")
    name = serializers.CharField(source="part.name")
    quantity = serializers.IntegerField()
    unit_price = serializers.IntegerField()
    status = serializers.CharField()


class QuoteSerializer(serializers.Serializer):
    labor_fee = serializers.IntegerField(allow_null=True)
    parts_total = serializers.IntegerField()
    total = serializers.IntegerField(source="quote_total", allow_null=True)
    approved = serializers.SerializerMethodField()
    approved_at = serializers.DateTimeField(source="quote_approved_at", allow_null=True)
    approved_by = serializers.CharField(source="quote_approved_by")
    deposit_required = serializers.IntegerField()
    deposit_paid = serializers.IntegerField()

    def get_approved(self, repair) -> bool:
        return repair.quote_approved_at is not None


class PromiseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    due_at = serializers.DateTimeField()
    note = serializers.CharField()
    made_by = serializers.CharField(source="made_by.username", allow_null=True, default=None)
    made_at = serializers.DateTimeField()
    fulfilled_at = serializers.DateTimeField(allow_null=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField(source="is_overdue")


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    transition = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    actor_kind = serializers.CharField()
    actor_name = serializers.CharField()
    customer_visible = serializers.BooleanField()
    text = serializers.CharField(source="display_text")  # in the request's language
    data = serializers.JSONField()
    label = serializers.SerializerMethodField()

    def get_label(self, event) -> str:
        return timeline.event_label(event)

    def to_representation(self, event) -> dict:
        # A plain dict: the timeline is the detail's longest list, and DRF's per-field machinery
        # cost more than the values. The fields above stay the schema; the test
        # test_api_detail_speed checks this answers what DRF's own to_representation does.
        return {
            "id": event.id,
            "at": _DATETIME.to_representation(event.at),
            "kind": _text(event.kind),
            "transition": _text(event.transition),
            "from_state": _text(event.from_state),
            "to_state": _text(event.to_state),
            "actor_kind": _text(event.actor_kind),
            "actor_name": _text(event.actor_name),
            "customer_visible": event.customer_visible,
            "text": _text(event.display_text),
            "data": event.data,
            "label": timeline.event_label(event),
        }


class AppointmentSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    status = serializers.CharField()


class RepairListItemSerializer(serializers.Serializer):
    ticket_number = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.SerializerMethodField()
    coverage = serializers.CharField()
    customer_name = serializers.CharField(source="customer.name")
    customer_phone = serializers.CharField(source="customer.phone")
    product_model = ProductModelBriefSerializer(allow_null=True)
    technician = TechnicianSerializer(allow_null=True)
    device_in_shop = serializers.BooleanField()
    return_method = serializers.CharField()
    amount_due = serializers.IntegerField(allow_null=True)
    has_overdue_promise = serializers.BooleanField(source="has_overdue")
    next_promise_due = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_state_label(self, repair) -> str:
        return timeline.state_label(repair.state)


class ConditionLineSerializer(serializers.Serializer):
    item = serializers.CharField()
    state = serializers.CharField()
    note = serializers.CharField()


class RepairDetailSerializer(RepairListItemSerializer):
    """Everything staff of the repair's own center see (the status token included)."""

    # The list's fields the detail does not repeat (`customer` has them): removed from the
    # declared fields once, rather than copied and popped on every request.
    customer_name = None
    customer_phone = None
    has_overdue_promise = None
    next_promise_due = None

    center = CenterBriefSerializer()
    coverage_reason = serializers.CharField()  # rendered in the request's language, as labels
    customer = RepairCustomerSerializer()
    device = RepairDeviceSerializer(allow_null=True)
    reported_serial = serializers.CharField()
    checked_in_serial = serializers.CharField()
    serial_mismatch = serializers.BooleanField()
    symptom = serializers.CharField()
    accessories = serializers.CharField()
    condition = ConditionLineSerializer(many=True)
    intake_channel = serializers.CharField()
    courier_recipient = serializers.CharField()
    courier_address = serializers.CharField()
    courier_phone = serializers.CharField()
    findings = serializers.CharField()
    work_notes = serializers.CharField()
    outcome_reason = serializers.CharField()
    reservations = ReservationSerializer(many=True, source="reservations.all")
    quote = QuoteSerializer(source="*")
    previous_quote_total = serializers.IntegerField(allow_null=True)  # before a requote
    requote_reason = serializers.CharField()
    amount_paid = serializers.IntegerField()
    balance_due = serializers.IntegerField()
    refund_due = serializers.IntegerField()
    invited_at = serializers.DateTimeField(allow_null=True)
    promised_price = serializers.IntegerField(allow_null=True)
    promised_ready_by = serializers.DateTimeField(allow_null=True)
    appointment = serializers.SerializerMethodField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    readiness = BlockerSerializer(many=True, source="readiness_blockers")
    blockers = serializers.SerializerMethodField()
    available_transitions = serializers.SerializerMethodField()
    promises = PromiseSerializer(many=True, source="promises.all")
    timeline = EventSerializer(many=True, source="events.all")
    customer_repairs = PastRepairSerializer(many=True, source="customer.other_repairs")
    status_token = serializers.CharField()
    status_url = serializers.SerializerMethodField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(
        serializers.DictField(child=serializers.ListField(child=BlockerSerializer()))
    )
    def get_blockers(self, repair) -> dict[str, list[dict[str, str]]]:
        return self._blockers(repair)

    def _blockers(self, repair) -> dict[str, list[dict[str, str]]]:
        """Every staff transition's blockers, evaluated once per repair: `blockers` and
        `available_transitions` both read them."""
        cached = getattr(self, "_blockers_of", None)
        if cached is None or cached[0] is not repair:
            cached = self._blockers_of = (
                repair,
                gate.all_transition_blockers(repair, STAFF_TRANSITIONS),
            )
        return cached[1]

    def get_available_transitions(self, repair) -> list[str]:
        user = self.context["request"].user
        available = []
        for name, blockers in self._blockers(repair).items():
            clearable = gate.input_clearable(name)
            if actor_may(user, repair, name) and all(b["code"] in clearable for b in blockers):
                available.append(name)
        return available

    @extend_schema_field(AppointmentSerializer(allow_null=True))
    def get_appointment(self, repair) -> dict | None:
        found = selectors.current_appointment(repair)
        return AppointmentSerializer(found).data if found else None

    def get_status_url(self, repair) -> str:
        return services.status_link(repair)


class PublicQuoteSerializer(serializers.Serializer):
    labor_fee = serializers.IntegerField()
    parts_total = serializers.IntegerField()
    total = serializers.IntegerField()
    approved = serializers.BooleanField()
    deposit_required = serializers.IntegerField()
    deposit_paid = serializers.IntegerField()
    previous_total = serializers.IntegerField(allow_null=True)  # the total before a requote
    requote_reason = serializers.CharField()


class NextStepSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=timeline.NEXT_STEPS)
    label = serializers.CharField()


class TimelineItemSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    label = serializers.CharField()


class PublicCenterSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()


class PublicStatusSerializer(serializers.Serializer):
    ticket_number = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    center = PublicCenterSerializer()
    product_model = serializers.CharField(allow_null=True)
    phone = serializers.CharField()
    coverage = serializers.CharField()
    technician_name = serializers.CharField(allow_null=True)
    next_step = NextStepSerializer()
    parts_eta = serializers.DateField(allow_null=True)
    quote = PublicQuoteSerializer(allow_null=True)
    amount_due = serializers.IntegerField(allow_null=True)
    balance_due = serializers.IntegerField()
    amount_paid = serializers.IntegerField()
    refunded = serializers.IntegerField()
    refund_due = serializers.IntegerField()
    return_method = serializers.CharField()
    carrier = serializers.CharField(allow_null=True)
    tracking_number = serializers.CharField(allow_null=True)
    can_approve = serializers.BooleanField()
    can_request_courier_return = serializers.BooleanField()
    appointment = AppointmentSerializer(allow_null=True)
    can_book = serializers.BooleanField()
    timeline = TimelineItemSerializer(many=True)


# --- input serializers ---------------------------------------------------------------------------


class PublicLookupInSerializer(serializers.Serializer):
    """Either `token` (the claim ticket's QR code), or `ticket_number` and `phone_last4`."""

    ticket_number = text(40)
    phone_last4 = text(10)
    token = text(64)


# The lookup and the decline's own input: the registry's, which the desk's form uses too.
class PublicDeclineInSerializer(PublicLookupInSerializer, TRANSITIONS["decline"].input_serializer):
    pass


class PublicCourierInSerializer(PublicLookupInSerializer, CourierReturnInSerializer):
    pass
