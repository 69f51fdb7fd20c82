"""The manager's reports (/manager/): for a range of intake dates at one center, where repairs
wait and which promises are broken, as charts (inline SVG, workflows/charts.py) each followed by
its numbers in a table, and a link to the same range as CSV. A manager sees their own center; a
superuser picks one (?center=). The figures come from workflows/reports.py in 7 queries."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.errors import PermissionDenied, ValidationFailed
from core.pages import render_staff
from core.roles import MANAGER, user_roles
from service_center.models import ServiceCenter
from workflows import reports
from workflows.api.reports import report_period
from workflows.charts import Bar, bar_chart, hbar_chart
from workflows.views.common import form_errors

FIELDS = ("from", "to", "center")


def _turnaround(report: reports.Report) -> dict[str, Any]:
    weeks = report.weeks
    bars = [
        Bar(
            w.label,
            reports.days(w.average) or 0,
            _("%(week)s: %(days)s days on average, %(n)s closed")
            % {"week": w.label, "days": reports.days(w.average) or 0, "n": w.closed},
        )
        for w in weeks
    ]
    label = _("Average turnaround by week of intake, in days")
    chart = bar_chart(bars, label=label, unit=_("days"))
    rows = [
        {
            "label": w.label,
            "taken_in": w.taken_in,
            "closed": w.closed,
            "average": reports.days(w.average),
            "median": reports.days(w.median),
        }
        for w in weeks
    ]
    return {"chart": chart, "rows": rows}


def _states(report: reports.Report) -> dict[str, Any]:
    shown = [s for s in report.states if s.stays]
    bars = [
        Bar(
            s.label,
            reports.hours(s.average) or 0,
            _("%(state)s: %(hours)s hours on average over %(n)s stays")
            % {"state": s.label, "hours": reports.hours(s.average), "n": s.stays},
        )
        for s in shown
    ]
    chart = hbar_chart(bars, label=_("Average time in each state, in hours"), unit=_("hours"))
    rows = [
        {
            "label": s.label,
            "stays": s.stays,
            "ongoing": s.ongoing,
            "average": reports.hours(s.average),
            "longest": reports.hours(s.longest),
        }
        for s in shown
    ]
    return {"chart": chart, "rows": rows}


def _parts(report: reports.Report) -> dict[str, Any]:
    parts = report.parts
    bars = [
        Bar(
            _("%(span)s days") % {"span": span},
            n,
            _("%(n)s stays of %(span)s days") % {"n": n, "span": span},
        )
        for span, n in parts.buckets
    ]
    label = _("Stays in waiting for parts, by length in days")
    return {
        "chart": bar_chart(bars, label=label, unit=_("stays")),
        "figures": parts,
        "average": reports.days(parts.average),
        "longest": reports.days(parts.longest),
    }


def _promises(report: reports.Report) -> dict[str, Any]:
    people = report.promises
    nobody = _("(nobody recorded)")
    bars = [
        Bar(
            p.name or nobody,
            p.overdue_open + p.kept_late,
            _("%(name)s: %(open)s overdue and open, %(late)s kept late")
            % {"name": p.name or nobody, "open": p.overdue_open, "late": p.kept_late},
        )
        for p in people
    ]
    label = _("Broken promises (overdue or kept late) by staff member")
    return {
        "chart": hbar_chart(bars, label=label, unit=_("promises")),
        "rows": people,
        "nobody": nobody,
    }


def _fixes_and_visits(report: reports.Report) -> dict[str, Any]:
    fixes, visits = report.fixes, report.visits
    rate_bars = [
        Bar(_("First-time fix"), fixes.first_time_fix_rate or 0, _("First-time fix rate")),
        Bar(_("Comebacks"), fixes.comeback_rate or 0, _("Comeback rate")),
    ]
    visit_bars = [
        Bar(_("Kept"), visits.kept, _("%(n)s kept") % {"n": visits.kept}),
        Bar(_("Missed"), visits.missed, _("%(n)s missed") % {"n": visits.missed}),
        Bar(_("Withdrawn"), visits.withdrawn, _("%(n)s withdrawn") % {"n": visits.withdrawn}),
        Bar(_("Cancelled"), visits.cancelled, _("%(n)s cancelled") % {"n": visits.cancelled}),
        Bar(_("Upcoming"), visits.upcoming, _("%(n)s upcoming") % {"n": visits.upcoming}),
    ]
    rates_label, visits_label = _("First-time fix and comeback rates"), _("Appointments by outcome")
    return {
        "rates_chart": hbar_chart(rate_bars, label=rates_label, unit="%"),
        "fixes": fixes,
        "visits_chart": hbar_chart(visit_bars, label=visits_label, unit=_("visits")),
        "visits": visits,
    }


def _figures(report: reports.Report) -> dict[str, Any]:
    return {
        "turnaround": _turnaround(report),
        "states": _states(report),
        "parts": _parts(report),
        "promises": _promises(report),
        **_fixes_and_visits(report),
    }


@require_GET
@login_required
def manager_reports(request: HttpRequest) -> HttpResponse:
    user = request.user
    if MANAGER not in user_roles(user):
        raise HttpForbidden(_("This page is not for your role."))
    typed = {name: request.GET.get(name, "")[:40] for name in FIELDS}
    context: dict[str, Any] = {"errors": {}, "report": None, "values": typed}
    status = 200
    try:
        period, center = report_period(user, request.GET)
    except PermissionDenied:
        raise HttpForbidden(_("Only your own center's reports.")) from None
    except ValidationFailed as exc:
        context["errors"], status = form_errors(exc), 400
    else:
        query = {"from": period.date_from, "to": period.date_to}
        if user.is_superuser:
            query["center"] = center.code
        context.update(
            report=reports.report(period),
            report_center=center,
            values={**{k: str(v) for k, v in query.items()}, "center": center.code},
            csv_url="/api/v1/reports/repairs.csv?" + urlencode(query),
        )
        context.update(_figures(context["report"]))
    if user.is_superuser:
        centers = ServiceCenter.objects.order_by("code").values_list("code", "name")
        context["centers"] = list(centers)
    context["max_days"] = reports.MAX_RANGE_DAYS
    return render_staff(request, "manager/reports.html", context, status=status)
