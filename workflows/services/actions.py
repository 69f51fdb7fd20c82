"""Timeline actions that are not transitions: notes, calls, promises, courier return."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

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
from workflows.roles import Actor
from workflows.services.core import _event, _fulfil_promises, _mark_fulfilled, _repair_action

# --- timeline actions that are not transitions ---------------------------------------------------


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
            raise TransitionBlocked(
                [gate.state_blocker(r, "request_courier_return")], "request_courier_return"
            )
        r.return_method = ReturnMethod.COURIER
        r.courier_recipient, r.courier_address, r.courier_phone = name, where, number
        r.version += 1
        r.save(
            update_fields=[
                "return_method",
                "courier_recipient",
                "courier_address",
                "courier_phone",
                "version",
                "updated_at",
            ]
        )
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
