"""Taking a repair in: serial lookup, coverage from the serial, the customer, the ticket."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from service_center.errors import (
    Conflict,
    PermissionDenied,
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
)
from service_center.validation import (
    clean_bool,
    clean_choice,
    clean_phone,
    clean_text,
)
from workflows.choices import (
    ActorKind,
    Coverage,
    EventKind,
    IntakeChannel,
    NotificationKind,
    ReturnMethod,
    State,
)
from workflows.models import Repair, new_ticket_number
from workflows.roles import actor_may, as_actor
from workflows.services.core import _center_line, _db_guard, _event, _notification, status_link

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
