"""Reads of the front of house: customers by phone (with their devices and repairs), models."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from core.validation import clean_phone
from service_center.models import Customer, Device, ProductModel


def customers_by_phone(*, center_id: int | None, phone: Any) -> QuerySet[Customer]:
    """Customers of a center with this phone, each with registered devices and past repairs.
    Three queries whatever the number of customers, devices and repairs."""
    from workflows.models import Repair

    number = clean_phone(phone, field="phone")
    queryset = Customer.objects.filter(phone=number)
    if center_id is not None:
        queryset = queryset.filter(center_id=center_id)
    return queryset.order_by("-created_at", "-id").prefetch_related(
        Prefetch("devices", queryset=Device.objects.select_related("product_model").order_by("id")),
        Prefetch(
            "repairs",
            queryset=Repair.objects.select_related("product_model").order_by("-created_at", "-id"),
        ),
    )


def product_models_list() -> QuerySet[ProductModel]:
    return ProductModel.objects.order_by("code")
