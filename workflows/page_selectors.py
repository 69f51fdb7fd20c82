"""Reads for the HTML pages. Each selector owns its select_related/prefetch_related, so a page
runs a constant number of queries whatever the number of rows (tests/test_pages_board.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    BigIntegerField,
    Count,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from core.roles import TECH, staff_name
from parts.models import Part, Reservation, Stock
from service_center import selectors as center_selectors
from service_center.models import Customer, Device
from workflows import gate, selectors
from workflows.board_cards import EPOCH
from workflows.choices import (
    OPEN_STATES,
    EventKind,
    NotificationStatus,
    State,
)
from workflows.models import Appointment, IntakePhoto, Notification, Promise, Repair, RepairEvent

# The board's columns, in the order work flows through the center.
BOARD_STATES = [s for s in OPEN_STATES]
SEARCH_LIMIT = 50


def _open_promises() -> Prefetch:
    return Prefetch(
        "promises",
        queryset=Promise.objects.open().order_by("due_at", "id"),
        to_attr="open_promises",
    )


def _card_queryset() -> QuerySet[Repair]:
    """Repairs as board cards: customer, model, technician and open promises in 2 queries (a
    card shows no reservation: none is read)."""
    return Repair.objects.select_related(
        "customer", "product_model", "device__product_model", "technician__staff_profile"
    ).prefetch_related(_open_promises())


COLUMN_LIMIT = 30  # cards per board column (overdue first, then oldest)


@dataclass
class Board:
    overdue: list[Any]  # CardRow (the board) or Repair
    columns: list[tuple[str, str, list[Any], int]]  # (state, label, first cards, how many)
    results: list[Repair] | None = None  # a search
    query: str = ""
    total: int = 0
    more: bool = False  # a search found more than it shows
    overdue_html: str = ""  # the overdue strip's cards, drawn (views.desk)


def _with_overdue_since(queryset: QuerySet[Repair], now: dt.datetime) -> QuerySet[Repair]:
    """`overdue_since`: the due time of the repair's earliest open promise already past, or
    NULL (a correlated subquery the partial index `promise_open_repair_due` answers)."""
    earliest = (
        Promise.objects.open()
        .filter(repair=OuterRef("pk"), due_at__lt=now)
        .order_by("due_at")
        .values("due_at")[:1]
    )
    return queryset.annotate(overdue_since=Subquery(earliest))


# Overdue first (earliest broken promise first), then oldest: the board's and the lists' order.
CARD_ORDER = [F("overdue_since").asc(nulls_last=True), F("created_at").asc(), F("id").asc()]


def desk_board(*, center_id: int, query: str = "") -> Board:
    """The desk board: open repairs in columns by state; repairs with overdue promises first,
    both in a strip of their own and at the top of their column. A search lists matches instead.

    The database picks each column's first `COLUMN_LIMIT` cards (a row number per state) and
    counts the columns (one aggregate): two queries whatever the number of open repairs. The
    cards are narrow rows (`CardRow`); the page draws them through `board_cards.fill`, which
    reads and prefetches only those not already drawn (`read_cards`)."""
    now = timezone.now()
    base = _card_queryset().filter(center_id=center_id)
    if query.strip():
        found = selectors.search_repairs(base, query, center_id=center_id)
        found = found.order_by("-created_at", "-id")
        results = list(_with_overdue_since(found, now)[: SEARCH_LIMIT + 1])  # one more: others?
        more = len(results) > SEARCH_LIMIT
        results = results[:SEARCH_LIMIT]
        return Board(
            overdue=[], columns=[], results=results, query=query, total=len(results), more=more
        )
    counts = _counts_by_state(Repair.objects.filter(center_id=center_id, state__in=BOARD_STATES))
    cards = _first_card_rows(Q(center_id=center_id, state__in=BOARD_STATES), now)
    # Every card of the overdue strip is among its column's first cards: overdue cards lead
    # their column in the strip's own order.
    overdue = [r for r in cards if r.overdue_us is not None]
    columns = []
    for state in BOARD_STATES:
        in_state = [r for r in cards if r.state == state]
        # A column of hundreds helps nobody and costs a render each; the rest is a search away.
        columns.append((state.value, state.label, in_state, counts.get(state.value, 0)))
    return Board(overdue=overdue[:COLUMN_LIMIT], columns=columns, total=sum(counts.values()))


def todays_visits(*, center_id: int) -> list[tuple[str, list[Appointment]]]:
    """The board's panel: today's booked or done visits at the center, per technician (one
    query), in time order."""
    today = timezone.localdate()
    rows = (
        Appointment.objects.filter(center_id=center_id, start__date=today)
        .filter(status__in=["booked", "done"])
        .select_related("technician__staff_profile", "repair")
        .order_by("technician__username", "start")
    )
    by_tech: dict[str, list[Appointment]] = {}
    for row in rows:
        by_tech.setdefault(staff_name(row.technician), []).append(row)
    return list(by_tech.items())


def repair_page(*, ticket_number: str, center_id: int | None) -> Repair | None:
    """One repair with everything its page shows: the whole timeline, promises, reservations,
    messages, the customer's devices and earlier repairs."""
    queryset = Repair.objects.select_related(
        "center",
        "customer",
        "product_model",
        "device__product_model",
        "technician__staff_profile",
        "created_by",
    ).prefetch_related(
        Prefetch("reservations", queryset=Reservation.objects.select_related("part")),
        Prefetch("promises", queryset=Promise.objects.select_related("made_by__staff_profile")),
        Prefetch("events", queryset=RepairEvent.objects.order_by("at", "id")),
        Prefetch("notifications", queryset=Notification.objects.order_by("-created_at", "-id")),
        Prefetch("photos", queryset=IntakePhoto.objects.order_by("created_at", "id")),
        Prefetch(
            "customer__devices",
            queryset=Device.objects.select_related("product_model").order_by("serial_number"),
        ),
    )
    if center_id is not None:
        queryset = queryset.filter(center_id=center_id)
    repair = queryset.filter(ticket_number=ticket_number.strip().upper()).first()
    if repair is not None:
        repair.other_repairs = list(
            Repair.objects.filter(customer__phone=repair.customer.phone, center_id=repair.center_id)
            .exclude(pk=repair.pk)
            .select_related("product_model", "technician__staff_profile")
            .order_by("-created_at")[:20]
        )
    return repair


def technicians(*, center_id: int) -> list[Any]:
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name=TECH, staff_profile__center_id=center_id)
        .select_related("staff_profile")
        .order_by("username")
    )


@dataclass
class PartChoice:
    part: Part
    on_hand: int = 0
    available: int = 0


def compatible_parts(*, repair: Repair) -> list[PartChoice]:
    """Parts for the repair's model, with their stock at the repair's center."""
    if repair.product_model_id is None:
        return []
    parts = list(
        Part.objects.filter(compatible_models=repair.product_model_id).order_by("part_number")
    )
    stock = {
        s.part_id: s
        for s in Stock.objects.filter(center_id=repair.center_id, part__in=[p.pk for p in parts])
    }
    return [
        PartChoice(
            part=p,
            on_hand=stock[p.pk].on_hand if p.pk in stock else 0,
            available=stock[p.pk].available if p.pk in stock else 0,
        )
        for p in parts
    ]


def _first_cards(where: Q, now: dt.datetime, *, limit: int = COLUMN_LIMIT) -> list[Repair]:
    """The first `limit` cards of each state among the repairs `where` selects, in card order
    (overdue first, then oldest): `_numbered_cards` picks them, then only those are joined,
    read and prefetched by primary key (a separate query: as a subquery, PostgreSQL misjudges
    its size and hashes the whole repairs table)."""
    numbered = _numbered_cards(where, now, limit).values_list("pk", flat=True)
    cards = _card_queryset().filter(pk__in=list(numbered))
    return list(_with_overdue_since(cards, now).order_by(*CARD_ORDER))


@dataclass
class CardRow:
    """A board card before it is drawn: what the board orders and groups by; `html` is set by
    `board_cards.fill`. `overdue_us` is `overdue_since` in microseconds since the epoch (an
    integer is read without the ORM's per-value datetime conversion, which at 300 cards a
    request was a tenth of the board's CPU)."""

    pk: int
    state: str
    overdue_us: int | None
    html: bytes = b""  # UTF-8

    @property
    def overdue_since(self) -> dt.datetime | None:
        if self.overdue_us is None:
            return None
        return EPOCH + dt.timedelta(microseconds=self.overdue_us)


class EpochMicros(Func):
    """A timestamp as whole microseconds since the epoch (exact; NULL stays NULL)."""

    output_field = BigIntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        template = "(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Stored as text, "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC: whole seconds, then the digits.
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"(CAST(strftime('%%s', {sql}) AS INTEGER) * 1000000"
            f" + CAST(substr({sql}, 21, 6) AS INTEGER))",
            (*params, *params),
        )


def _numbered_cards(where: Q, now: dt.datetime, limit: int) -> QuerySet[Repair]:
    """The repairs `where` selects that are among the first `limit` cards of their state, in
    card order (overdue first, then oldest): the database numbers narrow rows (id, state, age,
    overdue_since) per state from the indexes. Candidates: every repair with a late promise,
    and the oldest `limit` of each state (the non-overdue cards shown are among them); only
    those get an `overdue_since` and a number."""
    oldest = (
        Repair.objects.filter(where)
        .annotate(age=Window(RowNumber(), partition_by=[F("state")], order_by=["created_at", "id"]))
        .filter(age__lte=limit)
        .values("pk")
    )
    late = (
        Promise.objects.open()
        .filter(due_at__lt=now, **{f"repair__{k}": v for k, v in where.children})
        .values("repair_id")
    )
    candidates = Repair.objects.filter(where).filter(Q(pk__in=oldest) | Q(pk__in=late))
    return (
        _with_overdue_since(candidates, now)
        .annotate(place=Window(RowNumber(), partition_by=[F("state")], order_by=CARD_ORDER))
        .filter(place__lte=limit)
    )


def _first_card_rows(where: Q, now: dt.datetime, *, limit: int = COLUMN_LIMIT) -> list[CardRow]:
    """`_first_cards` as narrow rows, in card order: one query."""
    rows = _numbered_cards(where, now, limit).order_by(*CARD_ORDER)
    rows = rows.annotate(overdue_us=EpochMicros("overdue_since"))
    return [CardRow(*row) for row in rows.values_list("pk", "state", "overdue_us")]


def read_cards(pks: list[int]) -> list[Repair]:
    """The repairs `pks` as board cards (joins, open promises, `overdue_since`): two queries."""
    return list(_with_overdue_since(_card_queryset().filter(pk__in=pks), timezone.now()))


def _counts_by_state(queryset: QuerySet[Repair]) -> dict[str, int]:
    return dict(
        queryset.order_by().values_list("state").annotate(n=Count("id")).values_list("state", "n")
    )


@dataclass
class TechRepairs:
    """A technician's open repairs: the first cards of each state (overdue first, then oldest)
    and the true number per state."""

    cards: list[Repair]
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def overdue(self) -> list[Repair]:
        return [r for r in self.cards if r.overdue_since is not None][:COLUMN_LIMIT]

    def group(self, states: Any) -> tuple[list[Repair], int]:
        """The first cards of a group of states, and how many the group holds."""
        states = {str(s) for s in states}
        cards = [r for r in self.cards if r.state in states][:COLUMN_LIMIT]
        return cards, sum(n for state, n in self.counts.items() if state in states)


def technician_repairs(*, user: Any) -> TechRepairs:
    """The open repairs this technician owns, overdue promises first, then oldest first: the
    first `COLUMN_LIMIT` of each state and a count per state, in four queries."""
    mine = Q(technician=user, state__in=OPEN_STATES)
    cards = _first_cards(mine, timezone.now())
    return TechRepairs(cards=cards, counts=_counts_by_state(Repair.objects.filter(mine)))


def unassigned_repairs(*, center_id: int) -> tuple[list[Repair], int]:
    """The center's received repairs waiting for a technician: the oldest `COLUMN_LIMIT` and how
    many there are (two queries)."""
    waiting = Repair.objects.filter(center_id=center_id, state=State.RECEIVED)
    first = waiting.select_related("product_model").order_by("created_at", "id")[:COLUMN_LIMIT]
    return list(first), waiting.count()


CALL_LIMIT = 100  # rows per section of the call list; the heading gives the true number


@dataclass
class CallList:
    to_send: list[Notification] = field(default_factory=list)
    sent: list[Notification] = field(default_factory=list)
    overdue: list[Promise] = field(default_factory=list)
    due_soon: list[Promise] = field(default_factory=list)
    waiting_on_customer: list[Repair] = field(default_factory=list)
    overdue_count: int = 0
    due_soon_count: int = 0
    waiting_count: int = 0


WAITING_ON_CUSTOMER = [State.AWAITING_APPROVAL, State.READY_TO_REPAIR, State.READY_FOR_PICKUP]


def call_list(*, center_id: int) -> CallList:
    """The desk's calls: every section bounded (`CALL_LIMIT`, the last call only per repair),
    the true numbers by two aggregates; eight queries whatever the size of the center."""
    now = timezone.now()
    soon = now + dt.timedelta(days=1)
    # Messages to customers only: a staff alert (overdue promise) is not the desk's to phone.
    notifications = Notification.objects.filter(
        repair__center_id=center_id, recipient_user__isnull=True
    ).select_related("repair__customer")
    promises = Promise.objects.open().filter(
        repair__center_id=center_id, repair__state__in=OPEN_STATES
    )
    promise_counts = promises.order_by().aggregate(
        overdue=Count("id", filter=Q(due_at__lt=now)),
        due_soon=Count("id", filter=Q(due_at__gte=now, due_at__lt=soon)),
    )
    promises = promises.select_related("repair__customer", "made_by__staff_profile")
    waiting = Repair.objects.filter(center_id=center_id, state__in=WAITING_ON_CUSTOMER)
    last_call = RepairEvent.objects.filter(kind="call").order_by("-at", "-id")[:1]
    waiting_rows = (
        waiting.select_related("customer", "product_model", "technician__staff_profile")
        .prefetch_related(Prefetch("events", queryset=last_call, to_attr="calls"))
        .order_by("updated_at", "id")
    )
    return CallList(
        to_send=list(
            notifications.filter(
                status__in=[NotificationStatus.PENDING, NotificationStatus.FAILED]
            ).order_by("created_at")[:CALL_LIMIT]
        ),
        sent=list(
            notifications.filter(
                status=NotificationStatus.SENT, sent_at__gte=now - dt.timedelta(days=2)
            ).order_by("-sent_at")[:50]
        ),
        overdue=list(promises.filter(due_at__lt=now).order_by("due_at", "id")[:CALL_LIMIT]),
        due_soon=list(
            promises.filter(due_at__gte=now, due_at__lt=soon).order_by("due_at", "id")[:CALL_LIMIT]
        ),
        waiting_on_customer=list(waiting_rows[:CALL_LIMIT]),
        overdue_count=promise_counts["overdue"],
        due_soon_count=promise_counts["due_soon"],
        waiting_count=waiting.count(),
    )


@dataclass
class ServedRepair:
    """A repair that got parts from an order's deliveries: [(part_number, quantity)]."""

    ticket_number: str
    parts: list[tuple[str, int]]


def parts_orders_served(*, center_id: int, order_ids: list[int]) -> dict[int, list[ServedRepair]]:
    """Which repairs each order's deliveries actually went to (first come, first served may
    give a unit to an older request than the line's own), read back from the `parts_put_aside`
    events receiving wrote with the order's id. One query, oldest delivery first."""
    if not order_ids:
        return {}
    events = (
        RepairEvent.objects.filter(
            repair__center_id=center_id,
            kind=EventKind.PARTS,
            text_code="parts_put_aside",
            data__order__in=order_ids,
        )
        .select_related("repair")
        .order_by("at", "id")
    )
    merged: dict[int, dict[str, dict[str, int]]] = {}
    for event in events:
        tickets = merged.setdefault(event.data["order"], {})
        parts = tickets.setdefault(event.repair.ticket_number, {})
        for part in event.data.get("parts", []):
            parts[part["part_number"]] = parts.get(part["part_number"], 0) + part["quantity"]
    return {
        order_id: [ServedRepair(ticket, list(parts.items())) for ticket, parts in tickets.items()]
        for order_id, tickets in merged.items()
    }


@dataclass
class CustomerMatch:
    customer: Customer
    devices: list[Device]
    repairs: list[Repair]


def customers_by_phone(*, center_id: int, phone: Any) -> list[CustomerMatch]:
    """The desk's customer lookup: `service_center.selectors.customers_by_phone` (the API's read
    too), the first ten by name, as matches the intake page shows."""
    customers = center_selectors.customers_by_phone(center_id=center_id, phone=phone)
    return [
        CustomerMatch(c, list(c.devices.all()), list(c.repairs.all()))
        for c in customers.order_by("name", "id")[:10]
    ]


@dataclass
class Readiness:
    """The repair page's "ready to repair?" panel: the gate's blockers, and the one sentence
    that is true at this stage (`ready` only when the customer can really be served now)."""

    blockers: list[dict[str, str]]
    stage: str  # "before_quote" | "gate" | "ready" | "in_repair" | "done" | "closed"


GATE_STATES = (State.AWAITING_APPROVAL, State.AWAITING_PARTS, State.READY_TO_REPAIR)


def readiness_panel(repair: Repair) -> Readiness:
    if repair.state not in OPEN_STATES:
        return Readiness([], "closed")
    if repair.state in (State.RECEIVED, State.DIAGNOSING):
        return Readiness(gate.readiness_blockers(repair), "before_quote")
    if repair.state == State.IN_REPAIR:
        return Readiness([], "in_repair")
    if repair.state not in GATE_STATES:
        return Readiness([], "done")
    blockers = gate.readiness_blockers(repair)
    ready = not blockers and repair.state == State.READY_TO_REPAIR
    return Readiness(blockers, "ready" if ready else "gate")
