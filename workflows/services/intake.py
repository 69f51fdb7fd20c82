"""Taking a repair in: serial lookup, coverage from the serial, the customer, the ticket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_noop

from core.errors import Conflict, PermissionDenied, ValidationFailed, invalid
from core.roles import Actor, as_actor
from service_center.models import (
    Customer,
    Device,
    ProductModel,
    ServiceCenter,
    WarrantyStatus,
)
from service_center.selectors import SerialLookup, serial_lookup
from workflows import selectors
from workflows.choices import ActorKind, Coverage, IntakeChannel, NotificationKind, ReturnMethod
from workflows.inputs import ConditionLine, CustomerInput
from workflows.models import Repair, new_ticket_number
from workflows.roles import actor_may
from workflows.services.core import (
    Moved,
    atomic_service,
    queue_message,
    record_transition,
)
from workflows.texts import CoverageReason

# --- intake ----------------------------------------------------------------------------------


def coverage_from_serial(
    lookup: SerialLookup | None, earlier: Repair | None = None
) -> tuple[str, str, dict[str, str]]:
    """(coverage, reason code, reason params): the reason is rendered when shown. A comeback
    within the center's repair warranty (`earlier`: selectors.repair_warranty_source) is
    warranty whatever the manufacturer's warranty says, naming the earlier ticket."""
    if earlier is not None:
        return (
            Coverage.WARRANTY,
            CoverageReason.REPAIR_WARRANTY,
            selectors.repair_warranty_params(earlier),
        )
    if lookup is None or lookup.device is None:
        return Coverage.UNDETERMINED, CoverageReason.SERIAL_UNKNOWN, {}
    facts = {"serial": lookup.serial_number}
    if lookup.status == WarrantyStatus.IN_WARRANTY:
        return Coverage.WARRANTY, CoverageReason.IN_WARRANTY, {**facts, "date": f"{lookup.until}"}
    if lookup.status == WarrantyStatus.EXPIRED:
        return Coverage.PAID, CoverageReason.WARRANTY_ENDED, {**facts, "date": f"{lookup.until}"}
    return Coverage.PAID, CoverageReason.PARALLEL_IMPORT, facts


def customer_find_or_create(*, center: ServiceCenter, data: CustomerInput) -> Customer:
    """The center's customer with this name and phone (email and address updated when given),
    or a new one."""
    name, phone = data["name"], data["phone"]
    email, address = data.get("email", ""), data.get("address", "")
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


@atomic_service
def repair_intake(
    *,
    center: ServiceCenter,
    actor: Any,
    customer: CustomerInput,
    symptom: str,
    intake_channel: str = IntakeChannel.WALK_IN,
    device_in_shop: bool = True,
    return_method: str = ReturnMethod.PICKUP,
    serial_number: str | None = None,
    product_model: str | None = None,
    accessories: str = "",
    courier_address: str = "",
    language: str = "",
    condition: list[ConditionLine] | None = None,
) -> Repair:
    """Take a device (or a phoned-in problem) in, with input checked at the edge (the serial
    comes normalised). Coverage follows the serial: warranty, paid (expired or parallel import),
    or undetermined (unknown). Raises PermissionDenied, ValidationFailed (an unknown product
    model), Conflict; a repair not handed in at the counter is sent its status link."""
    who = _desk_actor(actor, center)
    lookup = serial_lookup(serial_number) if serial_number else None
    model = _intake_model(lookup, product_model)
    person = customer_find_or_create(center=center, data=customer)
    repair = Repair.objects.create(
        ticket_number=_unique_ticket(center.code),
        center=center,
        customer=person,
        created_by=who.user,
        product_model=model,
        symptom=symptom,
        accessories=accessories,
        condition=[
            {"item": c["item"], "state": c["state"], "note": c.get("note", "")}
            for c in condition or []
        ],
        intake_channel=intake_channel,
        device_in_shop=device_in_shop,
        return_method=return_method,
        **_courier_fields(return_method, courier_address, person),
        language=language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE,
        **_serial_facts(lookup, person, center),
    )
    _record_intake(repair, who)
    return repair


def _desk_actor(actor: Any, center: ServiceCenter) -> Actor:
    who = as_actor(actor)
    if who.kind != ActorKind.STAFF or not actor_may(who, _CenterScope(center.pk), "intake"):
        raise PermissionDenied("Only the front desk takes repairs in.")
    return who


def _courier_fields(return_method: str, address: str, person: Customer) -> dict[str, str]:
    """A courier return goes to the customer, at their address unless told another."""
    courier = return_method == ReturnMethod.COURIER
    return {
        "courier_address": address or (person.address if courier else ""),
        "courier_recipient": person.name if courier else "",
    }


def _serial_facts(
    lookup: SerialLookup | None, person: Customer, center: ServiceCenter
) -> dict[str, Any]:
    """The repair's device and coverage from the serial (a comeback within this center's repair
    warranty: `comeback_of`); an owner-less registered device becomes the customer's."""
    serial = lookup.serial_number if lookup else ""
    earlier = selectors.repair_warranty_source(center=center, serial=serial)
    coverage, reason, facts = coverage_from_serial(lookup, earlier)
    if lookup and lookup.device and lookup.device.owner_id is None:
        Device.objects.filter(pk=lookup.device.pk, owner__isnull=True).update(owner=person)
    return {
        "device": lookup.device if lookup else None,
        "reported_serial": lookup.serial_number if lookup else "",
        "coverage": coverage,
        "coverage_reason_code": reason,
        "coverage_reason_params": facts,
        "comeback_of": earlier,
    }


def _record_intake(repair: Repair, actor: Actor) -> None:
    """The first timeline row; by phone or online, the ticket number and the status link."""
    record_transition(
        Moved(repair, "intake", "", actor),
        text=repair.symptom,
        data={
            "coverage": repair.coverage,
            "coverage_reason": repair.coverage_reason_code,
            "coverage_reason_params": repair.coverage_reason_params,
            "channel": repair.intake_channel,
        },
    )
    if repair.intake_channel == IntakeChannel.WALK_IN:
        return  # they were handed a paper ticket
    queue_message(repair, NotificationKind.RECEIVED, {})


@dataclass(frozen=True)
class _CenterScope:
    """Lets `actor_may` check center membership before a repair exists."""

    center_id: int
    technician_id: int | None = None
    coverage_locked: bool = False


def _intake_model(lookup: SerialLookup | None, product_model: str | None) -> ProductModel | None:
    if lookup and lookup.device:
        return lookup.device.product_model
    if not product_model:
        raise ValidationFailed(
            {"product_model": ["The serial is unknown: say which product model it is."]}
        )
    model = ProductModel.objects.filter(code=product_model).first()
    if model is None:
        raise invalid(
            "product_model", gettext_noop("No product model %(code)s."), code=product_model
        )
    return model


def _unique_ticket(center_code: str) -> str:
    for _attempt in range(10):
        number = new_ticket_number(center_code)
        if not Repair.objects.filter(ticket_number=number).exists():
            return number
    raise Conflict("Could not allocate a ticket number; try again.")
