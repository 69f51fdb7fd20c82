"""The steps every write to a repair takes, as small helpers each service calls top to bottom:

@atomic_service                                # one transaction; lost races -> Conflict
def repair_<verb>(*, repair, actor, <inputs>) -> Repair:
    r = lock_for(repair, "<verb>", actor)      # row lock; NotFound, PermissionDenied
    ...check what needs the locked row; put the input on it...
    require_gate(r, "<verb>")                  # only where other rows are touched before the move
    ...other rows: reservations...
    moved = move(r, "<verb>", actor)           # gate (FSM conditions), version + 1, save
    with translation.override(r.language):     # texts in the customer's language
        record_transition(moved, text=..., data=...)
        ...other rows: promises...
        queue_message(r, NotificationKind.<KIND>, {...})  # outbox rows, delivered after commit
    return r
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from core.errors import (
    Conflict,
    DatabaseUnavailable,
    DomainError,
    NotFound,
    PermissionDenied,
    TransitionBlocked,
    connection_lost,
)
from core.roles import SYSTEM_ACTOR, as_actor
from parts.models import Reservation
from workflows import detail_cache, gate, messages, notify, public_cache, registry
from workflows.choices import ActorKind, EventKind, NotificationChannel, NotificationKind, State
from workflows.models import (
    Appointment,
    AppointmentStatus,
    Notification,
    Promise,
    Repair,
    RepairEvent,
)
from workflows.roles import actor_may

WORK_STARTED_STATES = (State.IN_REPAIR, State.REPAIRED, State.READY_FOR_PICKUP, State.SHIPPED)

_P = ParamSpec("_P")
_T = TypeVar("_T")


# --- the transaction and the lock --------------------------------------------------------------


# A test seam, None in production (one global read per service call): called with the
# service's name inside its transaction after all its writes, just before COMMIT, so a test can
# hold a transition there and cut its connection or kill its process (tests/test_pg_faults_pg.py).
before_commit: Callable[[str], None] | None = None


def atomic_service(func: Callable[_P, _T]) -> Callable[_P, _T]:
    """Run a service in one `transaction.atomic()`. A lost race (optimistic-lock miss, unique
    collision, deadlock, lock time-out) rolls it back and raises Conflict; a lost connection
    (PostgreSQL restarted, the backend terminated) raises DatabaseUnavailable, nothing having
    been committed; domain errors pass."""

    @functools.wraps(func)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            with transaction.atomic():
                result = func(*args, **kwargs)
                if before_commit is not None:
                    before_commit(func.__name__)
                return result
        except DomainError:
            raise
        except ConcurrentTransition:
            raise Conflict(
                "The repair was changed by someone else; reload and try again."
            ) from None
        except IntegrityError as exc:
            raise Conflict(
                f"The change collided with another one: {exc.__class__.__name__}."
            ) from None
        except DatabaseError as exc:
            if connection_lost(exc):  # not a race: retrying on this connection cannot work
                raise DatabaseUnavailable(str(exc)) from exc
            # Deadlock, serialization failure, "database is locked": nothing was written.
            raise Conflict(
                f"The database was busy ({exc.__class__.__name__}); try again."
            ) from None

    return run


def lock_repair(repair_id: int) -> Repair:
    """The repair row under lock (`select_for_update`), with what the gate needs loaded.
    Raises NotFound; RuntimeError outside a transaction, where the lock would end at once."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_repair() needs transaction.atomic(): the lock would not hold.")
    try:
        repair = (
            Repair.objects.select_for_update(of=("self",))
            .select_related(
                "center", "customer", "technician", "device__product_model", "product_model"
            )
            .get(pk=repair_id)
        )
    except Repair.DoesNotExist:
        raise NotFound("No such repair.") from None
    _prefetch_reservations(repair)
    return repair


def lock_for(repair: Repair | int, name: str, actor: Any) -> Repair:
    """Lock the repair for transition or action `name`. Raises NotFound, and PermissionDenied
    when the actor's role may not run it on this repair."""
    locked = lock_repair(repair if isinstance(repair, int) else repair.pk)
    if not actor_may(actor, locked, name):
        what = "this repair" if name in registry.TRANSITIONS else "on this repair"
        raise PermissionDenied(f"You may not {name.replace('_', ' ')} {what}.")
    return locked


def refresh_reservations(repair: Repair) -> None:
    """Reload the locked repair's reservations after a change: the gate and the quote read them.
    (`refresh_from_db` with a prefetched relation's name only drops that prefetch.)"""
    repair.refresh_from_db(fields=["reservations"])
    _prefetch_reservations(repair)


def _prefetch_reservations(repair: Repair) -> None:
    prefetch_related_objects(
        [repair], Prefetch("reservations", queryset=Reservation.objects.select_related("part"))
    )


# --- the transition ----------------------------------------------------------------------------


def require_gate(repair: Repair, name: str) -> None:
    """Raise TransitionBlocked with the gate's blockers unless transition `name` may run."""
    blockers = gate.transition_blockers(repair, name)
    if blockers:
        raise TransitionBlocked(blockers, name)


@dataclass(frozen=True)
class Moved:
    """What `move` did: the repair, the transition, the state it left and who moved it."""

    repair: Repair
    name: str
    previous: str
    actor: Any


def move(repair: Repair, name: str, actor: Any) -> Moved:
    """Call the FSM transition `name`, count a new version and save. The FSM's conditions are
    the gate: when the state or a check does not allow it, raises TransitionBlocked with the
    gate's blockers (call `require_gate` first only to stop before touching other rows)."""
    previous = repair.state
    try:
        getattr(repair, name)()
    except TransitionNotAllowed:
        raise TransitionBlocked(
            gate.transition_blockers(repair, name) or [gate.state_blocker(repair, name)], name
        ) from None
    repair.version += 1
    repair.save()
    if State.READY_TO_REPAIR in (previous, repair.state):  # only there can a visit be booked
        settle_appointment(repair)
    return Moved(repair, name, previous, actor)


# --- the booked visit --------------------------------------------------------------------------


def settle_appointment(repair: Repair) -> Appointment | None:
    """The one place a booked visit follows the repair: once the device is in, the visit
    happened (`done`); when a blocker appears (coverage, parts, the repair given up), it is
    withdrawn and the customer told why, with a call-back offered, in the caller's transaction.
    Call with the repair locked, after its change. Returns the appointment it changed."""
    appointment = (
        Appointment.objects.select_for_update()
        .filter(repair=repair, status=AppointmentStatus.BOOKED)
        .first()
    )
    if appointment is None:
        return None
    if repair.device_in_shop and repair.state in (State.READY_TO_REPAIR, State.IN_REPAIR):
        appointment.status = AppointmentStatus.DONE
        appointment.save(update_fields=["status"])
        return appointment
    blockers = gate.booking_blockers(repair)
    if not blockers:
        return None
    appointment.status = AppointmentStatus.WITHDRAWN
    appointment.withdrawn_reason = _cause(blockers)["code"][:30]
    appointment.save(update_fields=["status", "withdrawn_reason"])
    with translation.override(repair.language):
        why = _cause(gate.booking_blockers(repair))["message"]  # in the customer's language
        kind = NotificationKind.APPOINTMENT_WITHDRAWN
        context = {"when": local_slot(appointment.start), "why": why}
        queue_message(repair, kind, context, key=f"{repair.pk}:{kind}:{appointment.pk}")
    return appointment


def _cause(blockers: list[dict[str, str]]) -> dict[str, str]:
    """What to tell the customer: the reason (coverage, parts), not only the state it left."""
    return next((b for b in blockers if b["code"] != "wrong_state"), blockers[0])


def local_slot(when: Any) -> str:
    return f"{timezone.localtime(when):%Y-%m-%d %H:%M}"


def plain_transition(repair: Repair | int, name: str, actor: Any, *, code: str) -> Repair:
    """A transition with no input and no other rows: lock, gate, move, one event whose line is
    `code` of workflows.texts (rendered when shown). Call inside `atomic_service`."""
    r = lock_for(repair, name, actor)
    moved = move(r, name, actor)
    record_transition(moved, code=code)
    return r


# --- the timeline and the outbox ---------------------------------------------------------------


def record_event(
    repair: Repair,
    actor: Any,
    kind: str,
    *,
    text: str = "",
    code: str = "",
    params: dict | None = None,
    data: dict | None = None,
    customer_visible: bool = False,
    moved: Moved | None = None,
) -> RepairEvent:
    """One timeline row (of transition `moved`, if given). A row the customer sees drops the
    cached public answer, now and again after commit (a reader in between may cache the old).
    Every row drops the cached detail bodies of the repair and its customer, likewise."""
    actor = as_actor(actor)
    detail_cache.forget(repair.pk, repair.customer_id)
    transaction.on_commit(partial(detail_cache.forget, repair.pk, repair.customer_id))
    if customer_visible or kind == EventKind.TRANSITION:
        public_cache.forget(repair.ticket_number)
        transaction.on_commit(partial(public_cache.forget, repair.ticket_number))
    return RepairEvent.objects.create(
        repair=repair,
        actor_kind=actor.kind if actor.kind in ActorKind.values else ActorKind.SYSTEM,
        actor=actor.user if actor.kind == ActorKind.STAFF else None,
        actor_name=actor.label[:120],
        kind=kind,
        transition=moved.name if moved else "",
        from_state=moved.previous if moved else "",
        to_state=repair.state if moved else "",
        customer_visible=customer_visible,
        text=text,
        text_code=code,
        text_params=params or {},
        data=data or {},
    )


def record_transition(
    moved: Moved,
    *,
    text: str = "",
    code: str = "",
    params: dict | None = None,
    data: dict | None = None,
    customer_visible: bool = True,
    kind: str = EventKind.TRANSITION,
) -> RepairEvent:
    """The timeline row of a transition: who moved the repair, from where to its state now.
    `text` is what a person typed; `code` and `params` what the system says (workflows.texts)."""
    return record_event(
        moved.repair,
        moved.actor,
        kind,
        text=text,
        code=code,
        params=params,
        data=data,
        customer_visible=customer_visible,
        moved=moved,
    )


def queue_message(
    repair: Repair, kind: str, context: dict[str, Any], *, key: str = ""
) -> Notification:
    """The message of `kind` to the customer: rendered from the center's template (or the
    default) in the repair's language with `context` and the repair's own facts (center,
    ticket, customer, link, phone), stored as sent: one SMS row to the phone and, when the
    customer gave an e-mail address, one e-mail row (key + ":email"); one timeline row; both
    delivered after commit. The key holds the repair's version: one message per (repair, kind,
    state change); a message that is not about a state change gives its own `key`. Returns the
    SMS row."""
    language = repair.language
    with translation.override(language):
        values = {**message_facts(repair), **context}
        rendered = messages.render(repair.center, kind, language, values)
    key = key or f"{repair.pk}:{kind}:{repair.version}"
    rows = [(NotificationChannel.SMS, str(repair.customer.phone), key)]
    if repair.customer.email:
        rows.append((NotificationChannel.EMAIL, repair.customer.email, f"{key}:email"))
    sent = [
        Notification.objects.create(
            repair=repair,
            kind=kind,
            channel=channel,
            recipient=recipient,
            language=language,
            subject=rendered.subject,
            body=rendered.body,
            idempotency_key=idempotency_key,
        )
        for channel, recipient, idempotency_key in rows
    ]
    record_event(
        repair,
        SYSTEM_ACTOR,
        EventKind.NOTIFICATION,
        code="message_sent",
        params={"kind": kind},
        data={"notification": kind, "channel": sent[0].channel, "channels": [c for c, *_ in rows]},
        customer_visible=True,
    )
    notify.deliver_on_commit([n.pk for n in sent])
    return sent[0]


def message_facts(repair: Repair) -> dict[str, str]:
    """The placeholders every customer message may use (workflows.messages.CUSTOMER)."""
    return {
        "center": repair.center.name,
        "ticket": repair.ticket_number,
        "customer": repair.customer.name,
        "link": status_link(repair),
        "phone": repair.center.phone,
    }


def status_link(repair: Repair) -> str:
    return f"{settings.SITE_URL}/status/t/{repair.status_token}/"


def won(amount: int | None) -> str:
    return (
        _("to be confirmed") if amount is None else _("%(amount)s won") % {"amount": f"{amount:,}"}
    )


def center_line(repair: Repair) -> str:
    return f"[{repair.center.name}] {repair.ticket_number}"


# --- promises ----------------------------------------------------------------------------------


def fulfil_open_promises(repair: Repair, kind: str, actor: Any) -> None:
    """Mark the repair's open promises of `kind` kept, each with a timeline row."""
    open_ = list(Promise.objects.open().filter(repair=repair, kind=kind))
    mark_fulfilled(open_, repair, actor)


def mark_fulfilled(promises: list[Promise], repair: Repair, actor: Any) -> None:
    if not promises:
        return
    actor = as_actor(actor)
    now = timezone.now()
    Promise.objects.filter(pk__in=[p.pk for p in promises]).update(
        fulfilled_at=now, fulfilled_by=actor.user
    )
    for p in promises:
        p.fulfilled_at = now
        record_event(
            repair,
            actor,
            EventKind.PROMISE_FULFILLED,
            code="promise_kept",
            params={"kind": p.kind},
            data={"promise": p.pk, "kind": p.kind},
        )
