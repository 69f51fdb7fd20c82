"""Writes to the front of house: staff accounts, the serial registry, reference data."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from core.errors import Message, NotFound, ValidationFailed, invalid
from core.validation import clean_choice, clean_date, clean_text
from service_center.models import (
    Channel,
    Device,
    ProductModel,
    Role,
    ServiceCenter,
    StaffProfile,
    normalize_serial,
    serial_error,
)


def staff_create(
    *, username: str, role: str, center_code: str, password: str, display_name: str = ""
) -> Any:
    """Create or update a staff account in one role at one center."""
    username = clean_text(username, field="username", max_length=150, required=True)
    role = clean_choice(role, field="role", choices=Role)
    if not password or len(password) < 8:
        raise ValidationFailed({"password": ["At least 8 characters."]})
    center = ServiceCenter.objects.filter(code=center_code).first()
    if center is None:
        raise NotFound(f"No service center {center_code}.")
    user_model = get_user_model()
    with transaction.atomic():
        user, _created = user_model.objects.get_or_create(username=username)
        user.set_password(password)
        user.is_active = True
        user.is_staff = role == Role.MANAGER  # managers keep the reference data in /admin/
        user.is_superuser = False
        user.save()
        user.groups.set([Group.objects.get_or_create(name=role)[0]])
        StaffProfile.objects.update_or_create(
            user=user, defaults={"center": center, "display_name": display_name or username}
        )
    if role == Role.MANAGER:
        _grant_reference_data_admin(user)
    return user


def _grant_reference_data_admin(user: Any) -> None:
    # The admin narrows these to the manager's own center (service_center/admin.py).
    from django.contrib.auth.models import Permission

    wanted = [
        "servicecenter",
        "productmodel",
        "device",
        "part",
        "stock",
        "customer",
        "staffprofile",
        "messagetemplate",  # a center's wording of its messages (also /manager/messages/)
    ]
    # Only superusers add centers; stock changes through stock_adjust; profiles are not deleted.
    withheld = ["add_servicecenter", "delete_servicecenter", "add_stock", "delete_staffprofile"]
    perms = Permission.objects.filter(content_type__model__in=wanted).exclude(codename__in=withheld)
    view_repairs = Permission.objects.filter(
        content_type__model__in=[
            "repair",
            "repairevent",
            "promise",
            "notification",
            "partsorder",
            "reservation",
        ],
        codename__startswith="view_",
    )
    user.user_permissions.set(list(perms) + list(view_repairs))


CENTER_CODE = re.compile(r"[A-Z][A-Z0-9]{1,7}")


def center_code_clean(code: Any) -> str:
    """`gn` -> `GN`. A code is 2 to 8 letters and digits, starting with a letter (it begins every
    ticket number of the center, so it can't contain the ticket's dashes)."""
    code = clean_text(code, field="code", max_length=40, required=True).upper()
    if not CENTER_CODE.fullmatch(code):
        raise ValidationFailed(
            {"code": ["2 to 8 letters A-Z and digits, starting with a letter, e.g. GN."]}
        )
    return code


def center_create(
    *,
    code: Any,
    name: Any,
    address: Any = "",
    phone: Any = "",
    requires_deposit_for_ordered_parts: bool = False,
) -> ServiceCenter:
    """A new service center. Raises ValidationFailed for a bad field or a code already taken."""
    code = center_code_clean(code)
    fields = _center_fields(name=name, address=address, phone=phone)
    try:
        with transaction.atomic():
            return ServiceCenter.objects.create(
                code=code,
                requires_deposit_for_ordered_parts=bool(requires_deposit_for_ordered_parts),
                **fields,
            )
    except IntegrityError:
        raise ValidationFailed(
            {"code": [Message(gettext_noop("Service center %(code)s already exists."), code=code)]}
        ) from None


def center_update(
    *, code: Any, name: Any = None, address: Any = None, phone: Any = None
) -> ServiceCenter:
    """Change the name, address or phone of an existing center; None leaves a field as it is."""
    code = center_code_clean(code)
    fields = _center_fields(name=name, address=address, phone=phone)
    with transaction.atomic():
        center = ServiceCenter.objects.select_for_update().filter(code=code).first()
        if center is None:
            raise NotFound(f"No service center {code}.")
        for key, value in fields.items():
            setattr(center, key, value)
        center.save(update_fields=list(fields) or None)
    return center


def _center_fields(*, name: Any, address: Any, phone: Any) -> dict[str, str]:
    given = {"name": (name, 120), "address": (address, 300), "phone": (phone, 40)}
    return {
        key: clean_text(value, field=key, max_length=limit, required=key == "name")
        for key, (value, limit) in given.items()
        if value is not None
    }


def product_model_create(*, code: Any, name: Any, category: Any = "", warranty_months: Any = 12):
    code = clean_text(code, field="code", max_length=40, required=True)
    name = clean_text(name, field="name", max_length=120, required=True)
    category = clean_text(category, field="category", max_length=60)
    if (
        isinstance(warranty_months, bool)
        or not isinstance(warranty_months, int)
        or not (0 <= warranty_months <= 120)
    ):
        raise ValidationFailed({"warranty_months": ["A whole number of months from 0 to 120."]})
    try:
        with transaction.atomic():
            return ProductModel.objects.create(
                code=code, name=name, category=category, warranty_months=warranty_months
            )
    except IntegrityError:
        raise ValidationFailed(
            {"code": [Message(gettext_noop("Product model %(code)s already exists."), code=code)]}
        ) from None


def device_register(
    *,
    serial_number: Any,
    product_model: Any,
    purchase_date: Any,
    channel: Any = Channel.OFFICIAL,
    owner: Any = None,
) -> Device:
    """Add one serial to the registry. Serials are normalised, so `ab-12 34` equals `AB1234`."""
    if not isinstance(serial_number, str) or "\x00" in serial_number or len(serial_number) > 200:
        raise ValidationFailed({"serial_number": ["A serial number has at most 40 characters."]})
    serial = normalize_serial(serial_number)
    problem = serial_error(serial)
    if problem:
        raise ValidationFailed({"serial_number": [problem]})
    model = product_model
    if not isinstance(model, ProductModel):
        code = clean_text(product_model, field="product_model", max_length=40, required=True)
        model = ProductModel.objects.filter(code=code).first()
        if model is None:
            raise invalid("product_model", gettext_noop("No product model %(code)s."), code=code)
    bought = clean_date(purchase_date, field="purchase_date", required=True)
    if bought > dt.date.today() + dt.timedelta(days=1):
        raise ValidationFailed({"purchase_date": ["The purchase date is in the future."]})
    channel = clean_choice(channel, field="channel", choices=Channel)
    try:
        with transaction.atomic():
            return Device.objects.create(
                serial_number=serial,
                product_model=model,
                purchase_date=bought,
                channel=channel,
                owner=owner,
            )
    except IntegrityError:
        raise invalid(
            "serial_number", gettext_noop("Serial %(serial)s is already registered."), serial=serial
        ) from None


def _without_nul_lines(rows: Iterable[str], report: ImportReport) -> Iterable[str]:
    # The csv module stops the whole file at a NUL byte; report that line, keep the others.
    for number, line in enumerate(rows, start=1):
        if "\x00" in line:
            report.errors.append((number, "The line contains a NUL byte."))
            yield "\n"
        else:
            yield line


@dataclass
class ImportReport:
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)


def serials_import(rows: Iterable[str] | io.TextIOBase) -> ImportReport:
    """Import `serial_number,product_model,purchase_date,channel` rows. Good rows are kept; each
    bad row is reported with its line number and changes nothing."""
    report = ImportReport()
    reader = csv.DictReader(_without_nul_lines(rows, report))
    expected = {"serial_number", "product_model", "purchase_date"}
    if not reader.fieldnames or not expected <= {f.strip() for f in reader.fieldnames if f}:
        report.errors.append(
            (1, "Header must name serial_number,product_model,purchase_date[,channel].")
        )
        return report
    for row in reader:
        line = reader.line_num
        try:
            clean = {(k or "").strip(): v for k, v in row.items()}
            if None in row:
                raise ValidationFailed({"row": ["Too many columns."]})
            device_register(
                serial_number=clean.get("serial_number") or "",
                product_model=(clean.get("product_model") or "").strip(),
                purchase_date=(clean.get("purchase_date") or "").strip(),
                channel=(clean.get("channel") or Channel.OFFICIAL).strip(),
            )
            report.created += 1
        except ValidationFailed as exc:
            report.errors.append(
                (line, "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items()))
            )
    return report
