"""The payments ledger over the API: list a repair's rows, take a payment, give a refund."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.api import BaseAPIView, responses
from core.idempotency import idempotent
from workflows import selectors, services
from workflows.api.repairs import RepairViewMixin
from workflows.inputs import PaymentInSerializer, RefundInSerializer
from workflows.models import Payment


class PaymentSerializer(serializers.Serializer):
    receipt_number = serializers.CharField()
    kind = serializers.CharField()
    amount = serializers.IntegerField(help_text="KRW; refunds are negative")
    method = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)


class PaymentLedgerSerializer(serializers.Serializer):
    ticket_number = serializers.CharField()
    amount_due = serializers.IntegerField(allow_null=True)
    payable = serializers.IntegerField()
    amount_paid = serializers.IntegerField()
    balance_due = serializers.IntegerField()
    refund_due = serializers.IntegerField()
    payments = PaymentSerializer(many=True)


class LedgerMixin(RepairViewMixin):
    def ledger(self, ticket_number: str, status: int = 200) -> Response:
        """The ledger of a repair at the user's center (any staff role may read it)."""
        repair = selectors.repair_get_for_action(
            user=self.request.user, ticket_number=ticket_number
        )
        rows = list(Payment.objects.filter(repair=repair).select_related("created_by"))
        data = {
            "ticket_number": repair.ticket_number,
            "amount_due": repair.amount_due,
            "payable": repair.payable,
            "amount_paid": repair.amount_paid,
            "balance_due": repair.balance_due,
            "refund_due": repair.refund_due,
            "payments": rows,
        }
        return Response(PaymentLedgerSerializer(data).data, status=status)


# Per ledger form: its input (the page form checks it with the same serializer) and its doc.
LEDGER_POSTS: dict[str, tuple[type[serializers.Serializer], str]] = {
    "payment": (
        PaymentInSerializer,
        "Record money taken. 400 `overpayment` when the total paid would exceed what is due "
        "(before approval: the quoted total).",
    ),
    "refund": (
        RefundInSerializer,
        "Record money given back, with a reason. 400 `refund_exceeds_paid` when it is more "
        "than was paid.",
    ),
}


def ledger_post(kind: str) -> Any:
    """POST one ledger row of `kind` through `repair_record_<kind>`, its input checked here;
    answers the whole ledger, 201."""
    serializer, description = LEDGER_POSTS[kind]
    service = getattr(services, f"repair_record_{kind}")

    @extend_schema(
        operation_id=f"repair_{kind}s_create",
        request=serializer,
        responses=responses({201: PaymentLedgerSerializer}),
        description=description,
        tags=["payments"],
    )
    @idempotent
    def post(self, request, ticket_number: str):
        repair = self.repair_for(ticket_number, f"record_{kind}")
        service(repair=repair.pk, actor=request.user, **self.input(serializer))
        return self.ledger(ticket_number, status=201)

    return post


class RepairPaymentsView(LedgerMixin, BaseAPIView):
    @extend_schema(
        operation_id="repair_payments_list",
        responses=responses({200: PaymentLedgerSerializer}),
        tags=["payments"],
    )
    def get(self, request, ticket_number: str):
        return self.ledger(ticket_number)

    post = ledger_post("payment")


class RepairRefundsView(LedgerMixin, BaseAPIView):
    post = ledger_post("refund")
