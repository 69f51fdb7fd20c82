"""The path every write to a repair takes: lock, role, gate, transition, event, outbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from parts import services as parts_services
from parts.models import Reservation
from service_center.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    TransitionBlocked,
)
from workflows import gate, notify, public_cache
from workflows.choices import (
    ActorKind,
    EventKind,
    PromiseKind,
    State,
)
from workflows.models import Notification, Promise, Repair, RepairEvent
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
            raise Conflict(
                "The repair was changed by someone else; reload and try again."
            ) from None
        except IntegrityError as exc:
            raise Conflict(
                f"The change collided with another one: {exc.__class__.__name__}."
            ) from None
        except DatabaseError as exc:
            # Deadlock, serialization failure, "database is locked": nothing was written.
            raise Conflict(
                f"The database was busy ({exc.__class__.__name__}); try again."
            ) from None

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
            .select_related(
                "center", "customer", "technician", "device__product_model", "product_model"
            )
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
    if customer_visible or kind == EventKind.TRANSITION:
        # Now, and again after commit: a reader between the two may cache the old answer.
        public_cache.forget(repair.pk)
        transaction.on_commit(partial(public_cache.forget, repair.pk))
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
    TransitionBlocked (with blockers), ValidationFailed or Conflict; schedules delivery on
    commit."""
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
            raise TransitionBlocked(
                gate.transition_blockers(repair, name) or [gate.state_blocker(repair, name)], name
            ) from None
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
    return (
        _("to be confirmed") if amount is None else _("%(amount)s won") % {"amount": f"{amount:,}"}
    )


def _center_line(repair: Repair) -> str:
    return f"[{repair.center.name}] {repair.ticket_number}"


@_db_guard
def _repair_action(
    repair: Repair | int, name: str, actor: Any, work: Callable[[Repair, Actor], Any]
):
    actor = as_actor(actor)
    with transaction.atomic():
        locked = lock_repair(_repair_id(repair))
        if not actor_may(actor, locked, name):
            raise PermissionDenied(f"You may not {name.replace('_', ' ')} on this repair.")
        return work(locked, actor)


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


def _release_after(r: Repair, event: RepairEvent) -> None:
    parts_services.reservations_release(repair=r)
