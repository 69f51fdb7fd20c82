"""What every action on a repair takes, declared once and checked once, at the edge.

The API views (workflows/api/) and the page views (workflows/views/) validate with these same
serializers (the transitions' through the fields the registry declares with them), through
core.validation.validated: types, lengths, control characters, phone numbers, quantities,
amounts in range, promised times in the future. Every bad field is named at once. The services
then take typed values and check only what needs the database or the locked row (an unknown
part number, an overpayment, the state, the role).

Pages post forms: `request.POST` goes in as it is, so DRF reads it as HTML form data (an empty
box of an optional field is "not typed", an unticked box is false).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any, NotRequired, TypedDict

import phonenumbers
from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.errors import ValidationFailed
from core.validation import MAX_AMOUNT, When, clean_phone, has_control_characters
from service_center.models import normalize_serial, serial_error
from service_center.selectors import serial_lookup
from workflows import condition as checklist
from workflows.choices import IntakeChannel, PaymentMethod, PromiseKind, ReturnMethod

CALL_DIRECTIONS = ["outgoing", "incoming"]
_ASCII_WHOLE = re.compile(r"\s*-?[0-9]{1,15}\s*")
_FORM_TOKEN = re.compile(r"[\x21-\x7e]{1,64}")


# --- fields ------------------------------------------------------------------------------------


class Text(serializers.CharField):
    """Text as a person types it: a string (not a number or a list), no control characters,
    NFC, one line unless `multiline`. Trimmed; an optional one defaults to ""."""

    # English msgids the pages show translated (core.pages.DOMAIN_MESSAGES); the length, like
    # DRF's own messages, in the request's language.
    default_error_messages = {
        "invalid": "Must be text.",
        "blank": "This field is required.",
        "control": "Contains control characters.",
        "max_length": gettext_lazy("At most {max_length} characters."),
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
        if not isinstance(data, str):
            self.fail("invalid")
        if has_control_characters(data):
            self.fail("control")
        value = unicodedata.normalize("NFC", super().to_internal_value(data))
        if not self.multiline and ("\n" in value or "\r" in value):
            value = " ".join(value.split())
        return value


def text(max_length: int, *, required: bool = False, multiline: bool = False) -> Text:
    return Text(max_length, required=required, multiline=multiline)


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


class Email(Text):
    default_error_messages = {"email": "Enter a valid email address."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(254, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if "@" not in value or " " in value:
            self.fail("email")
        return value


class Serial(Text):
    """A serial number as typed ("hbs-1100 k7q2"), given back normalised ("HBS1100K7Q2");
    optional: "". Whether it is registered is the services' question."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(200, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        serial = normalize_serial(super().to_internal_value(data))
        problem = serial_error(serial)
        if problem:
            raise serializers.ValidationError(problem)
        return serial


class WholeNumber(serializers.IntegerField):
    """An integer; typed as text, ASCII digits only (int() would also take "٣")."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not _ASCII_WHOLE.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class Amount(WholeNumber):
    default_error_messages = {"invalid": "Must be a whole number of won."}


def amount(*, minimum: int = 0, required: bool = False) -> Amount:
    """Won, from `minimum` to MAX_AMOUNT (what the quote and the ledger columns hold)."""
    return Amount(min_value=minimum, max_value=MAX_AMOUNT, required=required)


_QUANTITY = "Quantity is a whole number from 1 to 99."


class Quantity(WholeNumber):
    default_error_messages = dict.fromkeys(
        ("invalid", "min_value", "max_value", "max_string_length"), _QUANTITY
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=99, default=1, **kwargs)


def payment_method() -> serializers.ChoiceField:
    """How money changed hands (optional where the input existed before the ledger: cash)."""
    return serializers.ChoiceField(choices=PaymentMethod.choices, required=False)


@extend_schema_field(
    {"type": "string", "format": "date-time", "example": "2099-01-01T10:00:00+09:00"}
)
class Promised(When):
    """A time promised to the customer: it must lie ahead. "Today" counts only while 18:00 (or
    the hour given) has not passed, in the center's time zone."""

    default_error_messages = {"past": gettext_noop("A promised time must lie in the future.")}

    def to_internal_value(self, value: Any) -> dt.datetime:
        when = super().to_internal_value(value)
        if when <= timezone.now():
            self.fail("past")
        return when


def form_token(post: Any) -> str:
    """A page form's one-time token (`form_token`: 1-64 visible ASCII characters), or ""."""
    value = post.get("form_token", "")
    if value and not (isinstance(value, str) and _FORM_TOKEN.fullmatch(value)):
        raise ValidationFailed({"form_token": [gettext_noop("The form expired; reload the page.")]})
    return value


# --- the inputs of the actions -----------------------------------------------------------------


class PartLine(TypedDict):
    """A part the diagnosis asks for (the quantity defaults to 1)."""

    part_number: str
    quantity: NotRequired[int]


class PartLineInSerializer(serializers.Serializer):
    part_number = Text(40, required=True)
    quantity = Quantity()


class CustomerInput(TypedDict):
    name: str
    phone: str  # national format, 010-1234-5678
    email: NotRequired[str]
    address: NotRequired[str]


class CustomerInSerializer(serializers.Serializer):
    name = Text(120, required=True)
    phone = Phone(required=True)
    email = Email()
    address = Text(300)


class ConditionLine(TypedDict):
    """One checked item of the device at intake (workflows/condition.py)."""

    item: str
    state: str
    note: str


class ConditionLineInSerializer(serializers.Serializer):
    item = serializers.ChoiceField(choices=list(checklist.ITEMS))
    state = serializers.ChoiceField(choices=list(checklist.STATES))
    note = Text(checklist.NOTE_MAX)


class ConditionInSerializer(serializers.ListSerializer):
    """The checklist: each item at most once."""

    default_error_messages = {"duplicate": gettext_noop("Each item may be listed once.")}

    def to_internal_value(self, data: Any) -> list[ConditionLine]:
        lines = super().to_internal_value(data)
        items = [line["item"] for line in lines]
        if len(set(items)) != len(items):
            self.fail("duplicate")
        return lines


def condition_field() -> ConditionInSerializer:
    return ConditionInSerializer(
        child=ConditionLineInSerializer(), required=False, max_length=len(checklist.ITEMS)
    )


class IntakeInSerializer(serializers.Serializer):
    customer = CustomerInSerializer()
    serial_number = Serial()
    product_model = Text(40)
    symptom = Text(2000, required=True, multiline=True)
    accessories = Text(300)
    intake_channel = serializers.ChoiceField(choices=IntakeChannel.choices, default="walk_in")
    device_in_shop = serializers.BooleanField(default=True)
    return_method = serializers.ChoiceField(choices=ReturnMethod.choices, default="pickup")
    courier_address = Text(300)
    language = serializers.ChoiceField(choices=["ko", "en"], required=False)
    condition = condition_field()

    def to_internal_value(self, data: Any) -> Any:
        """The fields' errors, and with them the model a serial-less (or unregistered) device
        needs: the service checks that too, but only once everything else is right, so the
        clerk would learn of it on a second submit."""
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors = dict(exc.detail)
            if "product_model" not in errors and _model_needed(data):
                errors["product_model"] = [MODEL_NEEDED]
            raise serializers.ValidationError(errors) from exc


MODEL_NEEDED = "The serial is unknown: say which product model it is."


def _model_needed(data: Any) -> bool:
    """No model typed and the serial names no registered device (one read, at most)."""
    if not hasattr(data, "get") or str(data.get("product_model") or "").strip():
        return False
    serial = data.get("serial_number")
    if not isinstance(serial, str) or not serial.strip():
        return True
    try:
        return serial_lookup(serial).device is None
    except ValidationFailed:
        return False  # the serial's own error says it


class PaymentInSerializer(serializers.Serializer):
    amount = amount(minimum=1, required=True)
    method = serializers.ChoiceField(choices=PaymentMethod.choices)


class RefundInSerializer(PaymentInSerializer):
    reason = Text(300, required=True)


class NoteInSerializer(serializers.Serializer):
    text = Text(4000, required=True, multiline=True)
    customer_visible = serializers.BooleanField(default=False)


class CallInSerializer(serializers.Serializer):
    text = Text(4000, required=True, multiline=True)
    direction = serializers.ChoiceField(choices=CALL_DIRECTIONS, default="outgoing")


class PromiseInSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PromiseKind.choices)
    due_at = Promised()
    note = Text(300)


class CourierReturnInSerializer(serializers.Serializer):
    recipient_name = Text(120, required=True)
    address = Text(300, required=True)
    phone = Phone()


class EmptyInSerializer(serializers.Serializer):
    pass


class BookingDaySerializer(serializers.Serializer):
    """A day to show a visit's free slots for."""

    date = serializers.DateField(
        required=True, error_messages={"invalid": gettext_noop("Enter a date as YYYY-MM-DD.")}
    )


class BookingSlotSerializer(serializers.Serializer):
    """The start of the slot a visit is booked for (one of the free slots)."""

    start = When(required=True)
