"""The shared plumbing of the HTML pages: who may open which area, and how a domain error
becomes messages beside the fields that caused it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.errors import (
    Conflict,
    DomainError,
    Message,
    NotFound,
    PermissionDenied,
    TransitionBlocked,
    ValidationFailed,
    translated,
)
from core.roles import DESK, MANAGER, TECH, user_center_id, user_roles

DESK_ROLES = frozenset({DESK, MANAGER})
TECH_ROLES = frozenset({TECH, MANAGER})
STAFF_ROLES = frozenset({DESK, TECH, MANAGER})

# Messages the services raise in English; marked here so the Korean catalogue carries them and the
# pages show them translated (the API keeps the English text and the stable codes).
DOMAIN_MESSAGES = [
    gettext_noop("This field is required."),
    gettext_noop("Must be text."),
    gettext_noop("Contains control characters."),
    gettext_noop("Must be a whole number of won."),
    gettext_noop("Must be true or false."),
    gettext_noop("Enter a valid phone number, e.g. 010-1234-5678."),
    gettext_noop("Enter a valid email address."),
    gettext_noop("Enter a date as YYYY-MM-DD."),
    gettext_noop("Enter a date and time, e.g. 2026-11-23T15:00."),
    gettext_noop("Give the customer's name and phone."),
    gettext_noop("The serial is unknown: say which product model it is."),
    gettext_noop("Choose an active technician of this center."),
    gettext_noop("A serial number has at most 40 characters."),
    gettext_noop("A serial number has 4 to 40 letters A-Z and digits."),
    gettext_noop("Enter a serial number."),
    gettext_noop("Quantity is a whole number from 1 to 99."),
    gettext_noop("A list of at most 30 {part_number, quantity}."),
    gettext_noop("Each part is {part_number, quantity}."),
    gettext_noop("Nothing is outstanding on this order."),
    gettext_noop("More units than the order still expects."),
    gettext_noop("Quantities are whole numbers from 1."),
    gettext_noop("Order at least one part."),
    gettext_noop("Transition not allowed."),
    gettext_noop("Enter the ticket number."),
    gettext_noop("Enter the last 4 digits of your phone number."),
    gettext_noop("Coverage is already warranty."),
    gettext_noop("Coverage is already paid."),
    gettext_noop("Serial unknown — coverage to be confirmed."),
]


def center_of(user: Any) -> Any:
    profile = getattr(user, "staff_profile", None)
    return profile.center if profile is not None else None


def staff_area(roles: Iterable[str]) -> Callable:
    """Only signed-in staff with one of `roles`, at a center, may open the page; others get 403."""
    allowed = frozenset(roles)

    def decorate(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not (user_roles(request.user) & allowed) or user_center_id(request.user) is None:
                raise HttpForbidden(_("This page is not for your role."))
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def nav_context(request: HttpRequest) -> dict[str, Any]:
    """What the staff header needs: roles, center, the current section."""
    roles = user_roles(request.user)
    return {
        "is_desk": bool(roles & DESK_ROLES),
        "is_tech": bool(roles & TECH_ROLES),
        "is_manager": MANAGER in roles,
        "center": center_of(request.user),
        "section": request.path.split("/")[1] if request.path.count("/") > 1 else "",
    }


def render_staff(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(request, template, {**nav_context(request), **context}, status=status)


def field_key(name: str) -> str:
    """`customer.phone` -> `customer_phone` (templates can't look up keys with dots)."""
    return name.replace(".", "_")


def error_messages(exc: DomainError) -> dict[str, list[str]]:
    """A domain error as {field: [translated messages]}; `form` for the form as a whole."""
    if isinstance(exc, ValidationFailed):
        out: dict[str, list[str]] = {}
        for name, messages in exc.errors.items():
            key = "form" if name == "non_field_errors" else field_key(name)
            out.setdefault(key, []).extend(translated(m) for m in messages)
        return out
    if isinstance(exc, TransitionBlocked):
        return {"form": [b["message"] for b in exc.blockers] or [_("Transition not allowed.")]}
    if isinstance(exc, PermissionDenied):
        return {"form": [_("Your role may not do this on this repair.")]}
    if isinstance(exc, Conflict) and exc.code != Conflict.code:
        return {"form": [translated(str(exc))]}  # a conflict with its own sentence: slot_taken
    if isinstance(exc, Conflict):
        return {
            "form": [
                _("Someone else changed this repair at the same moment. Reload and try again.")
            ]
        }
    if isinstance(exc, NotFound):
        return {"form": [_("Not found.")]}
    if isinstance(exc.detail, Message):  # a domain error that says why (core.images: the photo)
        return {"form": [exc.detail.translated()]}
    return {"form": [_("That did not work. Check the form and try again.")]}


def status_for(exc: DomainError) -> int:
    return 400 if exc.status >= 500 else exc.status
