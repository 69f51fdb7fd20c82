"""Who is acting, and in which role: the names every app shares.

Roles are Django groups; each staff member belongs to one center (`user.staff_profile.center_id`).
What each role may do to a repair is declared in `workflows/registry.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    FRONT_DESK = "front_desk", _("Front desk")
    TECHNICIAN = "technician", _("Technician")
    MANAGER = "manager", _("Manager")


DESK, TECH, MANAGER = Role.FRONT_DESK.value, Role.TECHNICIAN.value, Role.MANAGER.value
OWNER = "owner"  # the technician who owns the repair
CUSTOMER = "customer"  # the customer, acting online with ticket number + phone digits
SYSTEM = "system"  # receiving stock, scheduled jobs
STAFF = "staff"


def staff_name(user: Any) -> str:
    """The name customers see for a staff member: the profile's display name, else the login."""
    if user is None:
        return ""
    profile = getattr(user, "staff_profile", None)
    if profile is not None and profile.display_name:
        return profile.display_name
    return user.get_full_name() or user.get_username()


@dataclass(frozen=True)
class Actor:
    """Whoever acts: a staff user, the customer online, or the system."""

    kind: str  # STAFF | CUSTOMER | SYSTEM
    user: Any = None

    @property
    def label(self) -> str:
        return staff_name(self.user) if self.kind == STAFF else self.kind


CUSTOMER_ACTOR = Actor(CUSTOMER)
SYSTEM_ACTOR = Actor(SYSTEM)


def as_actor(who: Any) -> Actor:
    if isinstance(who, Actor):
        return who
    if who is None:
        return SYSTEM_ACTOR
    return Actor(STAFF, who)


def user_roles(user: Any) -> frozenset[str]:
    """The role group names of a user, cached on the instance (one query, none once cached)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_repair_roles", None)
    if cached is None:
        # Token authentication sets the roles with the token's own query (remember_roles).
        cached = remember_roles(user, {group.name for group in user.groups.all()})
    return cached


ROLE_NAMES = (DESK, TECH, MANAGER)


def remember_roles(user: Any, group_names: set[str]) -> frozenset[str]:
    """Cache on `user` the roles its groups `group_names` give (a superuser is a manager)."""
    roles = set(group_names) & set(ROLE_NAMES)
    if user.is_superuser:
        roles.add(MANAGER)
    user._repair_roles = frozenset(roles)
    return user._repair_roles


# Actions that are not state transitions of a repair, and the roles that may take them.
ACTION_ACTORS: dict[str, frozenset[str]] = {
    "add_note": frozenset({DESK, MANAGER, TECH}),
    "record_call": frozenset({DESK, MANAGER, TECH}),
    "record_promise": frozenset({DESK, MANAGER, TECH}),
    "fulfil_promise": frozenset({DESK, MANAGER, TECH}),
    "request_courier_return": frozenset({DESK, MANAGER, CUSTOMER}),
    "record_payment": frozenset({DESK, MANAGER}),
    "record_refund": frozenset({DESK, MANAGER}),
    "intake": frozenset({DESK, MANAGER}),
    # Intake evidence: the desk, a manager, or the technician who owns the repair.
    "add_photo": frozenset({DESK, MANAGER, OWNER}),
    # Parts orders: technicians and the desk request; `ship` records the warehouse's dispatch,
    # so only a manager may say it happened; receiving puts units on the shelf (desk, manager).
    "order_parts": frozenset({DESK, MANAGER, TECH}),
    "ship_parts_order": frozenset({MANAGER}),
    "receive_parts": frozenset({DESK, MANAGER}),
    "cancel_parts_order": frozenset({DESK, MANAGER}),
    "reference_data": frozenset({MANAGER}),
    # Giving a center's free units to another center: a manager of the sending center.
    "transfer_stock": frozenset({MANAGER}),
}


def user_center_id(user: Any) -> int | None:
    profile = getattr(user, "staff_profile", None) if user is not None else None
    return profile.center_id if profile is not None else None


def same_center(user: Any, center_id: int) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    return user_center_id(user) == center_id


def may_act(user: Any, name: str, center_id: int | None) -> bool:
    """May this staff user take action `name` (an ACTION_ACTORS entry) at this center?"""
    if center_id is None:
        return False
    roles = user_roles(user)
    return bool(roles & ACTION_ACTORS.get(name, frozenset())) and same_center(user, center_id)
