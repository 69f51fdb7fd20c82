"""GET /api/v1/reports/repairs.csv?from=&to=[&center=]: one row per repair taken in during the
range, streamed. Also the two edge checks the reports page shares: the range and the center."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.api import ErrorSerializer, IsStaff, StaffTokenAuthentication
from core.errors import PermissionDenied, ValidationFailed
from core.roles import MANAGER, user_center_id, user_roles
from core.validation import validated
from service_center.models import ServiceCenter
from workflows import reports

# --- the edge checks, shared with the page -------------------------------------------------

REPORT_YEARS = (2000, 2100)


def _in_years(value: dt.date) -> None:
    if not REPORT_YEARS[0] <= value.year <= REPORT_YEARS[1]:
        raise serializers.ValidationError(gettext_noop("Enter a date from 2000 to 2100."))


def _date_field() -> serializers.DateField:
    return serializers.DateField(
        required=False,
        validators=[_in_years],
        error_messages={"invalid": gettext_noop("Enter a date as YYYY-MM-DD.")},
    )


class _RangeBase(serializers.Serializer):
    center = serializers.CharField(required=False, allow_blank=True, max_length=12)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        """Missing ends default to the last 8 weeks (a lone `from` runs 8 weeks on)."""
        start, end = reports.default_range()
        span = end - start
        if "to" not in data:
            data["to"] = data["from"] + span if "from" in data else end
        data.setdefault("from", data["to"] - span)
        if data["from"] > data["to"]:
            raise serializers.ValidationError(
                {"to": [gettext_noop("The end date is before the start date.")]}
            )
        if (data["to"] - data["from"]).days + 1 > reports.MAX_RANGE_DAYS:
            raise serializers.ValidationError({"to": [gettext_noop("At most 366 days at once.")]})
        return data


# `from` is a Python keyword: the fields reach the serializer's metaclass by name.
ReportRangeSerializer = type(
    "ReportRangeSerializer",
    (_RangeBase,),
    {"from": _date_field(), "to": _date_field(), "__module__": __name__},
)


def report_center(user: Any, code: str = "") -> ServiceCenter:
    """The center whose reports `user` may read: a manager's own (naming another: 403); a
    superuser's choice by code (default: their own, else the first by code)."""
    if MANAGER not in user_roles(user):
        raise PermissionDenied("Only a manager may read the reports.")
    own = user_center_id(user)
    if not user.is_superuser:
        center = ServiceCenter.objects.filter(pk=own).first() if own else None
        if center is None or (code and code != center.code):
            raise PermissionDenied("Only your own center's reports.")
        return center
    centers = ServiceCenter.objects.order_by("code")
    if code:
        center = centers.filter(code=code).first()
    else:
        center = (own and centers.filter(pk=own).first()) or centers.first()
    if center is None:
        raise ValidationFailed({"center": [gettext_noop("No such center.")]})
    return center


def report_period(user: Any, params: Any) -> tuple[reports.Period, ServiceCenter]:
    """The query string checked (every bad field at once; an empty one is left out), then the
    center. The role is checked before the input, as everywhere in the API."""
    if MANAGER not in user_roles(user):
        raise PermissionDenied("Only a manager may read the reports.")
    given = {k: params[k] for k in ("from", "to", "center") if params.get(k)}
    data = validated(ReportRangeSerializer, given)
    center = report_center(user, data.get("center", ""))
    return reports.Period(center.pk, data["from"], data["to"]), center


# --- the CSV -------------------------------------------------------------------------------

HEADER = (
    "ticket",
    "intake_date",
    "closed_date",
    "state",
    "coverage",
    "customer",
    "model",
    "technician",
    "quote_total",
    "amount_paid",
    "balance",
    "parts_waiting_days",
    "comeback_of",
)
# OWASP "CSV injection": a spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Echo:
    """csv.writer's file: hands back what it is given, so each row can be yielded."""

    def write(self, value: str) -> str:
        return value


def neutralised(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _local_date(value: dt.datetime | None, zone: dt.tzinfo) -> str:
    return value.astimezone(zone).date().isoformat() if value else ""


def csv_row(row: tuple, zone: dt.tzinfo | None = None) -> list[Any]:
    """One export row as CSV cells; `zone` is the current time zone (looked up once per
    export by `csv_lines`, not once per cell)."""
    zone = zone or timezone.get_current_timezone()
    (
        ticket,
        created,
        closed,
        state,
        coverage,
        customer,
        model,
        username,
        display_name,
        labor_fee,
        parts_total,
        paid,
        completed,
        diagnosis_fee,
        waited,
        comeback_of,
    ) = row
    quote = None if labor_fee is None else labor_fee + parts_total
    due = reports.amount_due(
        state=state,
        coverage=coverage,
        completed=completed is not None,
        labor_fee=labor_fee,
        parts_total=parts_total,
        diagnosis_fee=diagnosis_fee,
    )
    cells = [
        ticket,
        _local_date(created, zone),
        _local_date(closed, zone),
        state,
        coverage,
        customer or "",
        model or "",
        display_name or username or "",
        "" if quote is None else quote,
        paid,
        "" if due is None else max(due - paid, 0),  # unknown until coverage and price are
        "" if waited is None else reports.days(waited),
        comeback_of or "",
    ]
    return [
        "'" + c if isinstance(c, str) and c.startswith(FORMULA_STARTS) else c for c in cells
    ]  # `neutralised`, inlined: it runs for every cell of every row


def csv_lines(rows: Any) -> Iterator[str]:
    """The byte-order mark and the header, then one line per row as the database sends them
    (2,000 at a time): memory stays flat whatever the number of repairs."""
    writer = csv.writer(Echo())
    zone = timezone.get_current_timezone()
    yield "\ufeff" + writer.writerow(HEADER)
    for row in rows.iterator(chunk_size=2000):
        yield writer.writerow(csv_row(row, zone))


BLOCK_CHARS = 64 * 1024


def in_blocks(lines: Iterator[str]) -> Iterator[bytes]:
    """The lines as UTF-8 blocks of about 64 KiB: one write to the client per block, not per
    row (a WSGI server sends every yielded piece on its own), memory still flat."""
    block: list[str] = []
    size = 0
    for line in lines:
        block.append(line)
        size += len(line)
        if size >= BLOCK_CHARS:
            yield "".join(block).encode("utf-8")
            block, size = [], 0
    if block:
        yield "".join(block).encode("utf-8")


def csv_response(period: reports.Period, code: str) -> StreamingHttpResponse:
    rows = reports.export_rows(period)
    response = StreamingHttpResponse(
        in_blocks(csv_lines(rows)), content_type="text/csv; charset=utf-8"
    )
    name = f"repairs-{code}-{period.date_from}_{period.date_to}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"  # customers' names
    return response


class RepairsCsvView(APIView):
    """The repairs of a center taken in during a range, as CSV (a manager of the center; a
    superuser names the center with `center`)."""

    authentication_classes = [StaffTokenAuthentication, SessionAuthentication]
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="reports_repairs_csv",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First intake date (local)"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last intake date (local)"),
            OpenApiParameter("center", OpenApiTypes.STR, description="Center code (superusers)"),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            **{code: ErrorSerializer for code in (400, 401, 403, 405, 406)},
        },
    )
    def get(self, request):
        period, center = report_period(request.user, request.query_params)
        return csv_response(period, center.code)

    def perform_content_negotiation(self, request, force=False):
        # The CSV is not negotiated; what goes through a renderer is only an error, in JSON.
        return JSONRenderer(), JSONRenderer.media_type
