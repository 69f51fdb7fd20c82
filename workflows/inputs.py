"""The inputs of the timeline actions, declared once.

The API views (workflows/api/) and the page views (workflows/views/) validate with these same
serializers, through core.validation.validated; the services then take typed values and check
only what needs the database or the locked row.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import phonenumbers
from rest_framework import serializers

from core.errors import ValidationFailed
from core.validation import clean_datetime, clean_phone, has_control_characters
from workflows.choices import PromiseKind

CALL_DIRECTIONS = ["outgoing", "incoming"]


class Text(serializers.CharField):
    """Text as a person types it: no control characters, NFC, one line unless `multiline`.
    Trimmed; an optional one defaults to ""."""

    # The services' words, which the pages show translated (core.pages.DOMAIN_MESSAGES).
    default_error_messages = {
        "blank": "This field is required.",
        "control": "Contains control characters.",
    }

    def __init__(
        self, max_length: int, *, required: bool = False, multiline: bool = False, **kwargs: Any
    ) -> None:
        self.multiline = multiline
        if not required:
            kwargs.setdefault("default", "")
        super().__init__(
            max_length=max_length, required=required, allow_blank=not required, **kwargs
        )

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str) and has_control_characters(data):
            self.fail("control")
        value = unicodedata.normalize("NFC", super().to_internal_value(data))
        if not self.multiline and ("\n" in value or "\r" in value):
            value = " ".join(value.split())
        return value


class Phone(Text):
    """A Korean phone number, kept in its national format (010-1234-5678); optional: ""."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(30, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        try:
            number = clean_phone(super().to_internal_value(data), field="phone")
        except ValidationFailed as exc:
            raise serializers.ValidationError(exc.errors["phone"]) from None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


class When(serializers.DateTimeField):
    """A date and time from 2000 to 2100 (a bare date means 18:00 that day), made aware."""

    def to_internal_value(self, value: Any) -> Any:
        try:
            return clean_datetime(value, field="when", required=True)
        except ValidationFailed as exc:
            raise serializers.ValidationError(exc.errors["when"]) from None


class NoteInSerializer(serializers.Serializer):
    text = Text(4000, required=True, multiline=True)
    customer_visible = serializers.BooleanField(default=False)


class CallInSerializer(serializers.Serializer):
    text = Text(4000, required=True, multiline=True)
    direction = serializers.ChoiceField(choices=CALL_DIRECTIONS, default="outgoing")


class PromiseInSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PromiseKind.choices)
    due_at = When()
    note = Text(300)


class CourierReturnInSerializer(serializers.Serializer):
    recipient_name = Text(120, required=True)
    address = Text(300, required=True)
    phone = Phone()


class EmptyInSerializer(serializers.Serializer):
    pass
