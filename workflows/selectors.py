"""Reads of repairs for the API and the pages. Each selector owns its select_related /
prefetch_related, so an endpoint runs the same number of queries whatever the number of rows."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Exists,
    F,
    Func,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.errors import NotFound, ValidationFailed
from core.prepared import Prepared
from core.roles import user_center_id
from core.validation import clean_text
from parts import selectors as parts_selectors
from parts.models import Reservation
from service_center.models import Customer, Device, ProductModel, normalize_serial
from workflows.choices import PaymentKind, State
from workflows.models import Appointment, IntakePhoto, Payment, Promise, Repair, RepairEvent


class PkIn(Func):
    """`pk IN (subquery)` that PostgreSQL serves from the primary key: written `pk =
    ANY(ARRAY(subquery))` there, the subquery runs once and its ids are looked up in the index.
    (A plain `IN (subquery)`, or two of them OR-ed, is planned as a semi-join or a hashed
    filter over every row of the center, or of the whole table; plain IN elsewhere.)"""

    output_field = BooleanField()

    def __init__(self, subquery: QuerySet) -> None:
        super().__init__(F("pk"), Subquery(subquery))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple]:
        pk, pk_params = compiler.compile(self.source_expressions[0])
        ids, ids_params = compiler.compile(self.source_expressions[1])
        template = "%s = ANY(ARRAY%s)" if connection.vendor == "postgresql" else "%s IN %s"
        return template % (pk, ids), (*pk_params, *ids_params)


def visible_repairs(user: Any) -> QuerySet[Repair]:
    """The repairs a staff member may see: those of their own center (a superuser sees all)."""
    center_id = user_center_id(user)
    if center_id is None:
        return (
            Repair.objects.all() if getattr(user, "is_superuser", False) else Repair.objects.none()
        )
    return Repair.objects.filter(center_id=center_id)


def _with_reservations(queryset: QuerySet[Repair]) -> QuerySet[Repair]:
    return queryset.prefetch_related(
        Prefetch("reservations", queryset=Reservation.objects.select_related("part"))
    )


def repair_detail_get(*, user: Any, ticket_number: str) -> Repair:
    """One repair with everything its detail shows. Another center's repair is NotFound."""
    return repair_detail_fill(repair_detail_row(user=user, ticket_number=ticket_number))


@dataclass(frozen=True)
class VisibleRepair:
    """What the detail cache keys by, for a repair the user may see."""

    pk: int
    version: int
    customer_id: int


def _visible_at_center(center_id: int, ticket_number: str) -> QuerySet[Repair]:
    return (
        Repair.objects.filter(center_id=center_id, ticket_number=ticket_number)
        .order_by("pk")
        .values_list("pk", "version", "customer_id")[:1]
    )


def _visible_anywhere(ticket_number: str) -> QuerySet[Repair]:
    return (
        Repair.objects.filter(ticket_number=ticket_number)
        .order_by("pk")
        .values_list("pk", "version", "customer_id")[:1]
    )


# `visible_repairs` narrowed to one ticket, compiled once per connection (core/prepared.py).
_visible_at_center_sql = Prepared(_visible_at_center, int, str)
_visible_anywhere_sql = Prepared(_visible_anywhere, str)


def repair_visible(*, user: Any, ticket_number: str) -> VisibleRepair:
    """The permission check a cached detail body is served after, in one narrow query compiled
    once (it runs on every request): `visible_repairs` for one ticket. Another center's repair
    is NotFound."""
    center_id = user_center_id(user)
    if center_id is not None:
        rows = _visible_at_center_sql(center_id, ticket_number)
    elif getattr(user, "is_superuser", False):
        rows = _visible_anywhere_sql(ticket_number)
    else:
        rows = []
    if not rows:
        raise NotFound("No such repair.")
    return VisibleRepair(*rows[0])


def repair_detail_row(*, user: Any, ticket_number: str) -> Repair:
    """The repair row with what it joins (one query), if the user may see it: the permission
    check a cached detail body is served after. Another center's repair is NotFound."""
    repair = (
        visible_repairs(user)
        .select_related(
            "center",
            "customer",
            "device__product_model",
            "product_model",
            "technician__staff_profile",
        )
        .filter(ticket_number=ticket_number)
        .first()
    )
    if repair is None:
        raise NotFound("No such repair.")
    return repair


def repair_detail_fill(repair: Repair) -> Repair:
    """The lists the detail shows, on a row from `repair_detail_row`."""
    prefetch_related_objects(
        [repair],
        Prefetch("reservations", queryset=Reservation.objects.select_related("part")),
        Prefetch(
            "promises", queryset=Promise.objects.select_related("made_by").order_by("due_at", "id")
        ),
        Prefetch("events", queryset=RepairEvent.objects.order_by("at", "id")),
    )
    others = (
        Repair.objects.exclude(pk=repair.pk)
        .select_related("product_model")
        .only(
            "id",
            "ticket_number",
            "state",
            "created_at",
            "symptom",
            "customer_id",
            "product_model__code",
            "product_model__name",
        )
        .order_by("-created_at", "-id")
    )
    # For one repair, plain queries on its ids: a sliced prefetch is a window function over
    # every repair of the customer, and the prefetch machinery cost more CPU than these rows.
    # The 20 most recent: enough to see a pattern, bounded for a customer with hundreds.
    repair.customer.other_repairs = list(others.filter(customer_id=repair.customer_id)[:20])
    # Only the latest visit is shown (current_appointment reads the first).
    repair.appointment_list = list(
        Appointment.objects.filter(repair_id=repair.pk).order_by("-created_at", "-id")[:1]
    )
    return repair


def _latest_appointments() -> Prefetch:
    """Newest first: `Repair.current_appointment` reads the first."""
    return Prefetch(
        "appointments",
        queryset=Appointment.objects.order_by("-created_at", "-id"),
        to_attr="appointment_list",
    )


def current_appointment(repair: Repair) -> Appointment | None:
    """The repair's latest visit (booked, or how the last one ended), from the prefetch."""
    found = getattr(repair, "appointment_list", None)
    if found is None:
        found = list(repair.appointments.order_by("-created_at", "-id")[:1])
    return found[0] if found else None


def repair_get_for_action(*, user: Any, ticket_number: str) -> Repair:
    """The repair row (with reservations, for role and gate checks) or NotFound."""
    repair = (
        _with_reservations(visible_repairs(user).select_related("center"))
        .filter(ticket_number=ticket_number)
        .first()
    )
    if repair is None:
        raise NotFound("No such repair.")
    return repair


def _overdue_promises() -> QuerySet[Promise]:
    return Promise.objects.open().filter(repair=OuterRef("pk"), due_at__lt=timezone.now())


SEARCH_MAX_LENGTH = 100


def _search_branches(query: str, center_id: int | None) -> list[QuerySet]:
    """The ids of the repairs a search matches, one query per kind of match, each served by an
    index on PostgreSQL (trigram GIN indexes, migration workflows/0012; an id list of a small
    reference table for the model): what the query is compared with, and how:

    - the ticket number, contained ("7Q2K", "2612-7q2k" or the whole ticket; any case);
    - the customer's name, contained, any case ("서준" finds 박서준);
    - a phone number (digits and punctuation only, at least 4 digits): its last digits, or,
      typed with the trunk 0 (at least 7 digits), contained after +82 (phones are stored as
      +82...);
    - the serial, normalised ("hbs-1100 k7q2" finds HBS1100K7Q2), contained, at least 4
      characters, in the registry's device or as the customer gave it;
    - the product model's code or name, contained, any case.

    Every branch is scoped to the center first, so the work grows with the matches, not with
    the table."""
    here = {} if center_id is None else {"center_id": center_id}
    repairs = Repair.objects.filter(**here).order_by()
    customers = Customer.objects.filter(**here).order_by()
    matches = Q(name__icontains=query)
    digits = re.sub(r"\D", "", query)
    if len(digits) >= 4 and re.fullmatch(r"[\d\s\-+().]+", query):
        if len(digits) >= 7 and digits.startswith("0"):
            matches |= Q(phone__contains="+82" + digits[1:])
        else:
            matches |= Q(phone__endswith=digits)
    models = ProductModel.objects.filter(Q(code__icontains=query) | Q(name__icontains=query))
    branches = [
        repairs.filter(ticket_number__contains=query.upper()),
        repairs.filter(customer_id__in=customers.filter(matches).values("pk")),
        # Product models are reference data (a few hundred rows): their ids, then the index.
        repairs.filter(product_model_id__in=models.order_by().values("pk")),
    ]
    serial = normalize_serial(query)
    if len(serial) >= 4:
        devices = Device.objects.filter(serial_number__contains=serial).order_by()
        branches.append(repairs.filter(device_id__in=devices.values("pk")))
        branches.append(repairs.filter(reported_serial__contains=serial))
    return [branch.values("pk") for branch in branches]


def search_repairs(
    queryset: QuerySet[Repair], query: str | None, *, center_id: int | None = None
) -> QuerySet[Repair]:
    """`queryset` narrowed to what `query` matches (all of it for no query), any state: the
    API's `?q=` and the desk's search box. `center_id` scopes the matching itself (the caller's
    queryset is scoped too; this keeps a search in one center from reading the others').
    Raises ValidationFailed (field `q`) for control characters or more than SEARCH_MAX_LENGTH
    characters."""
    query = clean_text(query, field="q", max_length=SEARCH_MAX_LENGTH)
    query = query.strip() if query else ""
    if not query:
        return queryset
    first, *rest = _search_branches(query, center_id)
    return queryset.filter(PkIn(first.union(*rest)))


class OverdueFirst:
    """Repairs in the lists' order (overdue first, then newest) that a paginator slices in SQL:
    `count()` is one aggregate, and a slice reads only its rows plus the candidates they come
    from: every repair with a late promise and the newest `stop` (the non-overdue rows of any
    page up to `stop` are among those), never the whole center. Two queries per slice (the rows,
    their reservations)."""

    ordered = True  # for Paginator: the order is fixed

    def __init__(self, base: QuerySet[Repair]) -> None:
        self.base = base.order_by()

    def count(self) -> int:
        return self.base.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, int):
            return list(self[index : index + 1])[0]
        start, stop = index.start or 0, index.stop
        if stop is None:
            raise ValueError("OverdueFirst is sliced with an end")
        late = Promise.objects.open().filter(due_at__lt=timezone.now(), repair__in=self.base)
        newest = self.base.order_by("-created_at", "-id").values("pk")[:stop]
        candidates = Repair.objects.filter(PkIn(late.values("repair_id")) | PkIn(newest))
        next_due = Promise.objects.open().filter(repair=OuterRef("pk"))
        rows = candidates.annotate(
            has_overdue=Exists(_overdue_promises()),
            next_promise_due=next_due.order_by()
            .values("repair")
            .annotate(m=Min("due_at"))
            .values("m"),
        )
        rows = rows.select_related(
            "center", "customer", "product_model", "technician__staff_profile"
        )
        return _with_reservations(rows).order_by("-has_overdue", "-created_at", "-id")[start:stop]


def repair_list(
    *,
    user: Any,
    state: str | None = None,
    technician: str | None = None,
    overdue: bool = False,
    query: str | None = None,
) -> OverdueFirst:
    """The board as a list: filter by state(s), technician (username or `me`), overdue promises,
    a search (`search_repairs`). Overdue first, then newest; meant to be paginated (a count,
    then a slice read in SQL: `OverdueFirst`). Constant queries: the count, the rows, the
    reservations."""
    queryset = search_repairs(visible_repairs(user), query, center_id=user_center_id(user))
    if state:
        states = [s.strip() for s in state.split(",") if s.strip()]
        unknown = [s for s in states if s not in State.values]
        if unknown:
            raise ValidationFailed({"state": [f"Unknown state: {', '.join(unknown)[:100]}."]})
        queryset = queryset.filter(state__in=states)
    if technician:
        if technician == "me":
            queryset = queryset.filter(technician=user)
        elif technician == "none":
            queryset = queryset.filter(technician__isnull=True)
        else:
            queryset = queryset.filter(technician__username=technician)
    if overdue:
        queryset = queryset.filter(Exists(_overdue_promises()))
    return OverdueFirst(queryset)


def _public_queryset() -> QuerySet[Repair]:
    return _with_reservations(
        Repair.objects.select_related(
            "center", "customer", "product_model", "technician__staff_profile"
        )
    ).prefetch_related(
        Prefetch(
            "events",
            queryset=RepairEvent.objects.filter(customer_visible=True).order_by("at", "id"),
            to_attr="public_events",
        ),
        Prefetch(
            "parts_order_lines",
            queryset=parts_selectors.standing_order_lines(),
            to_attr="standing_order_lines",
        ),
        _latest_appointments(),
    )


def repair_for_public(*, repair_id: int) -> Repair:
    """Everything the public status answer shows, once the caller proved who they are
    (`refunded_total`: the ledger's refunds, positive, in the same query)."""
    refunds = (
        Payment.objects.filter(repair=OuterRef("pk"), kind=PaymentKind.REFUND)
        .values("repair")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return (
        _public_queryset()
        .annotate(refunded_total=-Coalesce(Subquery(refunds), 0))
        .get(pk=repair_id)
    )


def repair_public_key(*, ticket_number: str = "", token: str = "") -> Repair | None:
    """Just enough of a repair to check the phone digits (one query, no prefetches)."""
    condition = Q(status_token=token) if token else Q(ticket_number=ticket_number)
    return (
        Repair.objects.select_related("customer")
        .filter(condition)
        .only("id", "ticket_number", "status_token", "state", "customer__phone")
        .first()
    )


def repair_warranty_source(*, center: Any, serial: str) -> Repair | None:
    """The center's latest repair of this (normalised) serial that was done and closed within
    its `repair_warranty_days`, counted in whole local days (closed N days ago still counts,
    N + 1 does not); None when there is none. Only closed repairs with the work completed count:
    a cancelled one, or one given back unrepaired, gave no work to warrant. One query."""
    if not serial or center.repair_warranty_days <= 0:
        return None
    today = timezone.localdate()
    since = today - dt.timedelta(days=center.repair_warranty_days)
    start = timezone.make_aware(dt.datetime.combine(since, dt.time.min))
    return (
        Repair.objects.filter(
            Q(device__serial_number=serial) | Q(reported_serial=serial),
            center_id=center.pk,
            state=State.CLOSED,
            completed_at__isnull=False,
            closed_at__gte=start,
        )
        .order_by("-closed_at", "-id")
        .first()
    )


def repair_warranty_params(earlier: Repair) -> dict[str, str]:
    """The facts the `repair_warranty` coverage reason names: the earlier ticket and its day."""
    return {
        "ticket": earlier.ticket_number,
        "closed_on": f"{timezone.localdate(earlier.closed_at):%Y-%m-%d}",
    }


def repair_photos(*, repair: Repair) -> QuerySet[IntakePhoto]:
    """A repair's intake photos, oldest first (one query)."""
    return IntakePhoto.objects.filter(repair=repair).order_by("created_at", "id")


def photo_for_staff(*, user: Any, photo_id: int) -> IntakePhoto | None:
    """An intake photo of a repair the staff member may see, or None (one query)."""
    return IntakePhoto.objects.filter(pk=photo_id, repair__in=visible_repairs(user)).first()
