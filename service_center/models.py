"""Front of house: branches, staff, customers, product models and the serial registry."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class Role(models.TextChoices):
    FRONT_DESK = "front_desk", _("Front desk")
    TECHNICIAN = "technician", _("Technician")
    MANAGER = "manager", _("Manager")


class ServiceCenter(models.Model):
    code = models.CharField(max_length=8, unique=True, verbose_name=_("code"))
    name = models.CharField(max_length=120, verbose_name=_("name"))
    address = models.CharField(max_length=300, blank=True, verbose_name=_("address"))
    phone = models.CharField(max_length=40, blank=True, verbose_name=_("phone"))
    requires_deposit_for_ordered_parts = models.BooleanField(
        default=False,
        help_text=_("Ask for a deposit equal to the ordered parts' price before ordering parts."),
        verbose_name=_("deposit for ordered parts"),
    )
    diagnosis_fee = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(100_000_000)],
        help_text=_("KRW charged for the diagnosis when a paid repair is declined."),
        verbose_name=_("diagnosis fee"),
    )
    repair_warranty_days = models.PositiveSmallIntegerField(
        default=90,
        validators=[MaxValueValidator(3650)],
        help_text=_("Days after a repair closes in which a comeback of the same serial is free."),
        verbose_name=_("repair warranty (days)"),
    )
    # Appointments: the days and hours a customer may be booked in, and one slot's length.
    open_weekdays = models.CharField(
        max_length=7,
        default="012345",
        validators=[RegexValidator(r"^[0-6]{0,7}$", _("Weekday digits 0 (Mon) to 6 (Sun)."))],
        help_text=_("The days the center takes appointments: 0 is Monday, 6 is Sunday."),
        verbose_name=_("open weekdays"),
    )
    opens_at = models.TimeField(default=dt.time(10, 0), verbose_name=_("opens at"))
    closes_at = models.TimeField(default=dt.time(18, 0), verbose_name=_("closes at"))
    slot_minutes = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(10), MaxValueValidator(240)],
        verbose_name=_("slot length (minutes)"),
    )

    class Meta:
        verbose_name = _("service center")
        verbose_name_plural = _("service centers")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self):
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValidationError({"closes_at": _("The center must close after it opens.")})


class StaffProfile(models.Model):
    """Each staff member belongs to one center; the role is a Django group of the same name."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_profile",
        verbose_name=_("user account"),
    )
    center = models.ForeignKey(
        ServiceCenter,
        on_delete=models.PROTECT,
        related_name="staff",
        verbose_name=_("service center"),
    )
    display_name = models.CharField(max_length=80, blank=True, verbose_name=_("display name"))
    phone = models.CharField(max_length=40, blank=True, verbose_name=_("phone"))

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()


class Customer(models.Model):
    # Never a national ID: customers are found by phone and by ticket number + last 4 digits.
    center = models.ForeignKey(
        ServiceCenter,
        on_delete=models.PROTECT,
        related_name="customers",
        verbose_name=_("service center"),
    )
    name = models.CharField(max_length=120, verbose_name=_("name"))
    phone = PhoneNumberField(db_index=True, verbose_name=_("phone"))
    email = models.EmailField(blank=True, verbose_name=_("email"))
    address = models.CharField(max_length=300, blank=True, verbose_name=_("address"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("registered at"))

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return f"{self.name} ({mask_phone(str(self.phone))})"

    @property
    def phone_last4(self) -> str:
        return phone_digits(self.phone)[-4:]

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


def phone_digits(phone) -> str:
    if phone is None:
        return ""
    national = getattr(phone, "national_number", None)
    text = str(national) if national is not None else str(phone)
    return re.sub(r"\D", "", text)


def mask_phone(phone) -> str:
    """010-1234-5678 -> 010-****-5678; only the last four digits survive."""
    digits = phone_digits(phone)
    if not digits:
        return ""
    if getattr(phone, "national_number", None) is not None and not digits.startswith("0"):
        digits = "0" + digits
    if len(digits) <= 4:
        return "*" * len(digits)
    head = digits[:3] if len(digits) > 8 else ""
    hidden = len(digits) - len(head) - 4
    return "-".join(part for part in (head, "*" * hidden, digits[-4:]) if part)


class ProductModel(models.Model):
    code = models.CharField(max_length=40, unique=True, verbose_name=_("code"))
    name = models.CharField(max_length=120, verbose_name=_("name"))
    category = models.CharField(max_length=60, blank=True, verbose_name=_("category"))
    warranty_months = models.PositiveSmallIntegerField(
        default=12, verbose_name=_("warranty (months)")
    )

    class Meta:
        verbose_name = _("product model")
        verbose_name_plural = _("product models")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


SERIAL_MAX_LENGTH = 40
_SERIAL_OK = re.compile(r"^[A-Z0-9]{4,40}$")


def normalize_serial(raw: str | None) -> str:
    """Upper-case, spaces and dashes removed, full-width forms folded (NFKC)."""
    if raw is None:
        return ""
    text = unicodedata.normalize("NFKC", str(raw))
    return re.sub(r"[\s\-‐-―−]+", "", text).upper()


def serial_error(serial: str) -> str | None:
    """None if a normalised serial is well-formed, else why not."""
    if not serial:
        return str(_("Enter a serial number."))
    if len(serial) > SERIAL_MAX_LENGTH:
        return str(_("A serial number has at most 40 characters."))
    if not _SERIAL_OK.match(serial):
        return str(_("A serial number has 4 to 40 letters A-Z and digits."))
    return None


class Channel(models.TextChoices):
    OFFICIAL = "official", _("Official")
    PARALLEL_IMPORT = "parallel_import", _("Parallel import")


class WarrantyStatus(models.TextChoices):
    IN_WARRANTY = "in_warranty", _("In warranty")
    EXPIRED = "expired", _("Expired")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible (parallel import)")
    UNKNOWN = "unknown", _("Serial unknown")


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last_day = [
        31,
        29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][month - 1]
    return dt.date(year, month, min(day.day, last_day))


class Device(models.Model):
    """The serial registry: what the manufacturer sold, through which channel, and when."""

    serial_number = models.CharField(
        max_length=SERIAL_MAX_LENGTH, unique=True, verbose_name=_("serial number")
    )
    product_model = models.ForeignKey(
        ProductModel, on_delete=models.PROTECT, related_name="+", verbose_name=_("product model")
    )
    purchase_date = models.DateField(verbose_name=_("purchase date"))
    channel = models.CharField(
        max_length=20,
        choices=Channel.choices,
        default=Channel.OFFICIAL,
        verbose_name=_("sales channel"),
    )
    owner = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="devices",
        verbose_name=_("registered owner"),
    )

    class Meta:
        verbose_name = _("registered device")
        verbose_name_plural = _("serial registry")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(serial_number=""), name="device_serial_not_empty"
            )
        ]

    def __str__(self) -> str:
        return self.serial_number

    @property
    def warranty_until(self) -> dt.date:
        return add_months(self.purchase_date, self.product_model.warranty_months)

    def warranty_status(self, today: dt.date | None = None) -> str:
        if self.channel == Channel.PARALLEL_IMPORT:
            return WarrantyStatus.NOT_ELIGIBLE
        today = today or timezone.localdate()
        return (
            WarrantyStatus.IN_WARRANTY if self.warranty_until >= today else WarrantyStatus.EXPIRED
        )
