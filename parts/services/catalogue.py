"""The parts catalogue."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from core.errors import Message, ValidationFailed
from core.validation import clean_amount, clean_text
from parts.models import (
    Part,
)
from service_center.models import ProductModel


def part_create(*, part_number: Any, name: Any, unit_price: Any, compatible_models: Any = ()):
    """A new part in the catalogue, fitting the given product model codes."""
    number = clean_text(part_number, field="part_number", max_length=40, required=True)
    name = clean_text(name, field="name", max_length=120, required=True)
    price = clean_amount(unit_price, field="unit_price")
    codes = list(compatible_models or [])
    models = list(ProductModel.objects.filter(code__in=codes))
    missing = sorted(set(codes) - {m.code for m in models})
    if missing:
        raise ValidationFailed(
            {
                "compatible_models": [
                    Message(gettext_noop("No product model %(code)s."), code=", ".join(missing))
                ]
            }
        )
    try:
        with transaction.atomic():
            part = Part.objects.create(part_number=number, name=name, unit_price=price)
            part.compatible_models.set(models)
    except IntegrityError:
        raise ValidationFailed(
            {"part_number": [Message(gettext_noop("Part %(code)s already exists."), code=number)]}
        ) from None
    return part
