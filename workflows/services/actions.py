"""Timeline actions that are not transitions: notes, calls, promises, courier return.

They take typed values, already checked for shape at the edge (workflows/inputs.py: the API and
the page views validate with the same serializers); here only what needs the locked row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.errors import (
    NotFound,
    TransitionBlocked,
)
from core.roles import as_actor
from workflows import gate
from workflows.choices import (
    COURIER_REQUEST_STATES,
    EventKind,
    PromiseKind,
    ReturnMethod,
)
from workflows.models import Promise, Repair, RepairEvent
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
    *, repair: Repair | int, actor: Any, text: str, customer_visible: bool = False
) -> RepairEvent:
    """A note on the timeline, for staff only unless `customer_visible`. Locks the repair."""
    r = lock_for(repair, "add_note", actor)
    return record_event(r, actor, EventKind.NOTE, text=text, customer_visible=customer_visible)


@atomic_service
def repair_record_call(
    *, repair: Repair | int, actor: Any, text: str, direction: str = "outgoing"
) -> RepairEvent:
    """A call with the customer, in one click. Locks the repair; keeps any call-back promise."""
    r = lock_for(repair, "record_call", actor)
    event = record_event(r, actor, EventKind.CALL, text=text, data={"direction": direction})
    fulfil_open_promises(r, PromiseKind.CALLBACK, actor)
    return event


@atomic_service
def repair_record_promise(
    *, repair: Repair | int, actor: Any, kind: str, due_at: dt.datetime, note: str = ""
) -> Promise:
    """A promise made to the customer, with a due time; overdue ones top the desk board.
    Locks the repair. A call-back promise stays off the customer's timeline."""
    r = lock_for(repair, "record_promise", actor)
    promise = Promise.objects.create(
        repair=r, kind=kind, due_at=due_at, note=note, made_by=as_actor(actor).user
    )
    record_event(
        r,
        actor,
        EventKind.PROMISE,
        code="promise_made",
        params={"kind": kind, "due": due_at.isoformat()},
        text=note,
        data={"promise": promise.pk, "kind": kind, "due_at": due_at.isoformat()},
        customer_visible=kind != PromiseKind.CALLBACK,
    )
    return promise


@atomic_service
def repair_fulfil_promise(*, repair: Repair | int, actor: Any, promise_id: int) -> Promise:
    """Mark one open promise kept. Locks the repair; raises NotFound for no such open promise."""
    r = lock_for(repair, "fulfil_promise", actor)
    promise = Promise.objects.open().filter(repair=r, pk=promise_id).first()
    if promise is None:
        raise NotFound("No open promise with that id on this repair.")
    mark_fulfilled([promise], r, actor)
    return promise


@atomic_service
def repair_request_courier_return(
    *,
    repair: Repair | int,
    actor: Any,
    recipient_name: str,
    address: str,
    phone: str = "",
) -> Repair:
    """The customer (online) or the desk asks for the device to be sent back by courier.
    Locks the repair; raises TransitionBlocked once the device is on its way or back."""
    r = lock_for(repair, "request_courier_return", actor)
    if r.state not in COURIER_REQUEST_STATES:
        raise TransitionBlocked(
            [gate.state_blocker(r, "request_courier_return")], "request_courier_return"
        )
    r.return_method = ReturnMethod.COURIER
    r.courier_recipient, r.courier_address, r.courier_phone = recipient_name, address, phone
    r.version += 1
    r.save(update_fields=[*_COURIER_FIELDS, "version", "updated_at"])
    record_event(
        r,
        actor,
        EventKind.COURIER_REQUEST,
        code="courier_requested",
        data={"recipient_name": recipient_name},
        customer_visible=True,
    )
    return r
