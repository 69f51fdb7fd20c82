"""Timeline actions that are not transitions: notes, calls, promises, courier return."""

from __future__ import annotations

from typing import Any

from service_center.errors import (
    NotFound,
    TransitionBlocked,
)
from service_center.validation import (
    clean_bool,
    clean_choice,
    clean_datetime,
    clean_phone,
    clean_text,
)
from workflows import gate
from workflows.choices import (
    COURIER_REQUEST_STATES,
    EventKind,
    PromiseKind,
    ReturnMethod,
)
from workflows.models import Promise, Repair, RepairEvent
from workflows.roles import as_actor
from workflows.services.core import (
    atomic_service,
    fulfil_open_promises,
    lock_for,
    mark_fulfilled,
    record_event,
)

# --- timeline actions that are not transitions ---------------------------------------------------

_COURIER_FIELDS = ["return_method", "courier_recipient", "courier_address", "courier_phone"]


@atomic_service
def repair_add_note(
    *, repair: Repair | int, actor: Any, text: Any, customer_visible: Any = False
) -> RepairEvent:
    """A note on the timeline, for staff only unless `customer_visible`. Locks the repair."""
    body = clean_text(text, field="text", max_length=4000, required=True, multiline=True)
    visible = clean_bool(customer_visible, field="customer_visible")
    r = lock_for(repair, "add_note", actor)
    return record_event(r, actor, EventKind.NOTE, text=body, customer_visible=visible)


@atomic_service
def repair_record_call(
    *, repair: Repair | int, actor: Any, text: Any, direction: Any = "outgoing"
) -> RepairEvent:
    """A call with the customer, in one click. Locks the repair; keeps any call-back promise."""
    body = clean_text(text, field="text", max_length=4000, required=True, multiline=True)
    way = clean_choice(direction, field="direction", choices=["outgoing", "incoming"])
    r = lock_for(repair, "record_call", actor)
    event = record_event(r, actor, EventKind.CALL, text=body, data={"direction": way})
    fulfil_open_promises(r, PromiseKind.CALLBACK, actor)
    return event


@atomic_service
def repair_record_promise(
    *, repair: Repair | int, actor: Any, kind: Any, due_at: Any, note: Any = ""
) -> Promise:
    """A promise made to the customer, with a due time; overdue ones top the desk board.
    Locks the repair. A call-back promise stays off the customer's timeline."""
    kind_ = clean_choice(kind, field="kind", choices=PromiseKind)
    due = clean_datetime(due_at, field="due_at", required=True)
    note_ = clean_text(note, field="note", max_length=300)
    r = lock_for(repair, "record_promise", actor)
    promise = Promise.objects.create(
        repair=r, kind=kind_, due_at=due, note=note_, made_by=as_actor(actor).user
    )
    record_event(
        r,
        actor,
        EventKind.PROMISE,
        code="promise_made",
        params={"kind": kind_, "due": due.isoformat()},
        text=note_,
        data={"promise": promise.pk, "kind": kind_, "due_at": due.isoformat()},
        customer_visible=kind_ != PromiseKind.CALLBACK,
    )
    return promise


@atomic_service
def repair_fulfil_promise(*, repair: Repair | int, actor: Any, promise_id: Any) -> Promise:
    """Mark one open promise kept. Locks the repair; raises NotFound for no such open promise."""
    r = lock_for(repair, "fulfil_promise", actor)
    promise = Promise.objects.filter(repair=r, pk=promise_id, fulfilled_at__isnull=True).first()
    if promise is None:
        raise NotFound("No open promise with that id on this repair.")
    mark_fulfilled([promise], r, actor)
    return promise


@atomic_service
def repair_request_courier_return(
    *,
    repair: Repair | int,
    actor: Any,
    recipient_name: Any,
    address: Any,
    phone: Any = None,
) -> Repair:
    """The customer (online) or the desk asks for the device to be sent back by courier.
    Locks the repair; raises TransitionBlocked once the device is on its way or back."""
    name = clean_text(recipient_name, field="recipient_name", max_length=120, required=True)
    where = clean_text(address, field="address", max_length=300, required=True)
    number = str(clean_phone(phone, field="phone")) if phone not in (None, "") else ""
    r = lock_for(repair, "request_courier_return", actor)
    if r.state not in COURIER_REQUEST_STATES:
        raise TransitionBlocked(
            [gate.state_blocker(r, "request_courier_return")], "request_courier_return"
        )
    r.return_method = ReturnMethod.COURIER
    r.courier_recipient, r.courier_address, r.courier_phone = name, where, number
    r.version += 1
    r.save(update_fields=[*_COURIER_FIELDS, "version", "updated_at"])
    record_event(
        r,
        actor,
        EventKind.COURIER_REQUEST,
        code="courier_requested",
        data={"recipient_name": name},
        customer_visible=True,
    )
    return r
