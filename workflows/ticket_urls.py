"""The claim ticket PDF, beside the API: GET /api/v1/repairs/<ticket>/claim-ticket.pdf (staff)."""

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.api import ErrorSerializer, StaffTokenAuthentication
from core.roles import same_center, user_roles
from workflows import receipts
from workflows.tickets import VARIANTS, load_repair, render_claim_ticket


class IsStaff(BasePermission):
    message = "Only service-center staff may print claim tickets."

    def has_permission(self, request, view) -> bool:
        return bool(user_roles(request.user))


class ClaimTicketView(APIView):
    """The claim ticket of a repair at the staff member's own center (another center's: 404)."""

    authentication_classes = [StaffTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        operation_id="repair_claim_ticket_pdf",
        parameters=[OpenApiParameter("variant", str, enum=list(VARIANTS), required=False)],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            **{code: ErrorSerializer for code in (400, 401, 403, 404, 405, 406)},
        },
    )
    def get(self, request, ticket_number: str):
        variant = request.query_params.get("variant", "a4")
        if variant not in VARIANTS:
            raise exceptions.ValidationError({"variant": [f"One of {', '.join(VARIANTS)}."]})
        repair = load_repair(ticket_number.strip().upper())
        if repair is None or not same_center(request.user, repair.center_id):
            raise exceptions.NotFound("No such repair.")
        # Rendered after the reads, outside any transaction (ATOMIC_REQUESTS is off).
        response = HttpResponse(render_claim_ticket(repair, variant=variant), "application/pdf")
        response["Content-Disposition"] = f'inline; filename="{repair.ticket_number}.pdf"'
        response["Cache-Control"] = "private, no-store"  # a customer's name and repair
        return response

    def perform_content_negotiation(self, request, force=False):
        # The PDF is not negotiated (an `Accept: application/pdf` must not get a 406); what goes
        # through a renderer is only ever an error, and errors are JSON.
        return JSONRenderer(), JSONRenderer.media_type

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # Errors leave as {code, detail} like the rest of the API, whatever the global handler.
        if isinstance(exc, exceptions.APIException) and isinstance(response.data, dict):
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else "invalid"
            detail = response.data.get("detail", exc.detail)
            response.data = {"code": response.data.get("code", code), "detail": detail}
            if not isinstance(detail, str):
                response.data = {"code": "invalid", "detail": "Invalid input.", "errors": detail}
        return response


class ReceiptView(ClaimTicketView):
    """The payment receipt (영수증) of a repair at the staff member's own center."""

    @extend_schema(
        operation_id="repair_receipt_pdf",
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            **{code: ErrorSerializer for code in (401, 403, 404, 405, 406)},
        },
    )
    def get(self, request, ticket_number: str):
        repair = receipts.load_repair(ticket_number.strip().upper())
        if repair is None or not same_center(request.user, repair.center_id):
            raise exceptions.NotFound("No such repair.")
        response = HttpResponse(receipts.render_receipt(repair), "application/pdf")
        response["Content-Disposition"] = f'inline; filename="{repair.ticket_number}-receipt.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response


urlpatterns = [
    path(
        "repairs/<str:ticket_number>/claim-ticket.pdf",
        ClaimTicketView.as_view(),
        name="repair-claim-ticket",
    ),
    path(
        "repairs/<str:ticket_number>/receipt.pdf",
        ReceiptView.as_view(),
        name="repair-receipt",
    ),
]
