"""Every write to a repair. Each transition is one service here, and each service:

runs in `transaction.atomic()`, locks the repair row (`select_for_update`), checks the actor's
role, stages its input on the row, asks the gate for blockers, calls the FSM transition, saves,
writes one RepairEvent, writes any Notification row, and schedules delivery with `on_commit`.
The API, the pages, the admin and the management commands all come through here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from parts import services as parts_services
from parts.models import Part, Reservation, ReservationStatus
from service_center.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    TransitionBlocked,
    ValidationFailed,
)
from service_center.models import (
    Customer,
    Device,
    ProductModel,
    ServiceCenter,
    WarrantyStatus,
    normalize_serial,
    serial_error,
    staff_name,
)
from service_center.validation import (
    clean_amount,
    clean_bool,
    clean_choice,
    clean_datetime,
    clean_phone,
    clean_text,
)
from workflows import gate, notify
from workflows.choices import (
    COURIER_REQUEST_STATES,
    OPEN_STATES,
    ActorKind,
    Coverage,
    EventKind,
    IntakeChannel,
    NotificationKind,
    PromiseKind,
    ReturnMethod,
    State,
)
from workflows.models import Notification, Promise, Repair, RepairEvent, new_ticket_number
from workflows.roles import SYSTEM_ACTOR, Actor, actor_may, as_actor

WORK_STARTED_STATES = (State.IN_REPAIR, State.REPAIRED, State.READY_FOR_PICKUP, State.SHIPPED)

# --- plumbing --------------------------------------------------------------------------------


def _db_guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn lost races (optimistic-lock misses, deadlocks, lock time-outs) into Conflict."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DomainError:
            raise
        except ConcurrentTransition:
            raise Conflict("The repair was changed by someone else; reload and try again.") from None
        except IntegrityError as exc:
            raise Conflict(f"The change collided with another one: {exc.__class__.__name__}.") from None
        except DatabaseError as exc:
            # Deadlock, serialization failure, "database is locked": nothing was written.
            raise Conflict(f"The database was busy ({exc.__class__.__name__}); try again.") from None

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    wrapper.__wrapped__ = func  # type: ignore[attr-defined]
    return wrapper


def _repair_id(repair: Repair | int) -> int:
    return repair if isinstance(repair, int) else repair.pk


def lock_repair(repair_id: int) -> Repair:
    """The repair row under lock, with what the gate needs already loaded."""
    try:
        repair = (
            Repair.objects.select_for_update(of=("self",))
            .select_related("center", "customer", "technician", "device__product_model",
                            "product_model")  # fmt: skip
            .get(pk=repair_id)
        )
    except Repair.DoesNotExist:
        raise NotFound("No such repair.") from None
    prefetch_related_objects(
        [repair], Prefetch("reservations", queryset=Reservation.objects.select_related("part"))
    )
    return repair


def _refresh_reservations(repair: Repair) -> None:
    repair._prefetched_objects_cache.pop("reservations", None)
    prefetch_related_objects(
        [repair], Prefetch("reservations", queryset=Reservation.objects.select_related("part"))
    )


def _event(
    repair: Repair,
    actor: Actor,
    kind: str,
    *,
    text: str = "",
    data: dict | None = None,
    customer_visible: bool = False,
    transition: str = "",
    from_state: str = "",
    to_state: str = "",
) -> RepairEvent:
    user = actor.user if actor.kind == ActorKind.STAFF else None
    return RepairEvent.objects.create(
        repair=repair,
        actor_kind=actor.kind if actor.kind in ActorKind.values else ActorKind.SYSTEM,
        actor=user,
        actor_name=actor.label[:120],
        kind=kind,
        transition=transition,
        from_state=from_state,
        to_state=to_state,
        customer_visible=customer_visible,
        text=text,
        data=data or {},
    )


def status_link(repair: Repair) -> str:
    return f"{settings.SITE_URL}/status/t/{repair.status_token}/"


def _notification(repair: Repair, kind: str, body: str) -> Notification:
    """One outbox row per (repair, kind, state change): `version` makes the key unique."""
    recipient = str(repair.customer.phone)
    notification = Notification.objects.create(
        repair=repair,
        kind=kind,
        recipient=recipient,
        body=body[:2000],
        idempotency_key=f"{repair.pk}:{kind}:{repair.version}",
    )
    _event(
        repair,
        SYSTEM_ACTOR,
        EventKind.NOTIFICATION,
        text=body[:4000],
        data={"notification": kind, "channel": notification.channel},
        customer_visible=True,
    )
    notify.deliver_on_commit([notification.pk])
    return notification


@dataclass
class Step:
    """What a transition service adds to the common path."""

    stage: Callable[[Repair], None] | None = None  # put the input on the row (before the gate)
    before: Callable[[Repair], None] | None = None  # other rows, after the gate passed
    after: Callable[[Repair, RepairEvent], None] | None = None  # other rows, after the save
    text: Callable[[Repair], str] | str = ""
    data: Callable[[Repair], dict] | dict = field(default_factory=dict)
    customer_visible: bool = True
    kind: str = EventKind.TRANSITION
    notify: Callable[[Repair], tuple[str, str] | None] | None = None  # (kind, body)


def _value(spec: Any, repair: Repair) -> Any:
    return spec(repair) if callable(spec) else spec


@_db_guard
def run_transition(repair: Repair | int, name: str, actor: Any, step: Step | None = None) -> Repair:
    """The one path every repair transition takes. Locks the repair; raises PermissionDenied,
    TransitionBlocked (with blockers), ValidationFailed or Conflict; schedules delivery on commit."""
    step = step or Step()
    actor = as_actor(actor)
    with transaction.atomic():
        repair = lock_repair(_repair_id(repair))
        if not actor_may(actor, repair, name):
            raise PermissionDenied(f"You may not {name.replace('_', ' ')} this repair.")
        if step.stage:
            step.stage(repair)
        blockers = gate.transition_blockers(repair, name)
        if blockers:
            raise TransitionBlocked(blockers, name)
        if step.before:
            step.before(repair)
        from_state = repair.state
        try:
            getattr(repair, name)()
        except TransitionNotAllowed:
            raise TransitionBlocked(gate.transition_blockers(repair, name) or [
                gate.state_blocker(repair, name)], name) from None  # fmt: skip
        repair.version += 1
        repair.save()
        with translation.override(repair.language):
            event = _event(
                repair,
                actor,
                step.kind,
                text=str(_value(step.text, repair)),
                data=_value(step.data, repair),
                customer_visible=step.customer_visible,
                transition=name,
                from_state=from_state,
                to_state=repair.state,
            )
            if step.after:
                step.after(repair, event)
            message = step.notify(repair) if step.notify else None
            if message:
                _notification(repair, *message)
    return repair


def _won(amount: int | None) -> str:
    return _("to be confirmed") if amount is None else _("%(amount)s won") % {"amount": f"{amount:,}"}


def _center_line(repair: Repair) -> str:
    return f"[{repair.center.name}] {repair.ticket_number}"


# --- intake ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SerialLookup:
    serial_number: str
    device: Device | None
    status: str  # WarrantyStatus
    until: dt.date | None


def serial_lookup(raw: Any) -> SerialLookup:
    """Normalise and look up a serial. Raises ValidationFailed for a malformed one."""
    if not isinstance(raw, str):
        raise ValidationFailed({"serial_number": ["Must be text."]})
    if "\x00" in raw or len(raw) > 200:
        raise ValidationFailed({"serial_number": ["A serial number has at most 40 characters."]})
    serial = normalize_serial(raw)
    problem = serial_error(serial)
    if problem:
        raise ValidationFailed({"serial_number": [problem]})
    device = Device.objects.select_related("product_model").filter(serial_number=serial).first()
    if device is None:
        return SerialLookup(serial, None, WarrantyStatus.UNKNOWN, None)
    return SerialLookup(serial, device, device.warranty_status(), device.warranty_until)


def coverage_from_serial(lookup: SerialLookup | None) -> tuple[str, str]:
    if lookup is None or lookup.device is None:
        return Coverage.UNDETERMINED, "Serial unknown — coverage to be confirmed."
    until = f"{lookup.until:%Y-%m-%d}"
    if lookup.status == WarrantyStatus.IN_WARRANTY:
        return Coverage.WARRANTY, f"Serial {lookup.serial_number}: in warranty until {until}."
    if lookup.status == WarrantyStatus.EXPIRED:
        return Coverage.PAID, f"Serial {lookup.serial_number}: warranty ended {until}."
    return Coverage.PAID, f"Serial {lookup.serial_number}: parallel import, no warranty."


def customer_find_or_create(*, center: ServiceCenter, data: Any) -> Customer:
    if not isinstance(data, dict):
        raise ValidationFailed({"customer": ["Give the customer's name and phone."]})
    name = clean_text(data.get("name"), field="customer.name", max_length=120, required=True)
    phone = clean_phone(data.get("phone"), field="customer.phone")
    email = clean_text(data.get("email"), field="customer.email", max_length=254)
    if email and ("@" not in email or " " in email):
        raise ValidationFailed({"customer.email": ["Enter a valid email address."]})
    address = clean_text(data.get("address"), field="customer.address", max_length=300)
    customer = Customer.objects.filter(center=center, phone=phone, name=name).first()
    if customer is None:
        return Customer.objects.create(
            center=center, name=name, phone=phone, email=email, address=address
        )
    changed = {k: v for k, v in (("email", email), ("address", address)) if v}
    if changed:
        Customer.objects.filter(pk=customer.pk).update(**changed)
        for k, v in changed.items():
            setattr(customer, k, v)
    return customer


@_db_guard
def repair_intake(
    *,
    center: ServiceCenter,
    actor: Any,
    customer: Any,
    symptom: Any,
    intake_channel: Any = IntakeChannel.WALK_IN,
    device_in_shop: Any = True,
    return_method: Any = ReturnMethod.PICKUP,
    serial_number: Any = None,
    product_model: Any = None,
    accessories: Any = "",
    courier_address: Any = "",
    language: Any = None,
) -> Repair:
    """Take a device (or a phoned-in problem) in. Coverage follows the serial: warranty if in
    warranty, paid if expired or parallel import, undetermined if the serial is unknown."""
    actor = as_actor(actor)
    if actor.kind != ActorKind.STAFF or not actor_may(actor, _CenterScope(center.pk), "intake"):
        raise PermissionDenied("Only the front desk takes repairs in.")
    symptom = clean_text(symptom, field="symptom", max_length=2000, required=True, multiline=True)
    accessories = clean_text(accessories, field="accessories", max_length=300)
    channel = clean_choice(intake_channel, field="intake_channel", choices=IntakeChannel)
    in_shop = clean_bool(device_in_shop, field="device_in_shop")
    method = clean_choice(return_method, field="return_method", choices=ReturnMethod)
    address = clean_text(courier_address, field="courier_address", max_length=300)
    lookup = serial_lookup(serial_number) if serial_number not in (None, "") else None
    model = _intake_model(lookup, product_model)
    lang = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    coverage, reason = coverage_from_serial(lookup)
    with transaction.atomic():
        person = customer_find_or_create(center=center, data=customer)
        repair = Repair.objects.create(
            ticket_number=_unique_ticket(center.code),
            center=center,
            customer=person,
            device=lookup.device if lookup else None,
            reported_serial=lookup.serial_number if lookup else "",
            product_model=model,
            symptom=symptom,
            accessories=accessories,
            intake_channel=channel,
            device_in_shop=in_shop,
            return_method=method,
            courier_address=address or (person.address if method == ReturnMethod.COURIER else ""),
            courier_recipient=person.name if method == ReturnMethod.COURIER else "",
            coverage=coverage,
            coverage_reason=reason,
            language=lang,
            created_by=actor.user,
        )
        if lookup and lookup.device and lookup.device.owner_id is None:
            Device.objects.filter(pk=lookup.device.pk, owner__isnull=True).update(owner=person)
        _event(
            repair,
            actor,
            EventKind.TRANSITION,
            transition="intake",
            to_state=State.RECEIVED,
            customer_visible=True,
            text=symptom,
            data={"coverage": coverage, "coverage_reason": reason, "channel": channel},
        )
        if channel != IntakeChannel.WALK_IN:
            # Nobody handed them a paper ticket: send the number and the status link.
            with translation.override(repair.language):
                body = _("%(head)s received. Follow your repair: %(link)s") % {
                    "head": _center_line(repair),
                    "link": status_link(repair),
                }
            _notification(repair, NotificationKind.RECEIVED, body)
    return repair


@dataclass(frozen=True)
class _CenterScope:
    """Lets `actor_may` check center membership before a repair exists."""

    center_id: int
    technician_id: int | None = None
    coverage_locked: bool = False


def _intake_model(lookup: SerialLookup | None, product_model: Any) -> ProductModel | None:
    if lookup and lookup.device:
        return lookup.device.product_model
    if product_model in (None, ""):
        raise ValidationFailed(
            {"product_model": ["The serial is unknown: say which product model it is."]}
        )
    code = clean_text(product_model, field="product_model", max_length=40, required=True)
    model = ProductModel.objects.filter(code=code).first()
    if model is None:
        raise ValidationFailed({"product_model": [f"No product model {code}."]})
    return model


def _unique_ticket(center_code: str) -> str:
    for _attempt in range(10):
        number = new_ticket_number(center_code)
        if not Repair.objects.filter(ticket_number=number).exists():
            return number
    raise Conflict("Could not allocate a ticket number; try again.")


# --- the transitions ---------------------------------------------------------------------------


def repair_assign(*, repair: Repair | int, actor: Any, technician: Any) -> Repair:
    """received -> diagnosing. The technician must be active, a technician, at this center."""
    from django.contrib.auth import get_user_model

    tech = technician
    if not hasattr(tech, "pk"):
        tech = get_user_model().objects.filter(pk=technician).first() if str(technician).isdigit() \
            else get_user_model().objects.filter(username=technician).first()  # fmt: skip

    def stage(r: Repair) -> None:
        from workflows.roles import TECH, same_center, user_roles

        if tech is None or not tech.is_active or TECH not in user_roles(tech) or not same_center(
            tech, r.center_id
        ):
            raise ValidationFailed({"technician": ["Choose an active technician of this center."]})
        r.technician = tech

    return run_transition(
        repair,
        "assign",
        actor,
        Step(
            stage=stage,
            text=lambda r: _("Technician %(name)s owns this repair.") % {"name": staff_name(tech)},
            data=lambda r: {"technician": tech.get_username(), "technician_name": staff_name(tech)},
        ),
    )


def _clean_parts(repair: Repair, parts: Any) -> list[tuple[Part, int]]:
    if parts in (None, ""):
        return []
    if not isinstance(parts, list) or len(parts) > 30:
        raise ValidationFailed({"parts": ["A list of at most 30 {part_number, quantity}."]})
    wanted: dict[str, int] = {}
    for item in parts:
        if not isinstance(item, dict):
            raise ValidationFailed({"parts": ["Each part is {part_number, quantity}."]})
        number = clean_text(item.get("part_number"), field="parts", max_length=40, required=True)
        quantity = item.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 99:
            raise ValidationFailed({"parts": ["Quantity is a whole number from 1 to 99."]})
        wanted[number] = wanted.get(number, 0) + quantity
    found = {
        p.part_number: p
        for p in Part.objects.filter(part_number__in=wanted).prefetch_related("compatible_models")
    }
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise ValidationFailed({"parts": [f"Unknown part: {', '.join(missing)}."]})
    if repair.product_model_id:
        wrong = [
            n
            for n, p in found.items()
            if repair.product_model_id not in {m.pk for m in p.compatible_models.all()}
        ]
        if wrong:
            raise ValidationFailed({"parts": [f"Not for this model: {', '.join(sorted(wrong))}."]})
    return [(found[n], q) for n, q in sorted(wanted.items())]


def repair_diagnose(
    *, repair: Repair | int, actor: Any, findings: Any, parts: Any = None, labor_fee: Any = 0
) -> Repair:
    """diagnosing -> awaiting_approval (or, under warranty, awaiting_parts / ready_to_repair).

    Reserves parts on hand (locks stock rows); what is not on hand becomes `waiting`
    reservations and one parts-order request to the warehouse. A center that requires deposits
    asks for the ordered parts' price before a paid repair goes ahead."""
    findings = clean_text(findings, field="findings", max_length=4000, required=True, multiline=True)
    labor = clean_amount(labor_fee, field="labor_fee")
    cleaned: list[tuple[Part, int]] = []

    def stage(r: Repair) -> None:
        cleaned.extend(_clean_parts(r, parts))
        r.findings, r.labor_fee = findings, labor

    def before(r: Repair) -> None:
        made = [parts_services.reservation_create(repair=r, part=p, quantity=q) for p, q in cleaned]
        waiting = [x for x in made if x.status == ReservationStatus.WAITING]
        if waiting:
            parts_services.parts_order_request(
                center_id=r.center_id,
                lines=[(x.part, x.quantity, r) for x in waiting],
                actor_user=getattr(as_actor(actor), "user", None),
            )
            if r.center.requires_deposit_for_ordered_parts and r.coverage != Coverage.WARRANTY:
                r.deposit_required = sum(x.line_total for x in waiting)
        _refresh_reservations(r)

    def data(r: Repair) -> dict:
        return {
            "findings": findings,
            "labor_fee": labor,
            "parts": [
                {"part_number": x.part.part_number, "quantity": x.quantity, "status": x.status}
                for x in r.active_reservations
            ],
            "quote_total": r.quote_total,
            "deposit_required": r.deposit_required,
        }

    def message(r: Repair) -> tuple[str, str] | None:
        if r.state != State.AWAITING_APPROVAL:
            return None
        body = _("%(head)s: diagnosis done. Quote %(total)s. Approve or decline: %(link)s") % {
            "head": _center_line(r),
            "total": _won(r.quote_total),
            "link": status_link(r),
        }
        return NotificationKind.QUOTE, body

    return run_transition(
        repair,
        "diagnose",
        actor,
        Step(stage=stage, before=before, text=findings, data=data, notify=message),
    )


def repair_set_coverage(
    *, repair: Repair | int, actor: Any, coverage: Any, reason: Any
) -> Repair:
    """Settle or change coverage, with a reason, on the timeline and told to the customer.
    After the customer approved a price only a manager may change it; a change to a paid
    repair needs a fresh approval (the repair goes back to awaiting_approval)."""
    value = clean_choice(coverage, field="coverage", choices=Coverage)
    why = clean_text(reason, field="reason", max_length=300, required=True)
    previous: dict[str, str] = {}

    def stage(r: Repair) -> None:
        if r.coverage == value:
            raise ValidationFailed({"coverage": [f"Coverage is already {value}."]})
        if value != Coverage.WARRANTY and r.state in WORK_STARTED_STATES:
            # Charging for work the customer never agreed to pay for is exactly what we prevent.
            raise TransitionBlocked([{"code": "quote_not_approved", "message": str(_(
                "The work has started: coverage can now only change to warranty."))}],
                "set_coverage")  # fmt: skip
        previous["coverage"] = r.coverage
        r.coverage, r.coverage_reason = value, why
        if value != Coverage.WARRANTY and r.quote_approved_at is not None:
            r.quote_approved_at = None  # the customer agreed to other terms
        r.invited_at = None  # any invitation made on the old terms no longer holds

    def message(r: Repair) -> tuple[str, str]:
        body = _("%(head)s: coverage is now “%(coverage)s” (%(reason)s).") % {
            "head": _center_line(r),
            "coverage": Coverage(value).label,
            "reason": why,
        }
        if r.state == State.AWAITING_APPROVAL and value != Coverage.WARRANTY:
            body += " " + _("Quote %(total)s. Approve or decline: %(link)s") % {
                "total": _won(r.quote_total),
                "link": status_link(r),
            }
        return NotificationKind.COVERAGE_CHANGED, body

    return run_transition(
        repair,
        "set_coverage",
        actor,
        Step(
            stage=stage,
            kind=EventKind.COVERAGE_CHANGE,
            text=why,
            data=lambda r: {"from": previous.get("coverage"), "to": value, "reason": why},
            notify=message,
        ),
    )


def repair_record_deposit(*, repair: Repair | int, actor: Any, amount: Any) -> Repair:
    """A deposit taken at the desk; at least what is still due."""
    paid = clean_amount(amount, field="amount", minimum=1)

    def stage(r: Repair) -> None:
        due = max(r.deposit_required - r.deposit_paid, 0)
        if paid < due:
            raise ValidationFailed({"amount": [f"The deposit due is {due:,} won."]})
        r.deposit_paid += paid
        r.amount_paid += paid

    return run_transition(
        repair,
        "record_deposit",
        actor,
        Step(
            stage=stage,
            text=lambda r: _("Deposit of %(amount)s received.") % {"amount": _won(paid)},
            data={"amount": paid, "payment": "deposit"},
        ),
    )


def repair_approve(*, repair: Repair | int, actor: Any) -> Repair:
    """The customer (online or at the desk) agrees to the quote."""
    who = as_actor(actor)

    def stage(r: Repair) -> None:
        r.quote_approved_by = "customer" if who.kind != ActorKind.STAFF else who.user.get_username()

    return run_transition(
        repair,
        "approve",
        who,
        Step(
            stage=stage,
            text=lambda r: _("Quote of %(total)s approved.") % {"total": _won(r.amount_due)},
            data=lambda r: {"total": r.amount_due, "approved_by": r.quote_approved_by},
        ),
    )


def _release_after(r: Repair, event: RepairEvent) -> None:
    parts_services.reservations_release(repair=r)


def repair_decline(*, repair: Repair | int, actor: Any, reason: Any = "") -> Repair:
    """The customer does not want the repair. Reservations are released."""
    why = clean_text(reason, field="reason", max_length=500)

    def stage(r: Repair) -> None:
        r.outcome_reason = why

    return run_transition(
        repair, "decline", actor, Step(stage=stage, after=_release_after, text=why,
                                       data={"reason": why})  # fmt: skip
    )


def repair_parts_reserved(*, repair_id: int, reservations: list[Reservation]) -> None:
    """Called by receiving (inside its transaction, repair already locked): parts were put aside
    for this repair. Tells the timeline; moves awaiting_parts on to ready_to_repair."""
    repair = lock_repair(repair_id)
    parts = ", ".join(f"{x.part.part_number} x{x.quantity}" for x in reservations)
    _event(
        repair,
        SYSTEM_ACTOR,
        EventKind.PARTS,
        text=_("Parts arrived and were put aside: %(parts)s.") % {"parts": parts},
        data={"reserved": [x.pk for x in reservations]},
        customer_visible=True,
    )
    _fulfil_promises(repair, PromiseKind.PART_ETA, SYSTEM_ACTOR, only_if_no_parts_waiting=True)
    if repair.state == State.AWAITING_PARTS and not gate.check(repair, ["parts_not_on_hand"]):
        run_transition(repair, "parts_arrived", SYSTEM_ACTOR, Step(text=_("All parts are here.")))


def repair_part_eta_known(*, repair_id: int, eta: dt.date) -> None:
    """The warehouse shipped a part this repair waits for: a promise with its ETA."""
    repair = lock_repair(repair_id)
    if repair.state not in OPEN_STATES:
        return
    due = timezone.make_aware(dt.datetime.combine(eta, dt.time(18, 0)))
    Promise.objects.create(repair=repair, kind=PromiseKind.PART_ETA, due_at=due, note="warehouse")
    _event(
        repair,
        SYSTEM_ACTOR,
        EventKind.PARTS,
        text=_("The part has left the central warehouse; expected %(eta)s.") % {"eta": f"{eta}"},
        data={"eta": eta.isoformat()},
        customer_visible=True,
    )


def repair_invite_for_repair(
    *, repair: Repair | int, actor: Any, ready_by: Any = None
) -> Repair:
    """Call the customer in. Only when the readiness gate holds: coverage settled, price
    approved, every part reserved on the shelf here, a technician on it. Records the promised
    price and a `ready_by` promise, and writes the one invitation message."""
    when = clean_datetime(ready_by, field="ready_by")

    def before(r: Repair) -> None:
        r.promised_ready_by = when or timezone.now() + dt.timedelta(days=1)

    def after(r: Repair, event: RepairEvent) -> None:
        Promise.objects.create(
            repair=r,
            kind=PromiseKind.READY_BY,
            due_at=r.promised_ready_by,
            made_by=getattr(as_actor(actor), "user", None),
            note=_("Repair on the spot, %(price)s") % {"price": _won(r.promised_price)},
        )

    def message(r: Repair) -> tuple[str, str]:
        body = _(
            "%(head)s: everything for your repair is ready. Come in from now on; it is done while "
            "you wait (by %(when)s at the latest). Price: %(price)s. Technician: %(tech)s."
        ) % {
            "head": _center_line(r),
            "when": f"{timezone.localtime(r.promised_ready_by):%Y-%m-%d %H:%M}",
            "price": _won(r.promised_price) if r.promised_price else _("free (warranty)"),
            "tech": staff_name(r.technician),
        }
        return NotificationKind.INVITE_FOR_REPAIR, body

    return run_transition(
        repair,
        "invite_for_repair",
        actor,
        Step(
            before=before,
            after=after,
            text=lambda r: _("Customer invited in; price %(price)s.") % {"price": _won(r.promised_price)},
            data=lambda r: {
                "promised_price": r.promised_price,
                "ready_by": r.promised_ready_by.isoformat(),
            },
            notify=message,
        ),
    )


def repair_check_in_device(*, repair: Repair | int, actor: Any, serial_number: Any = None) -> Repair:
    """The device arrived at the counter. A serial that differs from the record is flagged on
    the timeline for a manager; coverage and price never change here."""
    lookup = serial_lookup(serial_number) if serial_number not in (None, "") else None
    notes: dict[str, Any] = {}

    def stage(r: Repair) -> None:
        if lookup is None:
            return
        r.checked_in_serial = lookup.serial_number
        recorded = r.device.serial_number if r.device else r.reported_serial
        if recorded and recorded != lookup.serial_number:
            r.serial_mismatch = True
            notes["mismatch"] = {"recorded": recorded, "at_counter": lookup.serial_number}
        if r.device is None and lookup.device is not None and not recorded:
            r.device = lookup.device
        notes["warranty"] = lookup.status

    def after(r: Repair, event: RepairEvent) -> None:
        if "mismatch" in notes:
            _event(
                r,
                as_actor(actor),
                EventKind.SERIAL_MISMATCH,
                text=_(
                    "Serial at the counter %(found)s differs from the record %(recorded)s. "
                    "Coverage stays “%(coverage)s” until a manager decides."
                )
                % {
                    "found": notes["mismatch"]["at_counter"],
                    "recorded": notes["mismatch"]["recorded"],
                    "coverage": Coverage(r.coverage).label,
                },
                data=notes["mismatch"],
            )

    return run_transition(
        repair,
        "check_in_device",
        actor,
        Step(
            stage=stage,
            after=after,
            text=_("Device received at the counter."),
            data=lambda r: {"serial_number": r.checked_in_serial, **notes},
        ),
    )


def repair_start(*, repair: Repair | int, actor: Any) -> Repair:
    """ready_to_repair -> in_repair; the gate must hold and the device be here."""
    return run_transition(repair, "start_repair", actor, Step(text=_("Repair started.")))


def repair_complete(*, repair: Repair | int, actor: Any, work_notes: Any = "") -> Repair:
    """in_repair -> repaired; the reserved parts are used (they leave stock)."""
    notes = clean_text(work_notes, field="work_notes", max_length=4000, multiline=True)

    def stage(r: Repair) -> None:
        r.work_notes = notes

    def after(r: Repair, event: RepairEvent) -> None:
        parts_services.reservations_consume(repair=r)
        _fulfil_promises(r, PromiseKind.READY_BY, as_actor(actor))

    return run_transition(
        repair, "complete", actor, Step(stage=stage, after=after,
                                        text=_("Repair completed."), data={"work_notes": notes})  # fmt: skip
    )


def repair_report_unrepairable(*, repair: Repair | int, actor: Any, reason: Any) -> Repair:
    """The technician can't repair it. Unused reservations go back to stock."""
    why = clean_text(reason, field="reason", max_length=500, required=True)

    def stage(r: Repair) -> None:
        r.outcome_reason = why

    return run_transition(
        repair,
        "report_unrepairable",
        actor,
        Step(stage=stage, after=_release_after, text=why, data={"reason": why}),
    )


def repair_notify_ready_for_pickup(*, repair: Repair | int, actor: Any) -> Repair:
    """repaired/declined -> ready_for_pickup: the one message that says "come and get it"."""

    def message(r: Repair) -> tuple[str, str]:
        body = _("%(head)s: your device is ready for pickup. Amount to pay: %(amount)s.") % {
            "head": _center_line(r),
            "amount": _won(r.balance_due),
        }
        return NotificationKind.READY_FOR_PICKUP, body

    return run_transition(
        repair,
        "notify_ready_for_pickup",
        actor,
        Step(
            text=_("Ready for pickup."),
            data=lambda r: {"balance_due": r.balance_due},
            notify=message,
        ),
    )


def repair_ship(*, repair: Repair | int, actor: Any, carrier: Any, tracking_number: Any) -> Repair:
    """repaired/declined -> shipped, by courier to the address the customer gave."""
    carrier_ = clean_text(carrier, field="carrier", max_length=60)
    tracking = clean_text(tracking_number, field="tracking_number", max_length=60)

    def stage(r: Repair) -> None:
        r.carrier, r.tracking_number = carrier_, tracking

    def message(r: Repair) -> tuple[str, str]:
        body = _("%(head)s: shipped with %(carrier)s, tracking number %(tracking)s.") % {
            "head": _center_line(r),
            "carrier": carrier_,
            "tracking": tracking,
        }
        return NotificationKind.SHIPPED, body

    return run_transition(
        repair,
        "ship",
        actor,
        Step(
            stage=stage,
            text=lambda r: f"{carrier_} {tracking}",
            data={"carrier": carrier_, "tracking_number": tracking},
            notify=message,
        ),
    )


def repair_hand_over(*, repair: Repair | int, actor: Any, amount_paid: Any = 0) -> Repair:
    """ready_for_pickup -> closed, once this payment leaves nothing to pay."""
    paid = clean_amount(amount_paid, field="amount_paid")

    def stage(r: Repair) -> None:
        # Only judge the amount where a hand-over may happen: a second click on a closed repair
        # is a 409 (wrong state), not a 400 about a balance that the first click settled.
        if paid > r.balance_due and gate.state_allows(r, "hand_over"):
            raise ValidationFailed(
                {"amount_paid": [f"Only {r.balance_due:,} won is due; take no more than that."]}
            )
        r.amount_paid += paid

    return run_transition(
        repair,
        "hand_over",
        actor,
        Step(
            stage=stage,
            text=_("Handed over to the customer."),
            data=lambda r: {"amount_paid": paid, "total_paid": r.amount_paid},
        ),
    )


def repair_confirm_delivery(*, repair: Repair | int, actor: Any) -> Repair:
    return run_transition(repair, "confirm_delivery", actor, Step(text=_("Delivered.")))


def repair_cancel(*, repair: Repair | int, actor: Any, reason: Any) -> Repair:
    """Cancel a repair whose device is not here (otherwise decline it and give it back)."""
    why = clean_text(reason, field="reason", max_length=500, required=True)

    def stage(r: Repair) -> None:
        r.outcome_reason = why

    return run_transition(
        repair, "cancel", actor, Step(stage=stage, after=_release_after, text=why,
                                      data={"reason": why})  # fmt: skip
    )


# name -> (service, the input fields it takes). The API and pages dispatch through this table.
TRANSITION_SERVICES: dict[str, tuple[Callable[..., Repair], tuple[str, ...]]] = {
    "assign": (repair_assign, ("technician",)),
    "diagnose": (repair_diagnose, ("findings", "parts", "labor_fee")),
    "set_coverage": (repair_set_coverage, ("coverage", "reason")),
    "record_deposit": (repair_record_deposit, ("amount",)),
    "approve": (repair_approve, ()),
    "decline": (repair_decline, ("reason",)),
    "invite_for_repair": (repair_invite_for_repair, ("ready_by",)),
    "check_in_device": (repair_check_in_device, ("serial_number",)),
    "start_repair": (repair_start, ()),
    "complete": (repair_complete, ("work_notes",)),
    "report_unrepairable": (repair_report_unrepairable, ("reason",)),
    "notify_ready_for_pickup": (repair_notify_ready_for_pickup, ()),
    "ship": (repair_ship, ("carrier", "tracking_number")),
    "hand_over": (repair_hand_over, ("amount_paid",)),
    "confirm_delivery": (repair_confirm_delivery, ()),
    "cancel": (repair_cancel, ("reason",)),
}


def repair_transition(*, repair: Repair | int, name: str, actor: Any, data: dict | None = None) -> Repair:
    """Dispatch a transition by name with a dict of input (unknown keys are ignored)."""
    if name not in TRANSITION_SERVICES:
        raise NotFound(f"No transition {name}.")
    service, fields = TRANSITION_SERVICES[name]
    data = data or {}
    kwargs = {f: data[f] for f in fields if f in data}
    return service(repair=repair, actor=actor, **kwargs)


# --- timeline actions that are not transitions ---------------------------------------------------


@_db_guard
def _repair_action(repair: Repair | int, name: str, actor: Any, work: Callable[[Repair, Actor], Any]):
    actor = as_actor(actor)
    with transaction.atomic():
        locked = lock_repair(_repair_id(repair))
        if not actor_may(actor, locked, name):
            raise PermissionDenied(f"You may not {name.replace('_', ' ')} on this repair.")
        return work(locked, actor)


def repair_add_note(
    *, repair: Repair | int, actor: Any, text: Any, customer_visible: Any = False
) -> RepairEvent:
    body = clean_text(text, field="text", max_length=4000, required=True, multiline=True)
    visible = clean_bool(customer_visible, field="customer_visible")
    return _repair_action(
        repair,
        "add_note",
        actor,
        lambda r, a: _event(r, a, EventKind.NOTE, text=body, customer_visible=visible),
    )


def repair_record_call(
    *, repair: Repair | int, actor: Any, text: Any, direction: Any = "outgoing"
) -> RepairEvent:
    """A call with the customer, in one click. It keeps any due call-back promise."""
    body = clean_text(text, field="text", max_length=4000, required=True, multiline=True)
    way = clean_choice(direction, field="direction", choices=["outgoing", "incoming"])

    def work(r: Repair, a: Actor) -> RepairEvent:
        event = _event(r, a, EventKind.CALL, text=body, data={"direction": way})
        _fulfil_promises(r, PromiseKind.CALLBACK, a)
        return event

    return _repair_action(repair, "record_call", actor, work)


def repair_record_promise(
    *, repair: Repair | int, actor: Any, kind: Any, due_at: Any, note: Any = ""
) -> Promise:
    """A promise made to the customer, with a due time; overdue ones top the desk board."""
    kind_ = clean_choice(kind, field="kind", choices=PromiseKind)
    due = clean_datetime(due_at, field="due_at", required=True)
    note_ = clean_text(note, field="note", max_length=300)

    def work(r: Repair, a: Actor) -> Promise:
        promise = Promise.objects.create(
            repair=r, kind=kind_, due_at=due, note=note_, made_by=a.user
        )
        _event(
            r,
            a,
            EventKind.PROMISE,
            text=f"{PromiseKind(kind_).label}: {timezone.localtime(due):%Y-%m-%d %H:%M} {note_}",
            data={"promise": promise.pk, "kind": kind_, "due_at": due.isoformat()},
            customer_visible=kind_ != PromiseKind.CALLBACK,
        )
        return promise

    return _repair_action(repair, "record_promise", actor, work)


def repair_fulfil_promise(*, repair: Repair | int, actor: Any, promise_id: Any) -> Promise:
    def work(r: Repair, a: Actor) -> Promise:
        promise = Promise.objects.filter(repair=r, pk=promise_id, fulfilled_at__isnull=True).first()
        if promise is None:
            raise NotFound("No open promise with that id on this repair.")
        _mark_fulfilled([promise], r, a)
        return promise

    return _repair_action(repair, "fulfil_promise", actor, work)


def _fulfil_promises(
    repair: Repair, kind: str, actor: Actor, *, only_if_no_parts_waiting: bool = False
) -> None:
    if only_if_no_parts_waiting:
        _refresh_reservations(repair)
        if gate.check(repair, ["parts_not_on_hand"]):
            return
    open_ = list(Promise.objects.filter(repair=repair, kind=kind, fulfilled_at__isnull=True))
    _mark_fulfilled(open_, repair, actor)


def _mark_fulfilled(promises: list[Promise], repair: Repair, actor: Actor) -> None:
    if not promises:
        return
    now = timezone.now()
    Promise.objects.filter(pk__in=[p.pk for p in promises]).update(
        fulfilled_at=now, fulfilled_by=actor.user
    )
    for p in promises:
        p.fulfilled_at = now
        _event(
            repair,
            actor,
            EventKind.PROMISE_FULFILLED,
            text=str(PromiseKind(p.kind).label),
            data={"promise": p.pk, "kind": p.kind},
        )


def repair_request_courier_return(
    *,
    repair: Repair | int,
    actor: Any,
    recipient_name: Any,
    address: Any,
    phone: Any = None,
) -> Repair:
    """The customer (online) or the desk asks for the device to be sent back by courier."""
    name = clean_text(recipient_name, field="recipient_name", max_length=120, required=True)
    where = clean_text(address, field="address", max_length=300, required=True)
    number = str(clean_phone(phone, field="phone")) if phone not in (None, "") else ""

    def work(r: Repair, a: Actor) -> Repair:
        if r.state not in COURIER_REQUEST_STATES:
            raise TransitionBlocked([gate.state_blocker(r, "request_courier_return")],
                                    "request_courier_return")  # fmt: skip
        r.return_method = ReturnMethod.COURIER
        r.courier_recipient, r.courier_address, r.courier_phone = name, where, number
        r.version += 1
        r.save(update_fields=["return_method", "courier_recipient", "courier_address",
                              "courier_phone", "version", "updated_at"])  # fmt: skip
        _event(
            r,
            a,
            EventKind.COURIER_REQUEST,
            text=_("Courier return requested."),
            data={"recipient_name": name},
            customer_visible=True,
        )
        return r

    return _repair_action(repair, "request_courier_return", actor, work)
