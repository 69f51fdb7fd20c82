"""Taking a repair in: serial lookup, coverage from the serial, the customer, the ticket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.errors import (
    Conflict,
    Message,
    PermissionDenied,
    ValidationFailed,
)
from core.roles import Actor, as_actor
from core.validation import (
    clean_bool,
    clean_choice,
    clean_phone,
    clean_text,
)
from service_center.models import (
    Customer,
    Device,
    ProductModel,
    ServiceCenter,
    WarrantyStatus,
)
from service_center.selectors import SerialLookup, serial_lookup
from workflows.choices import (
    ActorKind,
    Coverage,
    IntakeChannel,
    NotificationKind,
    ReturnMethod,
)
from workflows.models import Repair, new_ticket_number
from workflows.roles import actor_may
from workflows.services.core import (
    Moved,
    atomic_service,
    center_line,
    queue_message,
    record_transition,
    status_link,
)
from workflows.texts import CoverageReason

# --- intake ----------------------------------------------------------------------------------


def coverage_from_serial(lookup: SerialLookup | None) -> tuple[str, str, dict[str, str]]:
    """(coverage, reason code, reason params): the reason is rendered when shown."""
    if lookup is None or lookup.device is None:
        return Coverage.UNDETERMINED, CoverageReason.SERIAL_UNKNOWN, {}
    facts = {"serial": lookup.serial_number}
    if lookup.status == WarrantyStatus.IN_WARRANTY:
        return Coverage.WARRANTY, CoverageReason.IN_WARRANTY, {**facts, "date": f"{lookup.until}"}
    if lookup.status == WarrantyStatus.EXPIRED:
        return Coverage.PAID, CoverageReason.WARRANTY_ENDED, {**facts, "date": f"{lookup.until}"}
    return Coverage.PAID, CoverageReason.PARALLEL_IMPORT, facts


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


@atomic_service
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
    warranty, paid if expired or parallel import, undetermined if the serial is unknown.
    Raises PermissionDenied, ValidationFailed, Conflict; a repair not handed in at the counter
    gets its ticket number and status link by message after commit."""
    who = as_actor(actor)
    if who.kind != ActorKind.STAFF or not actor_may(who, _CenterScope(center.pk), "intake"):
        raise PermissionDenied("Only the front desk takes repairs in.")
    fields = _intake_fields(
        symptom=symptom,
        accessories=accessories,
        intake_channel=intake_channel,
        device_in_shop=device_in_shop,
        return_method=return_method,
        courier_address=courier_address,
        language=language,
    )
    lookup = serial_lookup(serial_number) if serial_number not in (None, "") else None
    model = _intake_model(lookup, product_model)
    person = customer_find_or_create(center=center, data=customer)
    repair = _repair_create(
        center=center, person=person, actor=who, lookup=lookup, model=model, **fields
    )
    _record_intake(repair, who)
    return repair


def _intake_fields(
    *,
    symptom: Any,
    accessories: Any,
    intake_channel: Any,
    device_in_shop: Any,
    return_method: Any,
    courier_address: Any,
    language: Any,
) -> dict[str, Any]:
    """The repair's own fields from the intake form, each validated."""
    return {
        "symptom": clean_text(
            symptom, field="symptom", max_length=2000, required=True, multiline=True
        ),
        "accessories": clean_text(accessories, field="accessories", max_length=300),
        "intake_channel": clean_choice(
            intake_channel, field="intake_channel", choices=IntakeChannel
        ),
        "device_in_shop": clean_bool(device_in_shop, field="device_in_shop"),
        "return_method": clean_choice(return_method, field="return_method", choices=ReturnMethod),
        "courier_address": clean_text(courier_address, field="courier_address", max_length=300),
        "language": language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE,
    }


def _repair_create(
    *,
    center: ServiceCenter,
    person: Customer,
    actor: Actor,
    lookup: SerialLookup | None,
    model: ProductModel | None,
    courier_address: str,
    **fields: Any,
) -> Repair:
    """The new repair row (a courier return goes to the customer unless told otherwise); an
    owner-less device of a known serial becomes the customer's."""
    courier = fields["return_method"] == ReturnMethod.COURIER
    coverage, reason, facts = coverage_from_serial(lookup)
    if lookup and lookup.device and lookup.device.owner_id is None:
        Device.objects.filter(pk=lookup.device.pk, owner__isnull=True).update(owner=person)
    return Repair.objects.create(
        ticket_number=_unique_ticket(center.code),
        center=center,
        customer=person,
        device=lookup.device if lookup else None,
        reported_serial=lookup.serial_number if lookup else "",
        product_model=model,
        courier_address=courier_address or (person.address if courier else ""),
        courier_recipient=person.name if courier else "",
        coverage=coverage,
        coverage_reason_code=reason,
        coverage_reason_params=facts,
        created_by=actor.user,
        **fields,
    )


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
    with translation.override(repair.language):
        body = _("%(head)s received. Follow your repair: %(link)s") % {
            "head": center_line(repair),
            "link": status_link(repair),
        }
    queue_message(repair, NotificationKind.RECEIVED, body)


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
        raise ValidationFailed(
            {"product_model": [Message(gettext_noop("No product model %(code)s."), code=code)]}
        )
    return model


def _unique_ticket(center_code: str) -> str:
    for _attempt in range(10):
        number = new_ticket_number(center_code)
        if not Repair.objects.filter(ticket_number=number).exists():
            return number
    raise Conflict("Could not allocate a ticket number; try again.")
