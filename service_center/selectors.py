"""Reads of the front of house: serials, customers by phone (with their devices and repairs),
models."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.db.models import Prefetch, QuerySet

from core.errors import ValidationFailed
from core.validation import clean_phone
from service_center.models import (
    Customer,
    Device,
    ProductModel,
    ServiceCenter,
    WarrantyStatus,
    normalize_serial,
    serial_error,
)


def customers_by_phone(*, center_id: int | None, phone: Any) -> QuerySet[Customer]:
    """Customers of a center with this phone, each with registered devices and past repairs
    (the repairs of the customer record). Three queries whatever the number of customers,
    devices and repairs. The API and the desk page both read customers here."""
    # The repairs app sits above this one: reach its model through the relation, not an import.
    repair_model = Customer._meta.get_field("repairs").related_model
    # The desk page has cleaned it already (to show the phone's error beside the field).
    number = phone if isinstance(phone, phonenumbers.PhoneNumber) else clean_phone(phone)
    queryset = Customer.objects.filter(phone=number)
    if center_id is not None:
        queryset = queryset.filter(center_id=center_id)
    return queryset.order_by("-created_at", "-id").prefetch_related(
        Prefetch(
            "devices",
            queryset=Device.objects.select_related("product_model").order_by("serial_number", "id"),
        ),
        Prefetch(
            "repairs",
            queryset=repair_model.objects.select_related("product_model").order_by(
                "-created_at", "-id"
            ),
        ),
    )


def product_models_list() -> QuerySet[ProductModel]:
    return ProductModel.objects.order_by("code")


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


def center_by_ticket_prefix(ticket_number: Any) -> ServiceCenter | None:
    """The center a ticket number names (`GN-2611-…` → GN), whether or not the ticket exists:
    what a locked-out customer is told to call. One query, none for a shapeless ticket."""
    if not isinstance(ticket_number, str):
        return None
    code = ticket_number.strip().upper().split("-", 1)[0]
    if not code or len(code) > 8 or not code.isalnum():
        return None
    return ServiceCenter.objects.filter(code=code).only("name", "phone").first()
