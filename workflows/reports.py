"""The manager's reports: figures for one center and a range of local dates, read with SQL
aggregates (never a Python loop over repairs) in a fixed number of queries whatever the number
of repairs (tests/test_reports.py counts them).

Repairs are in a report when their intake (`created_at`) falls in [date_from, date_to], both
inclusive, in the center's time zone; promises go by their due date and appointments by their
start. Durations come from the timeline: a repair enters a state with the transition event whose
`to_state` it is, and leaves it with its next transition event to another state (a Window Lead
over the repair's events ordered by at, id). Self-transitions (a deposit recorded while awaiting
approval) change no state and are left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, ExtractIsoYear, ExtractWeek, Lead, RowNumber
from django.utils import timezone

from workflows.choices import EventKind, State
from workflows.models import (
    Appointment,
    AppointmentStatus,
    Promise,
    Repair,
    RepairEvent,
)
from workflows.models.repair import amount_due_of
from workflows.texts import CoverageReason

MAX_RANGE_DAYS = 366
DEFAULT_WEEKS = 8
# A repair's stay in these never ends: no time-in-state figure for them.
FINAL_STATES = (State.CLOSED, State.CANCELLED)
TIMED_STATES = [s for s in State if s not in FINAL_STATES]
# Parts waiting, bucketed: upper bounds in days (the last bucket is open).
PARTS_BUCKETS = (1, 3, 7, 14)


@dataclass(frozen=True)
class Period:
    center_id: int
    date_from: dt.date
    date_to: dt.date

    @property
    def start(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.date_from, dt.time.min))

    @property
    def end(self) -> dt.datetime:
        """Exclusive: the first moment after date_to."""
        return timezone.make_aware(dt.datetime.combine(self.date_to + dt.timedelta(1), dt.time.min))


def default_range(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last 8 weeks, today included."""
    today = today or timezone.localdate()
    return today - dt.timedelta(weeks=DEFAULT_WEEKS) + dt.timedelta(1), today


def hours(value: dt.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 1)


def days(value: dt.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 86400, 1)


def _duration(end: Any, start: Any) -> ExpressionWrapper:
    return ExpressionWrapper(end - start, output_field=DurationField())


def period_repairs(period: Period) -> QuerySet[Repair]:
    return Repair.objects.filter(
        center_id=period.center_id, created_at__gte=period.start, created_at__lt=period.end
    )


def _closed_at() -> Subquery:
    """When the repair entered `closed` (handed over, or delivery confirmed): the timeline's
    first transition event into it."""
    return Subquery(
        RepairEvent.objects.filter(
            repair=OuterRef("pk"), kind=EventKind.TRANSITION, to_state=State.CLOSED
        )
        .order_by("at", "id")
        .values("at")[:1]
    )


def state_changes(period: Period) -> QuerySet[RepairEvent]:
    """The transition events that change the state of the period's repairs, each with `left_at`
    (the repair's next such event; null while it is still in that state)."""
    return (
        RepairEvent.objects.filter(
            repair__center_id=period.center_id,
            repair__created_at__gte=period.start,
            repair__created_at__lt=period.end,
            kind=EventKind.TRANSITION,
        )
        .exclude(from_state=F("to_state"))
        .annotate(
            left_at=Window(
                Lead("at"), partition_by=[F("repair_id")], order_by=[F("at").asc(), F("id").asc()]
            )
        )
    )


# --- turnaround ---------------------------------------------------------------------------


@dataclass
class Week:
    year: int
    week: int
    taken_in: int
    closed: int
    average: dt.timedelta | None
    median: dt.timedelta | None = None

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"


def _by_intake_week(queryset: QuerySet[Repair]) -> QuerySet[Repair]:
    return queryset.annotate(
        iso_year=ExtractIsoYear("created_at"), iso_week=ExtractWeek("created_at")
    )


def turnaround(period: Period) -> list[Week]:
    """Per ISO week of intake: repairs taken in, how many were closed, and the average and the
    median time from intake to closed (2 queries)."""
    closed = _by_intake_week(period_repairs(period)).annotate(
        closed_at_event=_closed_at(), took=_duration(F("closed_at_event"), F("created_at"))
    )
    rows = (
        closed.values("iso_year", "iso_week")
        .annotate(
            taken_in=Count("id"),
            closed=Count("id", filter=Q(closed_at_event__isnull=False)),
            average=Avg("took"),
        )
        .order_by("iso_year", "iso_week")
    )
    weeks = {
        (r["iso_year"], r["iso_week"]): Week(
            r["iso_year"], r["iso_week"], r["taken_in"], r["closed"], r["average"]
        )
        for r in rows
    }
    for key, middle in _weekly_medians(closed).items():
        weeks[key].median = middle
    return list(weeks.values())


def _weekly_medians(closed: QuerySet[Repair]) -> dict[tuple[int, int], dt.timedelta]:
    """The median turnaround per week: the middle row (odd count) or the two middle rows (even)
    of each week ordered by duration, picked in SQL with RowNumber and Count windows; at most
    two rows a week come back."""
    week = [F("iso_year"), F("iso_week")]
    middles = (
        closed.filter(closed_at_event__isnull=False)
        .annotate(
            rank=Window(RowNumber(), partition_by=week, order_by=[F("took").asc(), F("id").asc()]),
            total=Window(Count("id"), partition_by=week),
        )
        .alias(offset=F("rank") * 2 - F("total"))
        .filter(offset__gte=0, offset__lte=2)
        .values_list("iso_year", "iso_week", "took")
    )
    found: dict[tuple[int, int], list[dt.timedelta]] = {}
    for year, week_number, took in middles:
        found.setdefault((year, week_number), []).append(took)
    return {key: sum(v, dt.timedelta()) / len(v) for key, v in found.items()}


# --- time in each state, parts waiting -----------------------------------------------------


@dataclass
class StateTime:
    state: str
    stays: int
    ongoing: int
    average: dt.timedelta | None
    longest: dt.timedelta | None

    @property
    def label(self) -> str:
        return str(State(self.state).label)


@dataclass
class PartsWaiting:
    stays: int
    ongoing: int
    average: dt.timedelta | None
    longest: dt.timedelta | None
    buckets: list[tuple[str, int]]  # ("<1", n), ("1-3", n), ... ("14+", n), in days


def _state_figures(period: Period, now: dt.datetime) -> dict[str, Any]:
    """One query: per non-final state, stays, ongoing stays, average and longest, and the
    awaiting_parts stays by length. A stay still going on counts up to `now`."""
    stays = state_changes(period).annotate(
        stayed=_duration(Coalesce(F("left_at"), Value(now)), F("at"))
    )
    figures: dict[str, Any] = {}
    for state in TIMED_STATES:
        here = Q(to_state=state)
        figures[f"{state}__n"] = Count("id", filter=here)
        figures[f"{state}__ongoing"] = Count("id", filter=here & Q(left_at__isnull=True))
        figures[f"{state}__avg"] = Avg("stayed", filter=here)
        figures[f"{state}__max"] = Max("stayed", filter=here)
    waiting = Q(to_state=State.AWAITING_PARTS)
    low = None
    for high in (*PARTS_BUCKETS, None):
        span = Q()
        if low is not None:
            span &= Q(stayed__gte=dt.timedelta(days=low))
        if high is not None:
            span &= Q(stayed__lt=dt.timedelta(days=high))
        figures[f"parts__{low}__{high}"] = Count("id", filter=waiting & span)
        low = high
    return stays.aggregate(**figures)


def _bucket_label(low: int | None, high: int | None) -> str:
    if low is None:
        return f"<{high}"
    return f"{low}+" if high is None else f"{low}-{high}"


def time_in_states(
    period: Period, now: dt.datetime | None = None
) -> tuple[list[StateTime], PartsWaiting]:
    """Time spent in each state by the period's repairs, and the parts waiting time (the stays
    in `awaiting_parts`), in one query."""
    got = _state_figures(period, now or timezone.now())
    states = [
        StateTime(
            state,
            got[f"{state}__n"],
            got[f"{state}__ongoing"],
            got[f"{state}__avg"],
            got[f"{state}__max"],
        )
        for state in TIMED_STATES
    ]
    parts = next(s for s in states if s.state == State.AWAITING_PARTS)
    buckets, low = [], None
    for high in (*PARTS_BUCKETS, None):
        buckets.append((_bucket_label(low, high), got[f"parts__{low}__{high}"]))
        low = high
    waiting = PartsWaiting(parts.stays, parts.ongoing, parts.average, parts.longest, buckets)
    return states, waiting


def parts_waiting_per_repair(now: dt.datetime) -> Subquery:
    """A repair's whole time in `awaiting_parts` (up to `now` while it still waits), for an
    annotation on repairs; a correlated subquery, so it works per row of a streamed export."""
    following = (
        RepairEvent.objects.filter(repair_id=OuterRef("repair_id"), kind=EventKind.TRANSITION)
        .exclude(from_state=F("to_state"))
        .filter(Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), id__gt=OuterRef("id")))
        .order_by("at", "id")
        .values("at")[:1]
    )
    stays = (
        RepairEvent.objects.filter(
            repair=OuterRef("pk"), kind=EventKind.TRANSITION, to_state=State.AWAITING_PARTS
        )
        .exclude(from_state=F("to_state"))
        .annotate(stayed=_duration(Coalesce(Subquery(following), Value(now)), F("at")))
        .values("repair")
        .annotate(total=Sum("stayed"))
        .values("total")
    )
    return Subquery(stays, output_field=DurationField())


# --- promises ------------------------------------------------------------------------------


@dataclass
class StaffPromises:
    user_id: int | None
    name: str
    due: int = 0
    kept_on_time: int = 0
    kept_late: int = 0
    overdue_open: int = 0


def _promise_name(row: dict[str, Any]) -> str:
    full = f"{row['made_by__first_name']} {row['made_by__last_name']}".strip()
    return row["made_by__staff_profile__display_name"] or full or row["made_by__username"] or ""


PROMISE_PEOPLE = (
    "made_by",
    "made_by__username",
    "made_by__first_name",
    "made_by__last_name",
    "made_by__staff_profile__display_name",
)


def promises_by_staff(period: Period, now: dt.datetime | None = None) -> list[StaffPromises]:
    """Promises due in the period at the center, per staff member who made them: how many,
    kept on time, kept late, and still open past their due time (2 queries)."""
    now = now or timezone.now()
    due = Promise.objects.filter(
        repair__center_id=period.center_id, due_at__gte=period.start, due_at__lt=period.end
    )
    rows = (
        due.values(*PROMISE_PEOPLE)
        .annotate(
            due=Count("id"),
            on_time=Count("id", filter=Q(fulfilled_at__lte=F("due_at"))),
            late=Count("id", filter=Q(fulfilled_at__gt=F("due_at"))),
        )
        .order_by()
    )
    people: dict[int | None, StaffPromises] = {}
    for r in rows:
        people[r["made_by"]] = StaffPromises(
            r["made_by"], _promise_name(r), r["due"], r["on_time"], r["late"]
        )
    overdue = (
        Promise.objects.open()
        .filter(pk__in=due.values("pk"), due_at__lt=now)
        .values("made_by")
        .annotate(n=Count("id"))
        .order_by()
    )
    for r in overdue:
        people[r["made_by"]].overdue_open = r["n"]
    return sorted(
        people.values(), key=lambda p: (-(p.overdue_open + p.kept_late), p.name, p.user_id or 0)
    )


# --- first-time fix, comebacks -------------------------------------------------------------


@dataclass
class FixRates:
    taken_in: int
    repaired_closed: int
    fixed_first_time: int
    comebacks: int

    @property
    def first_time_fix_rate(self) -> float | None:
        return _rate(self.fixed_first_time, self.repaired_closed)

    @property
    def comeback_rate(self) -> float | None:
        return _rate(self.comebacks, self.taken_in)


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def fix_rates(period: Period) -> FixRates:
    """First-time fix: of the period's repairs that were repaired (completed) and closed, those
    no later repair came back under repair warranty for. Comebacks: of the repairs taken in,
    those taken in under repair warranty (one query)."""
    got = (
        period_repairs(period)
        .annotate(came_back=Exists(Repair.objects.filter(comeback_of=OuterRef("pk"))))
        .aggregate(
            taken_in=Count("id"),
            repaired=Count("id", filter=Q(state=State.CLOSED, completed_at__isnull=False)),
            first=Count(
                "id", filter=Q(state=State.CLOSED, completed_at__isnull=False, came_back=False)
            ),
            comebacks=Count(
                "id",
                filter=Q(comeback_of__isnull=False)
                | Q(coverage_reason_code=CoverageReason.REPAIR_WARRANTY),
            ),
        )
    )
    return FixRates(got["taken_in"], got["repaired"], got["first"], got["comebacks"])


# --- appointments --------------------------------------------------------------------------


@dataclass
class Visits:
    kept: int
    missed: int
    withdrawn: int
    cancelled: int
    upcoming: int

    @property
    def total(self) -> int:
        return self.kept + self.missed + self.withdrawn + self.cancelled + self.upcoming

    @property
    def kept_rate(self) -> float | None:
        return _rate(self.kept, self.kept + self.missed)


def appointments(period: Period, now: dt.datetime | None = None) -> Visits:
    """Visits starting in the period: kept (the device came in: done), missed (still booked
    after its end), withdrawn (a blocker appeared), cancelled, and upcoming (one query)."""
    now = now or timezone.now()
    booked = Q(status=AppointmentStatus.BOOKED)
    got = Appointment.objects.filter(
        center_id=period.center_id, start__gte=period.start, start__lt=period.end
    ).aggregate(
        kept=Count("id", filter=Q(status=AppointmentStatus.DONE)),
        missed=Count("id", filter=booked & Q(end__lte=now)),
        withdrawn=Count("id", filter=Q(status=AppointmentStatus.WITHDRAWN)),
        cancelled=Count("id", filter=Q(status=AppointmentStatus.CANCELLED)),
        upcoming=Count("id", filter=booked & Q(end__gt=now)),
    )
    return Visits(**got)


# --- all of it -----------------------------------------------------------------------------


@dataclass
class Report:
    period: Period
    weeks: list[Week]
    states: list[StateTime]
    parts: PartsWaiting
    promises: list[StaffPromises]
    fixes: FixRates
    visits: Visits


def report(period: Period, now: dt.datetime | None = None) -> Report:
    """Every figure of the reports page: 7 queries."""
    now = now or timezone.now()
    states, parts = time_in_states(period, now)
    return Report(
        period=period,
        weeks=turnaround(period),
        states=states,
        parts=parts,
        promises=promises_by_staff(period, now),
        fixes=fix_rates(period),
        visits=appointments(period, now),
    )


# --- the CSV export ------------------------------------------------------------------------

EXPORT_FIELDS = (
    "ticket_number",
    "created_at",
    "closed_at",
    "state",
    "coverage",
    "customer__name",
    "product_model__name",
    "technician__username",
    "technician__staff_profile__display_name",
    "labor_fee",
    "parts_total",
    "paid",
    "completed_at",
    "center__diagnosis_fee",
    "parts_waited",
    "comeback_of__ticket_number",
)


def _sum_of(queryset: QuerySet, expression: Any) -> Subquery:
    """SUM(expression) over a correlated queryset, 0 when it has no rows."""
    total = queryset.order_by().values("repair").annotate(total=Sum(expression)).values("total")
    return Coalesce(Subquery(total), Value(0))


def export_rows(period: Period, now: dt.datetime | None = None) -> QuerySet:
    """One tuple per repair taken in during the period (EXPORT_FIELDS, oldest first): plain
    values, no model instances, so a streamed export holds one chunk at a time. The quote's
    parts and the payments ledger are summed in SQL; parts waiting is the time in
    awaiting_parts (`parts_waiting_per_repair`)."""
    from parts.models import Reservation, ReservationStatus
    from workflows.models import Payment

    lines = Reservation.objects.filter(repair=OuterRef("pk")).exclude(
        status=ReservationStatus.RELEASED
    )
    return (
        period_repairs(period)
        .annotate(
            parts_total=_sum_of(lines, F("quantity") * F("unit_price")),
            paid=_sum_of(Payment.objects.filter(repair=OuterRef("pk")), F("amount")),
            parts_waited=parts_waiting_per_repair(now or timezone.now()),
        )
        .order_by("created_at", "id")
        .values_list(*EXPORT_FIELDS)
    )


def amount_due(
    *,
    state: str,
    coverage: str,
    completed: bool,
    labor_fee: int | None,
    parts_total: int,
    diagnosis_fee: int,
) -> int | None:
    """`Repair.amount_due` from an export row's values: the model's own rule
    (`workflows.models.repair.amount_due_of`) on plain values."""
    return amount_due_of(
        state=state,
        coverage=coverage,
        completed=completed,
        labor_fee=labor_fee,
        parts_total=lambda: parts_total,
        diagnosis_fee=lambda: diagnosis_fee,
    )
