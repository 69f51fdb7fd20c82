"""What input is acceptable, in one place: `validated` (the edge check of the API and the page
views, with DRF serializers) and the cleaning helpers the lower layers' services use."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

import phonenumbers
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_noop
from rest_framework import serializers

from core.errors import Message, ValidationFailed, flatten_errors

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_AMOUNT = 100_000_000  # KRW; a repair quote above this is a typo


def validated(
    serializer_class: type[serializers.Serializer], data: Any, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`data` checked by `serializer_class`, or ValidationFailed naming every bad field at once.

    The one edge check of the API views and the page views: the API answers it as
    `{code: "invalid", detail, errors}`, the pages show each message beside its field.
    """
    serializer = serializer_class(data=data, context=context or {})
    if not serializer.is_valid():
        raise ValidationFailed(flatten_errors(serializer.errors))
    return dict(serializer.validated_data)


def has_control_characters(value: str) -> bool:
    """NUL and the other C0 controls but tab and line breaks, and DEL."""
    return bool(_CONTROL.search(value))


def clean_text(
    value: Any, *, field: str, max_length: int, required: bool = False, multiline: bool = False
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed({field: ["Must be text."]})
    if "\x00" in value or _CONTROL.search(value):
        raise ValidationFailed({field: ["Contains control characters."]})
    value = unicodedata.normalize("NFC", value).strip()
    if not multiline and ("\n" in value or "\r" in value):
        value = " ".join(value.split())
    if required and not value:
        raise ValidationFailed({field: ["This field is required."]})
    if len(value) > max_length:
        raise ValidationFailed(
            {field: [Message(gettext_noop("At most %(n)s characters."), n=max_length)]}
        )
    return value


def clean_amount(value: Any, *, field: str, required: bool = True, minimum: int = 0) -> int | None:
    if value is None or value == "":
        if required:
            raise ValidationFailed({field: ["This field is required."]})
        return None
    if isinstance(value, bool):
        raise ValidationFailed({field: ["Must be a whole number of won."]})
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,12}\s*", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise ValidationFailed({field: ["Must be a whole number of won."]})
    if value < minimum or value > MAX_AMOUNT:
        raise ValidationFailed(
            {
                field: [
                    Message(
                        gettext_noop("Must be between %(low)s and %(high)s won."),
                        low=f"{minimum:,}",
                        high=f"{MAX_AMOUNT:,}",
                    )
                ]
            }
        )
    return value


def clean_phone(value: Any, *, field: str = "phone") -> phonenumbers.PhoneNumber:
    text = clean_text(value, field=field, max_length=30, required=True)
    try:
        number = phonenumbers.parse(text, "KR")
    except phonenumbers.NumberParseException:
        raise ValidationFailed(
            {field: ["Enter a valid phone number, e.g. 010-1234-5678."]}
        ) from None
    # "Possible" only checks the length; a number that is not also valid (010-123, 12345) has no
    # national format, and phonenumber_field's PhoneNumber then fails on str() (a 500).
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed({field: ["Enter a valid phone number, e.g. 010-1234-5678."]})
    return number


def clean_choice(value: Any, *, field: str, choices: Any, required: bool = True) -> str:
    allowed = [c for c in choices.values] if hasattr(choices, "values") else list(choices)
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or value not in allowed:
        raise ValidationFailed(
            {
                field: [
                    Message(gettext_noop("Choose one of: %(values)s."), values=", ".join(allowed))
                ]
            }
        )
    return value


def clean_date(value: Any, *, field: str, required: bool = False) -> dt.date | None:
    if value in (None, ""):
        if required:
            raise ValidationFailed({field: ["This field is required."]})
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        parsed = parse_date(value) if isinstance(value, str) and len(value) <= 10 else None
    except ValueError:
        parsed = None
    if parsed is None or not (2000 <= parsed.year <= 2100):
        raise ValidationFailed({field: ["Enter a date as YYYY-MM-DD."]})
    return parsed


class When(serializers.DateTimeField):
    """A date and time from 2000 to 2100, made aware in the center's time zone (TIME_ZONE,
    Asia/Seoul) unless it names its offset. A bare date means 18:00 that day."""

    default_error_messages = dict.fromkeys(
        ("invalid", "date"), "Enter a date and time, e.g. 2026-11-23T15:00."
    )

    def to_internal_value(self, value: Any) -> dt.datetime:
        parsed = _date_and_time(value)
        if parsed is None or not 2000 <= parsed.year <= 2100:
            self.fail("invalid")
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _date_and_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        # A bare date first: parse_datetime would read "2026-11-23" as midnight.
        day = parse_date(value)
        return dt.datetime.combine(day, dt.time(18, 0)) if day else parse_datetime(value)
    except ValueError:  # well-formed but impossible: 2026-02-30
        return None
